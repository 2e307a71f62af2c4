import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ConfigError } from '../config.js';
import type { DB } from './tables.js';

export type Dialect = 'sqlite';

export interface Database {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/** The file a `sqlite:<path>` URL names (relative paths are taken from the working directory; `sqlite::memory:` is none). */
export function sqlitePath(url: string): string {
  return path.resolve(url.slice('sqlite:'.length));
}

/** Opens the database a URL names; SQLite runs in WAL mode with foreign keys on. */
export function openDatabase(url: string): Database {
  if (!url.startsWith('sqlite:')) {
    throw new ConfigError('FOLIO_DATABASE_URL: only sqlite:<path> is supported by this version of Folio');
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
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}
