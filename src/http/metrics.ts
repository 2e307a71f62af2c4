import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database.js';

export interface MetricsSources {
  database: Database;
  /** How many event streams are open right now. */
  sseClients: () => number;
}

/** Route label of a request no route matched: one series, however many paths are probed. */
const UNMATCHED = 'unmatched';

/**
 * Prometheus metrics of one process: requests by route and status (a count and a latency
 * histogram), the database's connections, open event streams, and Node's own process metrics.
 * Routes are labelled by pattern (`/api/notes/:id`), never by the URL asked, so the number of
 * series stays bounded.
 */
export function installMetrics(app: FastifyInstance, { database, sseClients }: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'folio_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'folio_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const pool = database.pool;
  new Gauge({
    name: 'folio_db_connections',
    help: 'Database connections of this process, by state (SQLite: one connection, always open)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (pool) {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      } else {
        this.set({ state: 'total' }, 1);
      }
    },
  });
  new Gauge({
    name: 'folio_sse_clients',
    help: 'Open GET /api/events streams',
    registers: [registry],
    collect() {
      this.set(sseClients());
    },
  });

  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
  return registry;
}
