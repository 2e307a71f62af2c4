/* eslint-disable @typescript-eslint/no-explicit-any -- the migrator works on any schema version */
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { settled } from './transaction.js';
import { dialectOf } from './database.js';
import * as m0001 from './migrations/0001-init.js';
import * as m0002 from './migrations/0002-auth.js';
import * as m0003 from './migrations/0003-sync.js';
import * as m0004 from './migrations/0004-live-notes-index.js';

/** Every migration, in order; listed here rather than read from disk so the build carries them. */
const migrations: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-auth': m0002,
  '0003-sync': m0003,
  '0004-live-notes-index': m0004,
};

/** The name of the newest migration this build knows. */
export const LATEST_MIGRATION = Object.keys(migrations).at(-1)!;

/** The migrations this build knows that the database has not applied, in order. */
export async function pendingMigrations(db: Kysely<any>, schema?: string): Promise<string[]> {
  const table = schema ? sql.id(schema, 'kysely_migration') : sql.id('kysely_migration');
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
    applied = new Set(rows.map((row) => row.name));
  } catch {
    applied = new Set(); // no bookkeeping table yet: a new database
  }
  return Object.keys(migrations).filter((name) => !applied.has(name));
}

async function upToDate(db: Kysely<any>, schema: string | undefined): Promise<boolean> {
  return (await pendingMigrations(db, schema)).length === 0;
}

/** `schema`: PostgreSQL, the schema to keep the migration bookkeeping in (tests use one each). */
export function migrator(db: Kysely<any>, schema?: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema && { migrationTableSchema: schema }),
  });
}

/** Brings the schema to the latest version; shared by start-up, `folio migrate` and the tests. */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<MigrationResultSet> {
  // Start-up on an up-to-date database should be quick: the migrator reads the whole schema
  // before it looks at what has been applied, so look first (about 1 ms instead of about 100).
  if (await upToDate(db, schema)) return { results: [] };
  // Kysely looks for its bookkeeping tables in every schema; pin it to the one Folio works in
  // (search_path), or another schema's Folio would be taken for this one's.
  if (schema === undefined && dialectOf(db) === 'postgres') {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    schema = rows[0]?.schema;
  }
  const result = await migrator(db, schema).migrateToLatest();
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  await settled(db); // committed before anyone else (another process) looks
  return result;
}
