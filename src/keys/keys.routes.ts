import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { AppError, validationError } from '../errors.js';
import { IdParams, problems } from '../http/schemas.js';
import { ApiKey, ApiKeyInput, NewApiKey, SCOPES } from './keys.schemas.js';
import { createKey, deleteKey, listKeys } from './keys.store.js';

/** `/api/keys`: personal API keys. Managing them takes a signed-in person, never a key. */
export const keysRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['keys'],
        summary: 'List your API keys (never their secrets)',
        response: { 200: Type.Object({ data: Type.Array(Type.Ref(ApiKey)) }) },
      },
    },
    async (request) => ({ data: await listKeys(db, authOf(request).userId) }),
  );

  app.post(
    '/',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the answer holds its secret, shown this once',
        body: ApiKeyInput,
        response: { 201: NewApiKey, ...problems(400) },
      },
    },
    async (request, reply) => {
      const { name, scopes, expires_at: expiresAt } = request.body;
      if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.now()) {
        throw validationError([{ field: 'expires_at', message: 'must be in the future' }]);
      }
      const key = await createKey(db, authOf(request).userId, {
        name,
        scopes: scopes ?? [...SCOPES],
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
      });
      return reply
        .code(201)
        .header('Location', `/api/keys/${key.id}`)
        .header('Cache-Control', 'no-store')
        .send(key);
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Revoked' }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deleteKey(db, authOf(request).userId, request.params.id))) {
        throw new AppError(404, 'not_found', `API key ${request.params.id} not found`);
      }
      return reply.code(204).send(null);
    },
  );
};
