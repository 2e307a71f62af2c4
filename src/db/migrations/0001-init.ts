/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and typed against no app schema */
import { sql, type Kysely } from 'kysely';
import { autoId, isPostgres } from './dialect.js';

// Frozen in time: this file must keep producing the same schema, so it imports nothing of the app
// (only ./dialect.js, which is frozen the same way).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await sql`create unique index users_username_key on users (lower(username))`.execute(db);
  await sql`create unique index users_email_key on users (lower(email))`.execute(db);

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('notes')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('pinned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // One index per sort order a listing offers, each ending in id so keyset pages are exact.
  await db.schema
    .createIndex('notes_owner_updated_idx')
    .on('notes')
    .columns(['owner_id', 'updated_at', 'id'])
    .execute();
  await db.schema
    .createIndex('notes_owner_created_idx')
    .on('notes')
    .columns(['owner_id', 'created_at', 'id'])
    .execute();
  await sql`create index notes_owner_title_idx on notes (owner_id, lower(title), id)`.execute(db);

  await db.schema
    .createTable('note_tags')
    .addColumn('note_id', 'integer', (c) => c.notNull().references('notes.id').onDelete('cascade'))
    .addColumn('owner_id', 'integer', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('note_tags_pkey', ['note_id', 'tag'])
    .execute();
  await db.schema
    .createIndex('note_tags_owner_tag_idx')
    .on('note_tags')
    .columns(['owner_id', 'tag', 'note_id'])
    .execute();

  // Full-text index, written by the notes store in the same transaction as the note.
  // No stemmer: queries match words by their beginning, which a stem would cut short ("runni"
  // must still find "running").
  if (isPostgres(db)) {
    // A generated, weighted tsvector (title A, tags B, content C) with a GIN index: PostgreSQL
    // keeps it in step with the row by itself.
    await sql`alter table notes add column search_vector tsvector generated always as (
      setweight(to_tsvector('simple', title), 'A') ||
      setweight(to_tsvector('simple', tags), 'B') ||
      setweight(to_tsvector('simple', content), 'C')) stored`.execute(db);
    await sql`create index notes_search_idx on notes using gin (search_vector)`.execute(db);
    return;
  }
  // SQLite: an FTS5 table the notes store writes in each note's transaction. Diacritics fold, so
  // "cafe" finds "café".
  await sql`create virtual table notes_fts using fts5(title, content, tags, tokenize = 'unicode61 remove_diacritics 2')`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists notes_fts`.execute(db);
  for (const table of ['note_tags', 'notes', 'sessions', 'users'])
    await db.schema.dropTable(table).ifExists().execute();
}
