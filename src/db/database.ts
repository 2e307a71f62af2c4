import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type pg from 'pg';
import { ConfigError } from '../config.js';
import { GroupCommitDialect } from './group-commit.js';
import { useGroupCommit } from './transaction.js';
import type { DB } from './tables.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** PostgreSQL only: the pool, for LISTEN/NOTIFY and pool metrics. */
  readonly pool?: pg.Pool;
  /**
   * SQLite only: a number that changes whenever another connection (another process) commits,
   * so a process can keep what it read until someone else may have changed it.
   */
  readonly dataVersion?: () => number;
  /**
   * SQLite only: an online backup into `file`, page by page (better-sqlite3's `backup`), which
   * stays consistent while other connections and processes write; see src/cli/backup.ts.
   */
  readonly backup?: (file: string, options?: SQLite.BackupOptions) => Promise<SQLite.BackupMetadata>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connections per process. */
  poolSize?: number;
  /** PostgreSQL schema to work in (tests give each test its own). */
  schema?: string;
  /** SQLite's `synchronous` (ADR 0010): `normal` (the default) or `full`. */
  synchronous?: 'normal' | 'full';
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

let postgresDriver: typeof pg | undefined;

/** The PostgreSQL driver, loaded when first needed: a SQLite server starts without it. */
function loadPg(): typeof pg {
  if (!postgresDriver) {
    postgresDriver = createRequire(import.meta.url)('pg') as typeof pg;
    // PostgreSQL's bigint (count(*), sums) arrives as text by default; Folio's counts fit in a number.
    postgresDriver.types.setTypeParser(postgresDriver.types.builtins.INT8, (value) => Number(value));
  }
  return postgresDriver;
}

/** Opens the database a URL names: SQLite in WAL mode with foreign keys on, or a PostgreSQL pool. */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new (loadPg().Pool)({
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
  // NORMAL in WAL mode: a committed write survives the process being killed (test/durability),
  // only a power cut can lose the last transactions, and never corrupts the file. FULL also
  // survives the power cut, for an fsync per commit (ADR 0010).
  sqlite.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const dialect = new GroupCommitDialect(sqlite, reusingStatements(sqlite));
  const db = new Kysely<DB>({ dialect });
  useGroupCommit(db, dialect);
  const version = sqlite.prepare('pragma data_version').pluck();
  // Read once per turn of the event loop: the requests that arrived together share one read (a
  // pragma costs as much as a small query), and a commit elsewhere is seen from the next turn.
  let current: number | undefined;
  const forget = () => {
    current = undefined;
  };
  return {
    db,
    dialect: 'sqlite',
    dataVersion: () => {
      if (current === undefined) {
        current = version.get() as number;
        setImmediate(forget);
      }
      return current;
    },
    backup: (destination, backupOptions) => sqlite.backup(destination, backupOptions),
    close: once(() => db.destroy()),
  };
}

/** Queries a process runs are few and repeated: beyond this many, the cache starts over. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely prepares every query it runs; preparing costs more than running a short query, so each
 * statement is prepared once per SQL text and kept (a statement still being iterated is not
 * shared: a fresh one is prepared).
 */
function reusingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(sql);
      if (!cached) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Closing twice is harmless (a shutdown path and a test clean-up may both do it). */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
