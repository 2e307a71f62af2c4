import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';

/** Starts a session (one sign-in) for a user; access tokens carry its id. */
export async function createSession(
  db: Kysely<DB>,
  userId: number,
  userAgent: string | undefined,
): Promise<number> {
  const now = new Date().toISOString();
  const row = await db
    .insertInto('sessions')
    .values({
      user_id: userId,
      created_at: now,
      last_used_at: now,
      user_agent: userAgent?.slice(0, 500) ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
