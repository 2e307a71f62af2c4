import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';

// src/ and dist/ both sit one level below package.json.
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const Status = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.String({ examples: ['0.1.0'] }),
    database: Type.Object({ dialect: Type.String(), ok: Type.Boolean() }),
  },
  { title: 'Status' },
);

/** `/api/status`: up, and able to reach its database. */
export const statusRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (app, { database }) => {
  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: { tags: ['status'], summary: 'Health check', response: { 200: Status, ...problems(503) } },
    },
    async (request) => {
      try {
        await sql`select 1`.execute(database.db);
      } catch (error) {
        request.log.error({ err: error }, 'database check failed');
        throw new AppError(503, 'unavailable', 'The database is not reachable', {
          headers: { 'Retry-After': '5' },
        });
      }
      return { status: 'ok' as const, version: VERSION, database: { dialect: database.dialect, ok: true } };
    },
  );
};
