import type { Kysely } from 'kysely';
import type { DB } from './tables.js';

/** For each database with group commit (SQLite), when the current group of transactions commits. */
const groupCommits = new WeakMap<Kysely<DB>, () => Promise<void>>();

export function useGroupCommit(db: Kysely<DB>, committed: () => Promise<void>): void {
  groupCommits.set(db, committed);
}

/**
 * Runs `fn` in a transaction, or in the caller's when `db` already is one, so store functions
 * compose. Resolves once the transaction is durable: with group commit (SQLite, see
 * group-commit.ts) that is when its group has committed.
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  const committed = groupCommits.get(db);
  if (!committed) return db.transaction().execute(fn);
  let group: Promise<void> | undefined;
  const result = await db.transaction().execute(async (trx) => {
    const value = await fn(trx);
    group = committed(); // the group this transaction belongs to
    return value;
  });
  await group;
  return result;
}

/** Resolves once every transaction begun so far is durable (after a migration, say). */
export async function settled(db: Kysely<DB>): Promise<void> {
  await groupCommits.get(db)?.();
}
