import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { inTransaction } from '../db/transaction.js';
import type { DB } from '../db/tables.js';
import { hashSecret } from './secrets.js';

/** Marks an account that signs in only through its identity provider: no password verifies against it. */
export const NO_PASSWORD = '!external';

function usernameFrom(claims: { preferred_username?: unknown; email?: unknown; nickname?: unknown }): string {
  const wanted =
    [
      claims.preferred_username,
      claims.nickname,
      typeof claims.email === 'string' ? claims.email.split('@')[0] : undefined,
    ].find((value): value is string => typeof value === 'string' && value.length > 0) ?? 'user';
  const clean = wanted
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 24);
  return clean.length >= 3 ? clean : `user-${clean}`.slice(0, 24);
}

/**
 * The local user of an external identity, created on its first request: a username from its
 * claims (made unique), its email when it is free, else a placeholder only this account has.
 */
export async function userForIdentity(
  db: Kysely<DB>,
  issuer: string,
  claims: { sub: string; email?: unknown; preferred_username?: unknown; nickname?: unknown },
): Promise<number> {
  const find = () =>
    db
      .selectFrom('identities')
      .select('user_id')
      .where('issuer', '=', issuer)
      .where('subject', '=', claims.sub)
      .executeTakeFirst();
  const known = await find();
  if (known) return known.user_id;

  const base = usernameFrom(claims);
  const fingerprint = hashSecret(`${issuer} ${claims.sub}`)
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(0, 12)
    .toLowerCase();
  const now = new Date().toISOString();
  // Two first requests at once (PostgreSQL) may pick the same free name: the loser's insert
  // fails on the unique index and it tries again, seeing the winner's name taken.
  for (let round = 0; ; round++) {
    try {
      return await inTransaction(db, async (trx) => {
        const emailTaken =
          typeof claims.email !== 'string' ||
          (await trx
            .selectFrom('users')
            .select('id')
            .where(sql`lower(email)`, '=', claims.email.toLowerCase())
            .executeTakeFirst()) !== undefined;
        const email = emailTaken ? `${fingerprint}@users.invalid` : (claims.email as string);
        let username = base;
        for (let attempt = 0; ; attempt++) {
          const clash = await trx
            .selectFrom('users')
            .select('id')
            .where(sql`lower(username)`, '=', username)
            .executeTakeFirst();
          if (!clash) break;
          username = `${base.slice(0, 24)}-${attempt < 3 ? fingerprint.slice(0, 4 + attempt * 2) : fingerprint}`;
        }
        const user = await trx
          .insertInto('users')
          .values({ username, email, password_hash: NO_PASSWORD, created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('identities')
          .values({ issuer, subject: claims.sub, user_id: user.id, created_at: now })
          .execute();
        return user.id;
      });
    } catch (error) {
      // The same identity's first two requests raced: the other one created the user.
      const raced = await find();
      if (raced) return raced.user_id;
      if (round >= 4 || !/unique|duplicate/i.test(String(error))) throw error;
    }
  }
}
