import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ensureSecret, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { rateLimitRedis } from './limits/limits.js';
import { runMaintenance } from './maintenance.js';
import { memoryChangeBus, postgresChangeBus, type ChangeBus } from './sync/change-bus.js';

export interface ServeOptions {
  /** Bring the schema up to date first (a cluster's primary does it once instead). */
  migrate?: boolean;
  /** How change notices reach the other processes of a cluster on SQLite. */
  bus?: ChangeBus;
}

/**
 * Opens and migrates the database, builds the app and listens; closes everything on SIGINT or
 * SIGTERM. On PostgreSQL, change notices travel by LISTEN/NOTIFY, so event streams on every
 * instance see every write; with FOLIO_REDIS_URL, rate limits are counted in Redis.
 */
export async function serve(config: Config, options: ServeOptions = {}): Promise<FastifyInstance> {
  const full = ensureSecret(config);
  const database = openDatabase(config.databaseUrl, { poolSize: config.dbPoolSize });
  if (options.migrate !== false) await migrateToLatest(database.db);
  // The bus needs a logger before the app (and its logger) exists.
  const built: { app?: FastifyInstance } = {};
  const log = { error: (details: object, message: string) => built.app?.log.error(details, message) };
  const pgBus = database.pool ? await postgresChangeBus(database.pool, log) : undefined;
  const redis = config.redisUrl ? await rateLimitRedis(config.redisUrl) : undefined;
  const app = await buildApp({
    config: full,
    database,
    bus: pgBus ?? options.bus ?? memoryChangeBus(),
    redis,
  });
  built.app = app;
  const maintain = () =>
    runMaintenance(database.db, config).catch((error: unknown) =>
      log.error({ err: error }, 'maintenance failed'),
    );
  const pruning = setInterval(maintain, 3_600_000).unref();
  await maintain();
  app.addHook('onClose', async () => {
    clearInterval(pruning);
    await pgBus?.close();
    redis?.disconnect();
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
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await app.listen({ port: config.port, host: config.host });
  return app;
}
