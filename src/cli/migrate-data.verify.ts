import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { dialectOf } from '../db/database.js';
import type { DB } from '../db/tables.js';
import { TEXT_KEYS, type Row, type Table } from './migrate-data.tables.js';

// Reading a table back in key order, and the counts and checksums that prove a copy whole.

const BATCH = 500;

export interface Checked {
  rows: number;
  sha256: string;
}

export interface TableReport {
  table: string;
  source: Checked;
  target: Checked;
}

export async function count(db: Kysely<DB>, name: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(name)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/** A table's rows in primary-key order, BATCH at a time (keyset paging, so every batch is an index seek). */
export async function* batches(db: Kysely<DB>, table: Table): AsyncGenerator<Row[]> {
  const postgres = dialectOf(db) === 'postgres';
  const key = sql.join(
    table.key.map((c) => (postgres && TEXT_KEYS.has(c) ? sql`${sql.ref(c)} collate "C"` : sql.ref(c))),
  );
  let after: RawBuilder<unknown> = sql``;
  for (;;) {
    const { rows } = await sql<Row>`select ${sql.join(table.columns.map((c) => sql.ref(c)))}
      from ${sql.table(table.name)} ${after} order by ${key} limit ${BATCH}`.execute(db);
    if (rows.length > 0) yield rows;
    if (rows.length < BATCH) return;
    const last = rows[rows.length - 1]!;
    after = sql`where (${key}) > (${sql.join(table.key.map((c) => last[c]))})`;
  }
}

/** One row as a line of JSON, its columns in the table's order: numbers stay numbers, text text, null null. */
export function serialize(table: Table, row: Row): string {
  return `${JSON.stringify(table.columns.map((c) => normalize(row[c])))}\n`;
}

function normalize(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (typeof value === 'number' || typeof value === 'string') return value;
  return String(value);
}

export async function checksum(db: Kysely<DB>, table: Table): Promise<Checked> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const batch of batches(db, table)) {
    for (const row of batch) hash.update(serialize(table, row));
    rows += batch.length;
  }
  return { rows, sha256: hash.digest('hex') };
}

export function matches({ source, target }: TableReport): boolean {
  return source.rows === target.rows && source.sha256 === target.sha256;
}

export function printReport(report: TableReport[]): void {
  const width = Math.max(...report.map((entry) => entry.table.length));
  console.log(`${'table'.padEnd(width)}  ${'rows'.padStart(9)}  checksum`);
  for (const entry of report) {
    const { source, target } = entry;
    const rows = source.rows === target.rows ? String(target.rows) : `${target.rows}≠${source.rows}`;
    const verdict = matches(entry)
      ? 'ok'
      : `MISMATCH (source ${source.sha256.slice(0, 12)}…, copy ${target.sha256.slice(0, 12)}…)`;
    console.log(`${entry.table.padEnd(width)}  ${rows.padStart(9)}  ${verdict}`);
  }
}
