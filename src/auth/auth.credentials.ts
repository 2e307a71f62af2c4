import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { SCOPES, type Scope } from '../keys/keys.schemas.js';
import { findKey, KEY_PREFIX, markKeyUsed } from '../keys/keys.store.js';
import type { SignInGuard } from '../limits/limits.js';
import { findUserByLogin } from '../users/users.store.js';
import type { AuthCache } from './auth.cache.js';
import { verifyPassword } from './auth.passwords.js';
import type { TokenSigner } from './auth.tokens.js';
import { userForIdentity } from './identities.store.js';
import type { OidcVerifier } from './oidc.js';
import { accessTokenAlive, tokenDenied } from './sessions.store.js';
import { cookieAuth, SESSION_COOKIE } from '../web/web.session.js';

/** Who is calling, however they proved it. */
export interface Auth {
  userId: number;
  /** A Folio access token, an API key, HTTP Basic with a password, or an external identity token. */
  via: 'session' | 'key' | 'password' | 'oidc';
  sessionId: number | null;
  keyId: number | null;
  /** The access token's id and expiry (seconds), so logout can deny it. */
  token: { jti: string; expiresAt: number } | null;
  scopes: ReadonlySet<Scope>;
}

export interface Credentials {
  db: Kysely<DB>;
  signer: TokenSigner;
  oidc: OidcVerifier | undefined;
  guard: SignInGuard;
  /** Kept credential checks (SQLite); none: every request is checked against the database. */
  cache?: AuthCache | undefined;
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);
// A client that tried Basic is told Basic is what failed (others get the Bearer challenge).
const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="folio", charset="UTF-8"' };
// Writing last_used_at at most once a minute per key keeps reads from turning into writes.
const TOUCH_MS = 60_000;

function invalid(detail: string): AppError {
  return new AppError(401, 'invalid_token', detail);
}

async function byKey(credentials: Credentials, secret: string, username?: string): Promise<Auth> {
  const { db, cache } = credentials;
  // Basic with a key also names its owner, which is checked every time.
  const cached = username === undefined ? cache?.get(`key:${secret}`) : undefined;
  if (cached) {
    const now = Date.now();
    if (now - cached.touchedAt > TOUCH_MS) {
      cached.touchedAt = now;
      await markKeyUsed(db, cached.auth.keyId!, new Date(now).toISOString());
    }
    return cached.auth;
  }
  const mark = cache?.mark();
  const key = await findKey(db, secret);
  if (!key) throw invalid('The API key is not valid');
  const now = new Date();
  if (key.expiresAt !== null && key.expiresAt <= now.toISOString()) {
    throw new AppError(401, 'token_expired', 'The API key has expired');
  }
  if (username !== undefined) {
    const owner = await findUserByLogin(db, username);
    if (owner?.id !== key.userId) throw invalid('The API key does not belong to this user');
  }
  let touchedAt = key.lastUsedAt === null ? 0 : Date.parse(key.lastUsedAt);
  if (now.getTime() - touchedAt > TOUCH_MS) {
    await markKeyUsed(db, key.id, now.toISOString());
    touchedAt = now.getTime();
  }
  const auth: Auth = {
    userId: key.userId,
    via: 'key',
    sessionId: null,
    keyId: key.id,
    token: null,
    scopes: new Set(key.scopes),
  };
  if (mark && username === undefined) {
    const expiresAt = key.expiresAt === null ? null : Date.parse(key.expiresAt);
    cache!.set(`key:${secret}`, auth, mark, expiresAt, touchedAt);
  }
  return auth;
}

async function byJwt(credentials: Credentials, token: string): Promise<Auth> {
  // Only Folio's own access tokens are kept, so a kept one needs no decoding.
  const cached = credentials.cache?.get(`jwt:${token}`);
  if (cached) return cached.auth;
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw invalid('The access token is not valid');
  }
  const { oidc, signer, db } = credentials;
  if (oidc && issuer === oidc.issuer) {
    const claims = await oidc.verify(token);
    const jti = typeof claims.jti === 'string' ? claims.jti : null;
    // Signed out here (logout puts its jti on the denylist) even though the provider still honours it.
    if (jti !== null && (await tokenDenied(db, jti)))
      throw invalid('The identity token has been revoked here');
    const userId = await userForIdentity(db, oidc.issuer, claims);
    return {
      userId,
      via: 'oidc',
      sessionId: null,
      keyId: null,
      token: jti && claims.exp ? { jti, expiresAt: claims.exp } : null,
      scopes: ALL_SCOPES,
    };
  }
  const mark = credentials.cache?.mark();
  const claims = await signer.verify(token);
  if (!(await accessTokenAlive(db, claims.sessionId, claims.jti))) {
    throw invalid('The access token has been revoked; sign in again');
  }
  const auth: Auth = {
    userId: claims.userId,
    via: 'session',
    sessionId: claims.sessionId,
    keyId: null,
    token: { jti: claims.jti, expiresAt: claims.expiresAt },
    scopes: ALL_SCOPES,
  };
  if (mark) credentials.cache!.set(`jwt:${token}`, auth, mark, claims.expiresAt * 1000);
  return auth;
}

async function byPassword(
  credentials: Credentials,
  request: FastifyRequest,
  login: string,
  password: string,
): Promise<Auth> {
  const user = await findUserByLogin(credentials.db, login);
  await credentials.guard.check(request, user ?? login);
  if (!(await verifyPassword(user?.password_hash, password)) || !user) {
    await credentials.guard.fail(request, user ?? login);
    throw new AppError(401, 'unauthorized', 'The username or password is wrong', {
      headers: BASIC_CHALLENGE,
    });
  }
  return { userId: user.id, via: 'password', sessionId: null, keyId: null, token: null, scopes: ALL_SCOPES };
}

/**
 * Reads the request's credential: `Authorization: Bearer <access token | API key | identity
 * token>`, `X-API-Key: <key>` or `Authorization: Basic` with a password or a key.
 */
export async function authenticate(credentials: Credentials, request: FastifyRequest): Promise<Auth> {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return byKey(credentials, apiKey.trim());
  const header = request.headers.authorization;
  // A signed-in page may read (an EventSource cannot send headers); writes always need a header,
  // so a cookie never makes a cross-site form able to change anything.
  if (
    !header &&
    (request.method === 'GET' || request.method === 'HEAD') &&
    request.cookies?.[SESSION_COOKIE]
  ) {
    const auth = await cookieAuth(credentials.db, request);
    if (auth) return auth;
  }
  if (!header) {
    throw new AppError(
      401,
      'unauthorized',
      'Authentication is required: send a Bearer token, an API key or Basic credentials',
    );
  }
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space < 0 ? undefined : space).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer' && value) {
    return value.startsWith(KEY_PREFIX) ? byKey(credentials, value) : byJwt(credentials, value);
  }
  if (scheme === 'basic' && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const login = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      return secret.startsWith(KEY_PREFIX)
        ? byKey(credentials, secret, login)
        : byPassword(credentials, request, login, secret);
    }
  }
  throw new AppError(
    401,
    'unauthorized',
    'Unsupported Authorization header; use Bearer <token> or Basic <credentials>',
  );
}
