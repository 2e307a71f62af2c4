/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and typed against no app schema */
import { sql, type Kysely } from 'kysely';
import { autoId } from './dialect.js';

// Frozen in time: this file must keep producing the same schema, so it imports nothing of the app
// (only ./dialect.js, which is frozen the same way).

export async function up(db: Kysely<any>): Promise<void> {
  // The trash: a note with deleted_at is out of listings and search until restored or purged.
  await db.schema.alterTable('notes').addColumn('deleted_at', 'text').execute();
  await sql`create index notes_owner_deleted_idx on notes (owner_id, deleted_at)`.execute(db);

  // Each user's change sequence: bumped in every write's transaction, so a user's changes are
  // numbered in commit order on every database. sync_floor: the last change number forgotten.
  await db.schema
    .alterTable('users')
    .addColumn('change_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('sync_floor', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // The change feed, compacted: one row per note, carrying its latest change number.
  await db.schema
    .createTable('changes')
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('note_id', 'integer', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('changes_pkey', ['owner_id', 'seq'])
    .execute();
  await db.schema
    .createIndex('changes_note_idx')
    .on('changes')
    .columns(['owner_id', 'note_id'])
    .unique()
    .execute();

  // Idempotency-Key: the first answer to a create, replayed to retries for 24 hours.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['owner_id', 'key'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_owner_idx').on('webhooks').column('owner_id').execute();

  // The outbox: written in the same transaction as the change, delivered (and retried) after.
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('webhook_id', 'integer', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due_idx')
    .on('webhook_deliveries')
    .columns(['state', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_hook_idx')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['webhook_deliveries', 'webhooks', 'idempotency_keys', 'changes']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop index if exists notes_owner_deleted_idx`.execute(db);
  await db.schema.alterTable('notes').dropColumn('deleted_at').execute();
  await db.schema.alterTable('users').dropColumn('sync_floor').execute();
  await db.schema.alterTable('users').dropColumn('change_seq').execute();
}
