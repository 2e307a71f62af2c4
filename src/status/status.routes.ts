import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { LATEST_MIGRATION, pendingMigrations } from '../db/migrate.js';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';

// src/ and dist/ both sit one level below package.json.
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const started = Date.now();

const Live = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.String({ examples: ['0.1.0'] }),
    uptime_seconds: Type.Integer({ description: 'Seconds since this process started' }),
  },
  { title: 'Liveness' },
);

const Status = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.String({ examples: ['0.1.0'] }),
    uptime_seconds: Type.Integer({ description: 'Seconds since this process started' }),
    database: Type.Object({ dialect: Type.String(), ok: Type.Boolean() }),
    migrations: Type.Object({
      current: Type.Boolean({ description: 'Every migration this version knows is applied' }),
      latest: Type.String({ examples: [LATEST_MIGRATION] }),
    }),
  },
  { title: 'Status' },
);

function unavailable(detail: string): AppError {
  return new AppError(503, 'unavailable', detail, { headers: { 'Retry-After': '5' } });
}

const uptime = () => Math.floor((Date.now() - started) / 1000);

/**
 * `/api/status`: readiness (this process can serve: its database answers, its schema is current,
 * it is not shutting down) for load balancers; `/api/status/live`: liveness (the process answers
 * at all), which an orchestrator should use to decide on a restart.
 */
export const statusRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (app, { database }) => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Migrations are never undone while serving: once current, always current.
  let current = false;

  app.get(
    '/',
    {
      // Health checkers poll from one address: they must never be told 429.
      config: { access: 'public', rateLimit: false },
      schema: {
        tags: ['status'],
        summary: 'Readiness: database reachable, migrations current, not shutting down',
        response: { 200: Status, ...problems(503) },
      },
    },
    async (request) => {
      if (closing) throw unavailable('The server is shutting down');
      try {
        await sql`select 1`.execute(database.db);
        if (!current) current = (await pendingMigrations(database.db)).length === 0;
      } catch (error) {
        request.log.error({ err: error }, 'database check failed');
        throw unavailable('The database is not reachable');
      }
      if (!current) throw unavailable(`The database schema is not current; run folio migrate`);
      return {
        status: 'ok' as const,
        version: VERSION,
        uptime_seconds: uptime(),
        database: { dialect: database.dialect, ok: true },
        migrations: { current, latest: LATEST_MIGRATION },
      };
    },
  );

  app.get(
    '/live',
    {
      // A busy server is alive: overload must not make an orchestrator restart it.
      config: { access: 'public', rateLimit: false, pressureHandler: () => undefined },
      schema: {
        tags: ['status'],
        summary: 'Liveness: the process answers (no database check)',
        response: { 200: Live },
      },
    },
    async () => ({ status: 'ok' as const, version: VERSION, uptime_seconds: uptime() }),
  );
};
