import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { runMaintenance } from './maintenance.js';
import { ensureSecret, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';

/** Opens and migrates the database, builds the app and listens; closes both on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<FastifyInstance> {
  const full = ensureSecret(config);
  const database = openDatabase(config.databaseUrl);
  await migrateToLatest(database.db);
  const app = await buildApp({ config: full, database });
  const maintain = () =>
    runMaintenance(database.db, config).catch((error: unknown) =>
      app.log.error({ err: error }, 'maintenance failed'),
    );
  const pruning = setInterval(maintain, 3_600_000).unref();
  await maintain();
  app.addHook('onClose', async () => {
    clearInterval(pruning);
    await database.close();
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await app.listen({ port: config.port, host: config.host });
  return app;
}
