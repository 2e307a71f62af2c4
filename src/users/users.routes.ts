import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { User } from './users.schemas.js';
import { getUser, toUser } from './users.store.js';

/** `/api/me`: the signed-in user. */
export const meRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['account'], summary: 'The current user', response: { 200: Type.Ref(User) } },
    },
    async (request) => {
      const user = await getUser(db, authOf(request).userId);
      // The token outlived its account.
      if (!user) throw new AppError(401, 'invalid_token', 'The account behind this token no longer exists');
      return toUser(user);
    },
  );
};
