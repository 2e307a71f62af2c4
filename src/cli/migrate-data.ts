import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import { dialectOf, openDatabase, sqlitePath, type Database } from '../db/database.js';
import { migrateToLatest, migrator } from '../db/migrate.js';
import { indexNote } from '../db/search.js';
import type { DB } from '../db/tables.js';
import { TABLES, type Row, type Table } from './migrate-data.tables.js';
import {
  batches,
  checksum,
  count,
  matches,
  printReport,
  serialize,
  type Checked,
  type TableReport,
} from './migrate-data.verify.js';

/** A refusal or a failure, told as one line; the command exits 1. */
class Failure extends Error {}

interface Opened {
  database: Database;
  /** PostgreSQL: the schema the URL works in (its search_path), where the migrations are recorded. */
  schema: string | undefined;
}

/** Thrown inside the target's transaction so that a copy that does not verify is rolled back. */
class VerificationFailed extends Error {
  constructor(readonly report: TableReport[]) {
    super('verification failed');
  }
}

/** `folio migrate-data`: copies every row of one Folio database into another, empty one, and verifies the copy. */
export async function migrateDataCommand(from: string, to: string): Promise<number> {
  for (const [flag, url] of [
    ['--from', from],
    ['--to', to],
  ] as const) {
    if (!/^(sqlite:.+|postgres(ql)?:\/\/.*)$/.test(url)) {
      console.error(`folio: ${flag} must be sqlite:<path> or postgres://…, not "${shown(url)}"`);
      return 2;
    }
  }
  if (to === 'sqlite::memory:') {
    console.error('folio: --to sqlite::memory: would lose the copy when the command ends');
    return 2;
  }
  if (from.startsWith('sqlite:') && to.startsWith('sqlite:') && sqlitePath(from) === sqlitePath(to)) {
    console.error('folio: --from and --to name the same database');
    return 2;
  }
  // Checked first: opening a SQLite file that is not there would create it.
  if (from.startsWith('sqlite:') && !existsSync(sqlitePath(from))) {
    console.error(`folio: the source database ${sqlitePath(from)} does not exist`);
    return 1;
  }
  let source: Opened | undefined;
  let target: Opened | undefined;
  const progress = progressBar(process.stderr);
  try {
    source = await open(from, 'source');
    await requireLatest(source);
    target = await open(to, 'target');
    await requireEmpty(target);
    await migrateToLatest(target.database.db, target.schema);
    const report = await copyAll(source.database, target.database, progress);
    printReport(report);
    const rows = report.reduce((sum, entry) => sum + entry.target.rows, 0);
    console.log(`copied ${rows} rows from ${shown(from)} to ${shown(to)}; every count and checksum matches`);
    return 0;
  } catch (error) {
    progress.interrupt();
    if (error instanceof VerificationFailed) {
      printReport(error.report);
      const failed = error.report.filter((entry) => !matches(entry)).map((entry) => entry.table);
      console.error(`folio: the copy does not match the source in ${failed.join(', ')}; it was rolled back`);
      return 1;
    }
    if (error instanceof Failure) {
      console.error(`folio: ${error.message}`);
      return 1;
    }
    console.error(`folio: migrate-data failed, nothing was copied: ${reason(error)}`);
    return 1;
  } finally {
    await target?.database.close();
    await source?.database.close();
  }
}

async function open(url: string, role: 'source' | 'target'): Promise<Opened> {
  try {
    const database = openDatabase(url, { poolSize: 2 });
    if (database.dialect === 'sqlite') {
      await sql`select 1`.execute(database.db);
      return { database, schema: undefined };
    }
    try {
      const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
        database.db,
      );
      const schema = rows[0]?.schema;
      if (!schema) throw new Error('its search_path names no schema that exists');
      return { database, schema };
    } catch (error) {
      await database.close();
      throw error;
    }
  } catch (error) {
    throw new Failure(`cannot open the ${role} database ${shown(url)}: ${reason(error)}`);
  }
}

async function requireLatest({ database, schema }: Opened): Promise<void> {
  const migrations = await migrator(database.db, schema).getMigrations();
  const pending = migrations.filter((migration) => migration.executedAt === undefined);
  if (pending.length > 0) {
    throw new Failure(
      `the source database is not at the latest schema (${pending.map((m) => m.name).join(', ')} not applied): run folio migrate on the source first`,
    );
  }
}

async function requireEmpty({ database, schema }: Opened): Promise<void> {
  const present = new Set(
    (await database.db.introspection.getTables())
      .filter((found) => schema === undefined || found.schema === schema)
      .map((found) => found.name),
  );
  const occupied: string[] = [];
  for (const { name } of TABLES) {
    if (!present.has(name)) continue;
    const { rows } = await sql`select 1 from ${sql.table(name)} limit 1`.execute(database.db);
    if (rows.length > 0) occupied.push(name);
  }
  if (occupied.length > 0) {
    throw new Failure(
      `the target database is not empty (rows in ${occupied.join(', ')}); migrate-data only writes into an empty one`,
    );
  }
}

/**
 * Copies every table inside one transaction on the target, reading the source in one snapshot,
 * then reads the copy back and compares counts and checksums; a mismatch rolls it all back.
 */
async function copyAll(source: Database, target: Database, progress: Progress): Promise<TableReport[]> {
  return snapshot(source, (from) =>
    target.db.transaction().execute(async (to) => {
      const copied = new Map<string, Checked>();
      for (const table of TABLES) {
        const total = await count(from, table.name);
        const hash = createHash('sha256');
        let rows = 0;
        progress.update(table.name, rows, total);
        for await (const batch of batches(from, table)) {
          await insertRows(to, table, batch);
          for (const row of batch) hash.update(serialize(table, row));
          rows += batch.length;
          progress.update(table.name, rows, total);
        }
        progress.finish(table.name, rows, total);
        copied.set(table.name, { rows, sha256: hash.digest('hex') });
      }
      await moveIdCounters(from, to);
      if (target.dialect === 'sqlite') await rebuildSearchIndex(to, progress);
      const report: TableReport[] = [];
      for (const table of TABLES) {
        progress.update('verifying', report.length, TABLES.length);
        report.push({
          table: table.name,
          source: copied.get(table.name)!,
          target: await checksum(to, table),
        });
      }
      progress.finish('verifying', report.length, TABLES.length);
      if (!report.every(matches)) throw new VerificationFailed(report);
      return report;
    }),
  );
}

/** Writes one batch of rows; a failure names its table and rolls the whole copy back. */
async function insertRows(db: Kysely<DB>, table: Table, rows: Row[]): Promise<void> {
  const columns = sql.join(table.columns.map((c) => sql.ref(c)));
  const values = sql.join(rows.map((row) => sql`(${sql.join(table.columns.map((c) => row[c]))})`));
  try {
    await sql`insert into ${sql.table(table.name)} (${columns}) values ${values}`.execute(db);
  } catch (error) {
    throw new Failure(`copying ${table.name} failed, so nothing was copied: ${reason(error)}`);
  }
}

/** Runs `read` in one read transaction: a consistent copy even while a server still writes to the source. */
function snapshot<T>(source: Database, read: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  const transaction = source.db.transaction();
  // SQLite in WAL mode: a read transaction already sees one snapshot.
  return source.dialect === 'postgres'
    ? transaction.setIsolationLevel('repeatable read').setAccessMode('read only').execute(read)
    : transaction.execute(read);
}

// Where the dialects differ: how far each table's id counter has gone. It is carried over rather
// than taken from max(id), so an id the source gave out and then lost (a purged note, whose
// tombstone stays in the change feed) is never handed out again on the target.

async function idHighWater(db: Kysely<DB>, name: string): Promise<number> {
  const { rows } =
    dialectOf(db) === 'postgres'
      ? await sql<{
          seq: number | null;
        }>`select pg_sequence_last_value(pg_get_serial_sequence(${name}, 'id')::regclass) as seq`.execute(db)
      : await sql<{ seq: number | null }>`select seq from sqlite_sequence where name = ${name}`.execute(db);
  const { rows: max } = await sql<{
    id: number | null;
  }>`select max(id) as id from ${sql.table(name)}`.execute(db);
  return Math.max(Number(rows[0]?.seq ?? 0), Number(max[0]?.id ?? 0));
}

async function moveIdCounters(from: Kysely<DB>, to: Kysely<DB>): Promise<void> {
  const postgres = dialectOf(to) === 'postgres';
  for (const { name, key } of TABLES) {
    if (key.join() !== 'id') continue;
    const high = Math.max(await idHighWater(from, name), await idHighWater(to, name));
    if (postgres) {
      await sql`select setval(pg_get_serial_sequence(${name}, 'id'), ${high + 1}, false)`.execute(to);
    } else if (high > 0) {
      await sql`delete from sqlite_sequence where name = ${name}`.execute(to);
      await sql`insert into sqlite_sequence (name, seq) values (${name}, ${high})`.execute(to);
    }
  }
}

/** SQLite's search index is not part of the copy: it is written again from the notes. */
async function rebuildSearchIndex(db: Kysely<DB>, progress: Progress): Promise<void> {
  const notes = TABLES.find((t) => t.name === 'notes')!;
  const total = await count(db, 'notes');
  let done = 0;
  progress.update('search index', done, total);
  for await (const batch of batches(db, notes)) {
    for (const note of batch) {
      const { id, title, content, tags } = note as {
        id: number;
        title: string;
        content: string;
        tags: string;
      };
      await indexNote(db, { id, title, content, tags: JSON.parse(tags) as string[] });
    }
    done += batch.length;
    progress.update('search index', done, total);
  }
  progress.finish('search index', done, total);
}

interface Progress {
  update(label: string, done: number, total: number): void;
  finish(label: string, done: number, total: number): void;
  /** Ends a bar left half drawn, so that an error starts on a line of its own. */
  interrupt(): void;
}

/** Progress on `stream`: a bar redrawn in place on a terminal; otherwise one line per finished step. */
function progressBar(stream: NodeJS.WriteStream): Progress {
  const tty = stream.isTTY === true;
  let drawn = false;
  const line = (label: string, done: number, total: number) => {
    const ratio = total === 0 ? 1 : Math.min(done / total, 1);
    const filled = Math.round(ratio * 30);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(30 - filled)}`;
    const counted = `${String(done).padStart(String(total).length)}/${total}`;
    return `${label.padEnd(18)} [${bar}] ${counted} ${String(Math.floor(ratio * 100)).padStart(3)}%`;
  };
  return {
    update: (label, done, total) => {
      if (tty) stream.write(`\r${line(label, done, total)}`);
      drawn = tty;
    },
    finish: (label, done, total) => {
      stream.write(`${tty ? '\r' : ''}${line(label, done, total)}\n`);
      drawn = false;
    },
    interrupt: () => {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** A database URL fit to print: a PostgreSQL password is masked. */
function shown(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}

/** An error as a few words: pg reports a refused connection to several addresses as an AggregateError. */
function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0]);
  if (error instanceof Error) return error.message || ('code' in error ? String(error.code) : error.name);
  return String(error);
}
