import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';
import { perAddress, REFRESH_LIMIT, SIGN_UP_LIMIT, type SignInGuard } from '../limits/limits.js';
import { createUser, findUserByLogin, setPasswordHash, toUser } from '../users/users.store.js';
import { authOf } from './auth.plugin.js';
import { hashPassword, needsRehash, verifyPassword } from './auth.passwords.js';
import { LoginInput, RefreshInput, RegisterInput, RegisterResult, Tokens } from './auth.schemas.js';
import { ACCESS_TOKEN_SECONDS, type TokenSigner } from './auth.tokens.js';
import { revokeAccessToken, revokeSession, rotateRefreshToken, startSession } from './sessions.store.js';

export interface AuthRoutesOptions {
  db: Kysely<DB>;
  signer: TokenSigner;
  guard: SignInGuard;
  signup: 'open' | 'closed';
}

// Token answers must never be stored by a cache along the way (RFC 6749 §5.1).
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** `/api/auth`: sign-up, sign-in, refresh and sign-out. Each sign-in is a session. */
export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, options) => {
  const { db, signer, guard, signup } = options;

  async function tokens(userId: number, sessionId: number, refreshToken: string): Promise<Tokens> {
    return {
      access_token: await signer.sign(userId, sessionId),
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      refresh_token: refreshToken,
    };
  }

  app.post(
    '/register',
    {
      config: { access: 'public', rateLimit: perAddress(SIGN_UP_LIMIT) },
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: RegisterInput,
        response: { 201: RegisterResult, ...problems(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      if (signup === 'closed') {
        throw new AppError(
          403,
          'forbidden',
          'Sign-up is closed on this server; ask its operator for an account',
        );
      }
      const { username, email, password } = request.body;
      const user = await createUser(db, { username, email, passwordHash: await hashPassword(password) });
      const session = await startSession(db, user.id, request.headers['user-agent']);
      const answer = {
        user: toUser(user),
        ...(await tokens(user.id, session.sessionId, session.refreshToken)),
      };
      return reply.code(201).headers(NO_STORE).send(answer);
    },
  );

  app.post(
    '/login',
    {
      config: { access: 'public', forms: true },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a username or email and a password',
        body: LoginInput,
        response: { 200: Tokens, ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const user = await findUserByLogin(db, username);
      await guard.check(request, user ?? username);
      // Always verify, even for an unknown user, so timing does not reveal which names exist.
      if (!(await verifyPassword(user?.password_hash, password)) || !user) {
        await guard.fail(request, user ?? username);
        throw new AppError(401, 'unauthorized', 'The username or password is wrong');
      }
      if (needsRehash(user.password_hash)) await setPasswordHash(db, user.id, await hashPassword(password));
      const session = await startSession(db, user.id, request.headers['user-agent']);
      return reply.headers(NO_STORE).send(await tokens(user.id, session.sessionId, session.refreshToken));
    },
  );

  app.post(
    '/refresh',
    {
      config: { access: 'public', forms: true, rateLimit: perAddress(REFRESH_LIMIT) },
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new pair; the old one is spent',
        description: 'Using a spent refresh token again revokes its whole session.',
        body: RefreshInput,
        response: { 200: Tokens, ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const next = await rotateRefreshToken(db, request.body.refresh_token);
      return reply.headers(NO_STORE).send(await tokens(next.userId, next.sessionId, next.refreshToken));
    },
  );

  app.post(
    '/logout',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Sign out: end this session and its tokens',
        response: { 204: Type.Null({ description: 'Signed out' }) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      if (auth.sessionId !== null) await revokeSession(db, auth.userId, auth.sessionId);
      if (auth.token) await revokeAccessToken(db, auth.token.jti, auth.token.expiresAt);
      return reply.code(204).send(null);
    },
  );
};
