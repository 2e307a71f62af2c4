import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { IdParams, problems } from '../http/schemas.js';
import { SessionInfo } from '../users/users.schemas.js';
import { authOf } from './auth.plugin.js';
import { listSessions, revokeSession } from './sessions.store.js';

/** `/api/me/sessions`: where you are signed in, and signing out one of them. */
export const sessionsRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['account'],
        summary: 'Your live sessions, most recently used first',
        response: { 200: Type.Object({ data: Type.Array(SessionInfo) }) },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const sessions = await listSessions(db, auth.userId);
      return { data: sessions.map((session) => ({ ...session, current: session.id === auth.sessionId })) };
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['account'],
        summary: 'Revoke a session: its refresh and access tokens stop working at once',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Revoked' }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      if (!(await revokeSession(db, authOf(request).userId, request.params.id))) {
        throw new AppError(404, 'not_found', `Session ${request.params.id} not found`);
      }
      return reply.code(204).send(null);
    },
  );
};
