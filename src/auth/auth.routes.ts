import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';
import { createUser, findUserByLogin, toUser } from '../users/users.store.js';
import { hashPassword, verifyPassword } from './auth.passwords.js';
import { LoginInput, RegisterInput, RegisterResult, Tokens } from './auth.schemas.js';
import { ACCESS_TOKEN_SECONDS, type TokenSigner } from './auth.tokens.js';
import { createSession } from './sessions.store.js';

export interface AuthRoutesOptions {
  db: Kysely<DB>;
  signer: TokenSigner;
  signup: 'open' | 'closed';
}

/** `/api/auth`: sign-up and sign-in, each starting a session and answering with its tokens. */
export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { db, signer, signup },
) => {
  async function issueTokens(userId: number, userAgent: string | undefined) {
    const sessionId = await createSession(db, userId, userAgent);
    return {
      access_token: await signer.sign(userId, sessionId),
      token_type: 'Bearer' as const,
      expires_in: ACCESS_TOKEN_SECONDS,
    };
  }

  app.post(
    '/register',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: RegisterInput,
        response: { 201: RegisterResult, ...problems(400, 403, 409) },
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
      const tokens = await issueTokens(user.id, request.headers['user-agent']);
      return reply.code(201).send({ user: toUser(user), ...tokens });
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
        response: { 200: Tokens, ...problems(400, 401) },
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const user = await findUserByLogin(db, username);
      // Always verify, even for an unknown user, so timing does not reveal which names exist.
      if (!(await verifyPassword(user?.password_hash, password)) || !user) {
        throw new AppError(401, 'unauthorized', 'The username or password is wrong');
      }
      return issueTokens(user.id, request.headers['user-agent']);
    },
  );
};
