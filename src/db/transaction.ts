import type { Kysely } from 'kysely';
import type { DB } from './tables.js';

/** A database with group commit (SQLite): see group-commit.ts. */
export interface GroupCommit {
  /** When the current group of transactions commits. */
  committed(): Promise<void>;
  /** Runs a read at once when no transaction holds the connection (undefined otherwise, or for a write). */
  readNow(sql: string, parameters: readonly unknown[]): unknown[] | undefined;
}

const groupCommits = new WeakMap<Kysely<DB>, GroupCommit>();

export function useGroupCommit(db: Kysely<DB>, groupCommit: GroupCommit): void {
  groupCommits.set(db, groupCommit);
}

/**
 * Runs a read-only statement at once, without Kysely's connection queue, where that is safe: on a
 * database with group commit (not a transaction, not PostgreSQL) while no transaction holds the
 * connection. Undefined where it cannot; the caller then runs the query the usual way.
 */
export function readNow(db: Kysely<DB>, sql: string, parameters: readonly unknown[]): unknown[] | undefined {
  return groupCommits.get(db)?.readNow(sql, parameters);
}

/**
 * Runs `fn` in a transaction, or in the caller's when `db` already is one, so store functions
 * compose. Resolves once the transaction is durable: with group commit (SQLite, see
 * group-commit.ts) that is when its group has committed.
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  const groupCommit = groupCommits.get(db);
  if (!groupCommit) return db.transaction().execute(fn);
  let group: Promise<void> | undefined;
  const result = await db.transaction().execute(async (trx) => {
    const value = await fn(trx);
    group = groupCommit.committed(); // the group this transaction belongs to
    return value;
  });
  await group;
  return result;
}

/** Resolves once every transaction begun so far is durable (after a migration, say). */
export async function settled(db: Kysely<DB>): Promise<void> {
  await groupCommits.get(db)?.committed();
}
