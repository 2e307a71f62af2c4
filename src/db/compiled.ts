import type { CompiledQuery, Kysely } from 'kysely';
import { dialectOf, type Dialect } from './database.js';
import { readNow } from './transaction.js';
import type { DB } from './tables.js';

/** Stands for the n-th argument while a query is built once. */
class Slot {
  constructor(readonly index: number) {}
}

/** A query builder, or a raw `sql` query (which compiles against a database). */
interface Buildable<R> {
  compile(db: Kysely<DB>): CompiledQuery<R>;
}

/**
 * A query built and compiled once per dialect, then run with each call's arguments. Building and
 * compiling a Kysely query takes longer than SQLite takes to run a short one, so the hot paths
 * (read a note, write one) build theirs once. On SQLite, a read outside a transaction runs at
 * once when it can (`readNow`). `build` may use its arguments only as single values
 * (in where, values, set, limit); never to choose the query's shape, and never as a list.
 */
export function compiledOnce<A extends unknown[], R>(
  build: (db: Kysely<DB>, ...args: A) => Buildable<R>,
): (db: Kysely<DB>, ...args: A) => Promise<R[]> {
  const compiled = new Map<Dialect, CompiledQuery<R>>();
  return async (db, ...args) => {
    const dialect = dialectOf(db);
    let query = compiled.get(dialect);
    if (!query) {
      query = build(db, ...(args.map((_, i) => new Slot(i)) as A)).compile(db);
      compiled.set(dialect, query);
    }
    const parameters = query.parameters.map((value) => (value instanceof Slot ? args[value.index] : value));
    const rows = readNow(db, query.sql, parameters);
    if (rows) return rows as R[];
    const result = await db.executeQuery<R>({ ...query, parameters });
    return result.rows;
  };
}
