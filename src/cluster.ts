import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { ensureSecret, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { serve, serveMetrics } from './main.js';
import { AggregatorRegistry } from 'prom-client';
import type { ChangeBus } from './sync/change-bus.js';

// `folio serve --workers N`: N processes share the port (node:cluster), for more than one core.

interface ChangeMessage {
  folio: 'change';
  ownerId: number;
}

function isChange(message: unknown): message is ChangeMessage {
  return typeof message === 'object' && message !== null && (message as ChangeMessage).folio === 'change';
}

/**
 * A worker's change bus on SQLite: notices go to the primary, which passes them to every worker
 * (this one included), so an event stream in one process hears about writes in another.
 */
function clusterChangeBus(): ChangeBus {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  process.on('message', (message) => {
    if (isChange(message)) local.emit('change', message.ownerId);
  });
  return {
    publish(ownerId) {
      process.send?.({ folio: 'change', ownerId } satisfies ChangeMessage);
    },
    subscribe(ownerId, listener) {
      const filtered = (id: number) => {
        if (ownerId === null || id === ownerId) listener(id);
      };
      local.on('change', filtered);
      return () => local.off('change', filtered);
    },
  };
}

/** Runs the primary (migrate once, fork, restart crashed workers, relay notices) or a worker. */
export async function serveCluster(config: Config, workers: number): Promise<void> {
  if (cluster.isWorker) {
    const app = await serve(config, { migrate: false, bus: clusterChangeBus(), metricsPort: false });
    // The primary asks each worker for its figures and answers the scrape with their sum.
    if (app.metrics) {
      AggregatorRegistry.setRegistries([app.metrics]);
      new AggregatorRegistry(); // installs the worker's answer to the primary's request
    }
    return;
  }
  ensureSecret(config); // once, before the workers race to create it
  const database = openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isChange(message)) return;
      for (const other of Object.values(cluster.workers ?? {})) other?.send(message);
    });
    return worker;
  };
  for (let i = 0; i < workers; i++) fork();
  if (config.metricsPort !== undefined) {
    const aggregator = new AggregatorRegistry();
    await serveMetrics(config.host, config.metricsPort, () => aggregator.clusterMetrics());
  }
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(`folio: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
