import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { ConfigError } from '../config.js';
import type { DB } from './tables.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** PostgreSQL only: the pool, for LISTEN/NOTIFY and pool metrics. */
  readonly pool?: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connections per process. */
  poolSize?: number;
  /** PostgreSQL schema to work in (tests give each test its own). */
  schema?: string;
}

/** The file a `sqlite:<path>` URL names (relative paths are taken from the working directory; `sqlite::memory:` is none). */
export function sqlitePath(url: string): string {
  return path.resolve(url.slice('sqlite:'.length));
}

/** Which dialect a Kysely instance speaks (for the few places where SQL differs, all under src/db). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema
export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

// PostgreSQL's bigint (count(*), sums) arrives as text by default; Folio's counts fit in a number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens the database a URL names: SQLite in WAL mode with foreign keys on, or a PostgreSQL pool. */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      ...(options.schema && { options: `-c search_path=${options.schema}` }),
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', pool, close: once(() => db.destroy()) };
  }
  if (!url.startsWith('sqlite:')) {
    throw new ConfigError('FOLIO_DATABASE_URL must be sqlite:<path> or postgres://…');
  }
  const memory = url === 'sqlite::memory:';
  const file = memory ? ':memory:' : sqlitePath(url);
  if (!memory) mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed write survives the process being killed; only a power cut
  // can lose the last transactions, and never corrupts the file.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: once(() => db.destroy()) };
}

/** Closing twice is harmless (a shutdown path and a test clean-up may both do it). */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
