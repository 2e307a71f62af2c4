import type { Kysely } from 'kysely';
import type { DB } from './tables.js';

/** Runs `fn` in a transaction, or in the caller's when `db` already is one, so store functions compose. */
export function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
