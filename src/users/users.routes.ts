import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import { hashPassword, verifyPassword } from '../auth/auth.passwords.js';
import { NO_PASSWORD } from '../auth/identities.store.js';
import { revokeOtherSessions } from '../auth/sessions.store.js';
import type { DB, UserRow } from '../db/tables.js';
import { AppError, validationError } from '../errors.js';
import { problems } from '../http/schemas.js';
import type { SignInGuard } from '../limits/limits.js';
import { AccountDeletion, AccountPatch, User } from './users.schemas.js';
import { deleteUser, getUser, setEmail, setPasswordHash, toUser } from './users.store.js';

/** `/api/me`: the signed-in user and their account. */
export const meRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB>; guard: SignInGuard }> = async (
  app,
  { db, guard },
) => {
  async function currentUser(request: FastifyRequest): Promise<UserRow> {
    const user = await getUser(db, authOf(request).userId);
    // The token outlived its account.
    if (!user)
      throw new AppError(401, 'invalid_token', 'The account behind this credential no longer exists');
    return user;
  }

  /** A sensitive change asks for the password again (unless the account has none: external sign-in). */
  async function confirmPassword(
    request: FastifyRequest,
    user: UserRow,
    password: string | undefined,
    field: string,
  ) {
    if (user.password_hash === NO_PASSWORD) return;
    if (password === undefined)
      throw validationError([{ field, message: 'is required to confirm this change' }]);
    await guard.check(request, user);
    if (!(await verifyPassword(user.password_hash, password))) {
      await guard.fail(request, user);
      throw new AppError(403, 'forbidden', `The ${field.replace('_', ' ')} is wrong`);
    }
  }

  app.get(
    '/',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['account'], summary: 'The current user', response: { 200: Type.Ref(User) } },
    },
    async (request) => toUser(await currentUser(request)),
  );

  app.patch(
    '/',
    {
      schema: {
        tags: ['account'],
        summary: 'Change your email or password',
        description: 'A new password needs `current_password` and signs out every other session.',
        body: AccountPatch,
        response: { 200: Type.Ref(User), ...problems(400, 403, 409, 429) },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const user = await currentUser(request);
      const { email, password, current_password: current } = request.body;
      if (password !== undefined) await confirmPassword(request, user, current, 'current_password');
      if (email !== undefined && email !== user.email) await setEmail(db, user.id, email);
      if (password !== undefined) {
        await setPasswordHash(db, user.id, await hashPassword(password));
        await revokeOtherSessions(db, user.id, auth.sessionId);
      }
      return toUser(await currentUser(request));
    },
  );

  app.delete(
    '/',
    {
      schema: {
        tags: ['account'],
        summary: 'Delete your account and all its notes',
        body: AccountDeletion,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problems(400, 403, 429) },
      },
    },
    async (request, reply) => {
      const user = await currentUser(request);
      await confirmPassword(request, user, request.body.password, 'password');
      await deleteUser(db, user.id);
      return reply.code(204).send(null);
    },
  );
};
