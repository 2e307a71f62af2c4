import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { inTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { authChanged } from './auth.cache.js';
import { hashSecret, newSecret } from './secrets.js';

/** Refresh tokens live 30 days; each use spends one and issues the next. */
export const REFRESH_TOKEN_DAYS = 30;
const DAY_MS = 86_400_000;

export interface Session {
  id: number;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
}

function invalidRefresh(detail = 'The refresh token is not valid'): AppError {
  return new AppError(401, 'invalid_token', detail);
}

async function issueRefreshToken(db: Kysely<DB>, sessionId: number, now: Date): Promise<string> {
  const token = newSecret();
  await db
    .insertInto('refresh_tokens')
    .values({
      session_id: sessionId,
      token_hash: hashSecret(token),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + REFRESH_TOKEN_DAYS * DAY_MS).toISOString(),
    })
    .execute();
  return token;
}

/** Starts a session (one sign-in) and its first refresh token. */
export function startSession(
  db: Kysely<DB>,
  userId: number,
  userAgent: string | undefined,
): Promise<{ sessionId: number; refreshToken: string }> {
  return inTransaction(db, async (trx) => {
    const now = new Date();
    const session = await trx
      .insertInto('sessions')
      .values({
        user_id: userId,
        created_at: now.toISOString(),
        last_used_at: now.toISOString(),
        user_agent: userAgent?.slice(0, 500) ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { sessionId: session.id, refreshToken: await issueRefreshToken(trx, session.id, now) };
  });
}

/** Ends a session: its refresh tokens stop working and so do its access tokens. */
export async function revokeSession(db: Kysely<DB>, userId: number, sessionId: number): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: new Date().toISOString() })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  // After the write: a check that read the session before it must not be kept.
  authChanged();
  return result.numUpdatedRows > 0n;
}

/** Ends every session of a user but one (a password change keeps the session that made it). */
export async function revokeOtherSessions(
  db: Kysely<DB>,
  userId: number,
  keep: number | null,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: new Date().toISOString() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .$if(keep !== null, (qb) => qb.where('id', '!=', keep!))
    .execute();
  authChanged();
}

/**
 * Spends a refresh token and issues the next one in the same session. A token used twice means
 * it was stolen (or replayed): the whole session is revoked, for the thief and the owner alike.
 */
export async function rotateRefreshToken(
  db: Kysely<DB>,
  token: string,
): Promise<{ userId: number; sessionId: number; refreshToken: string }> {
  const reused = await inTransaction(db, async (trx) => {
    const now = new Date();
    const row = await trx
      .selectFrom('refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .select(['t.id', 't.session_id', 't.expires_at', 't.spent_at', 's.user_id', 's.revoked_at'])
      .where('t.token_hash', '=', hashSecret(token))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) throw invalidRefresh();
    if (row.expires_at <= now.toISOString())
      throw invalidRefresh('The refresh token has expired; sign in again');
    // Conditional, so two concurrent uses of one token cannot both succeed.
    const spent = await trx
      .updateTable('refresh_tokens')
      .set({ spent_at: now.toISOString() })
      .where('id', '=', row.id)
      .where('spent_at', 'is', null)
      .executeTakeFirst();
    if (spent.numUpdatedRows === 0n) return row;
    await trx
      .updateTable('sessions')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', row.session_id)
      .execute();
    return {
      userId: row.user_id,
      sessionId: row.session_id,
      refreshToken: await issueRefreshToken(trx, row.session_id, now),
    };
  });
  if ('refreshToken' in reused) return reused;
  await revokeSession(db, reused.user_id, reused.session_id);
  throw invalidRefresh('The refresh token was already used; the session has been revoked');
}

/** The user's live sessions, most recently used first. */
export function listSessions(db: Kysely<DB>, userId: number): Promise<Session[]> {
  const oldest = new Date(Date.now() - REFRESH_TOKEN_DAYS * DAY_MS).toISOString();
  return db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'user_agent'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('last_used_at', '>', oldest)
    .orderBy('last_used_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** Puts an access token on the denylist until it would have expired anyway. */
export async function revokeAccessToken(db: Kysely<DB>, jti: string, expiresAt: number): Promise<void> {
  await db
    .insertInto('revoked_tokens')
    .values({ jti, expires_at: new Date(expiresAt * 1000).toISOString() })
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
  authChanged();
}

/** Whether an access token may still be used: its session is live and it is not on the denylist. */
export async function accessTokenAlive(db: Kysely<DB>, sessionId: number, jti: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions as s')
    .select([
      's.revoked_at',
      (eb) => eb.exists(eb.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti)).as('denied'),
    ])
    .where('s.id', '=', sessionId)
    .executeTakeFirst();
  return row !== undefined && row.revoked_at === null && !row.denied;
}

/** Whether a token id is on the denylist (external identity tokens, which have no session). */
export async function tokenDenied(db: Kysely<DB>, jti: string): Promise<boolean> {
  const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
  return row !== undefined;
}

/** Forgets what can no longer matter: expired denylist entries and refresh tokens. */
export async function pruneAuthState(db: Kysely<DB>): Promise<void> {
  const now = new Date().toISOString();
  await db.deleteFrom('revoked_tokens').where('expires_at', '<', now).execute();
  await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute();
}

/** The user of a live session (not revoked, used within the refresh lifetime); undefined otherwise. */
export async function sessionUser(db: Kysely<DB>, sessionId: number): Promise<number | undefined> {
  const oldest = new Date(Date.now() - REFRESH_TOKEN_DAYS * DAY_MS).toISOString();
  const row = await db
    .selectFrom('sessions')
    .select('user_id')
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where('last_used_at', '>', oldest)
    .executeTakeFirst();
  return row?.user_id;
}

/** Marks a session used now (cookie sessions have no refresh to do it). */
export async function touchSession(db: Kysely<DB>, sessionId: number): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_used_at: new Date().toISOString() })
    .where('id', '=', sessionId)
    .execute();
}
