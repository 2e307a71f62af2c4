import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from './app.js';
import { ensureSecret, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { rateLimitRedis } from './limits/limits.js';
import { runMaintenance } from './maintenance.js';
import { memoryChangeBus, postgresChangeBus, type ChangeBus } from './sync/change-bus.js';

const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;

export interface ServeOptions {
  /** Bring the schema up to date first (a cluster's primary does it once instead). */
  migrate?: boolean;
  /** How change notices reach the other processes of a cluster on SQLite. */
  bus?: ChangeBus;
  /** Serve FOLIO_METRICS_PORT (a cluster's primary serves it for every worker instead). */
  metricsPort?: boolean;
}

/**
 * Opens and migrates the database, builds the app and listens; closes everything on SIGINT or
 * SIGTERM. On PostgreSQL, change notices travel by LISTEN/NOTIFY, so event streams on every
 * instance see every write; with FOLIO_REDIS_URL, rate limits are counted in Redis.
 */
export async function serve(config: Config, options: ServeOptions = {}): Promise<FastifyInstance> {
  const full = ensureSecret(config);
  const database = openDatabase(config.databaseUrl, {
    poolSize: config.dbPoolSize,
    synchronous: config.sqliteSynchronous,
  });
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
  let timedOut = false;
  // Stop accepting, let requests in flight finish (event streams are told to reconnect), close the
  // database, exit 0; past the timeout, cut what is left and exit 1.
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, timeout_s: config.shutdownTimeoutSeconds }, 'shutting down');
    setTimeout(() => {
      timedOut = true;
      app.log.error('shutdown timed out: closing the connections still open');
      app.server.closeAllConnections();
      setTimeout(() => process.exit(1), 1000).unref();
    }, config.shutdownTimeoutSeconds * 1000).unref();
    // A connection that goes idle after the close began (a stream just ended, a kept-alive
    // client between requests) would hold the server open until its keep-alive timeout.
    setInterval(() => app.server.closeIdleConnections(), 100).unref();
    app.close().then(
      () => process.exit(timedOut ? 1 : 0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  if (app.metrics && config.metricsPort !== undefined && options.metricsPort !== false) {
    const registry = app.metrics;
    const server = await serveMetrics(config.host, config.metricsPort, () => registry.metrics());
    app.addHook('onClose', () => new Promise<void>((resolve) => server.close(() => resolve())));
  }
  await app.listen({ port: config.port, host: config.host });
  return app;
}

/** A port of its own that answers only `GET /metrics`, for a scraper on the private network. */
export function serveMetrics(host: string, port: number, text: () => Promise<string>): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found: try /metrics\n');
      return;
    }
    text().then(
      (body) => response.writeHead(200, { 'content-type': PROMETHEUS_TEXT }).end(body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
