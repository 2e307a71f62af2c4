/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and typed against no app schema */
import { sql, type Kysely } from 'kysely';

// The default listing (live notes, not archived, newest first) and its total read only this
// index: a partial index over live notes, so counting a page's total does not visit the rows.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index notes_live_updated_idx on notes (owner_id, archived, updated_at, id) where deleted_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists notes_live_updated_idx`.execute(db);
}
