import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { authChanged } from '../auth/auth.cache.js';
import { unindexOwner } from '../db/search.js';
import { inTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import type { DB, UserRow } from '../db/tables.js';
import type { User } from './users.schemas.js';

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A user by id; undefined once the account is gone. */
export function getUser(db: Kysely<DB>, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A user by username or email, both case-insensitive (the way people type them at sign-in). */
export async function findUserByLogin(db: Kysely<DB>, login: string): Promise<UserRow | undefined> {
  // No username or email holds a NUL, and PostgreSQL cannot even compare text with one.
  if (login.includes('\0')) return undefined;
  const column = login.includes('@') ? 'email' : 'username';
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql`lower(${sql.ref(column)})`, '=', login.toLowerCase())
    .executeTakeFirst();
}

function takenError(field: 'username' | 'email', username: string): AppError {
  return field === 'username'
    ? new AppError(409, 'username_taken', `The username ${username} is already taken`)
    : new AppError(409, 'email_taken', 'An account with this email already exists');
}

/** Creates a user; 409 `username_taken` or `email_taken` when either is in use, in any case. */
export async function createUser(
  db: Kysely<DB>,
  input: { username: string; email: string; passwordHash: string },
): Promise<UserRow> {
  const taken = await db
    .selectFrom('users')
    .select(['username', 'email'])
    .where((eb) =>
      eb.or([
        eb(sql`lower(username)`, '=', input.username.toLowerCase()),
        eb(sql`lower(email)`, '=', input.email.toLowerCase()),
      ]),
    )
    .execute();
  if (taken.length > 0) {
    const sameName = taken.some((u) => u.username.toLowerCase() === input.username.toLowerCase());
    throw takenError(sameName ? 'username' : 'email', input.username);
  }
  const now = new Date().toISOString();
  try {
    return await db
      .insertInto('users')
      .values({
        username: input.username,
        email: input.email,
        password_hash: input.passwordHash,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    // Another sign-up won the race between the check and the insert.
    if (/unique|duplicate/i.test(String(error))) {
      throw takenError(/username/i.test(String(error)) ? 'username' : 'email', input.username);
    }
    throw error;
  }
}

export async function setPasswordHash(db: Kysely<DB>, id: number, passwordHash: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: new Date().toISOString() })
    .where('id', '=', id)
    .execute();
}

/** Changes a user's email; 409 `email_taken` when another account has it. */
export async function setEmail(db: Kysely<DB>, id: number, email: string): Promise<void> {
  const other = await db
    .selectFrom('users')
    .select('id')
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .where('id', '!=', id)
    .executeTakeFirst();
  if (other) throw takenError('email', '');
  try {
    await db
      .updateTable('users')
      .set({ email, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  } catch (error) {
    if (/unique|duplicate/i.test(String(error))) throw takenError('email', '');
    throw error;
  }
}

/** Deletes an account and everything it owns: notes (and their search entries), sessions, keys. */
export async function deleteUser(db: Kysely<DB>, id: number): Promise<void> {
  await inTransaction(db, async (trx) => {
    await unindexOwner(trx, id);
    await trx.deleteFrom('users').where('id', '=', id).execute();
  });
  authChanged(); // its sessions and keys went with it
}
