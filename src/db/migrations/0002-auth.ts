/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen in time and typed against no app schema */
import type { Kysely } from 'kysely';
import { autoId } from './dialect.js';

// Frozen in time: this file must keep producing the same schema, so it imports nothing of the app
// (only ./dialect.js, which is frozen the same way).

export async function up(db: Kysely<any>): Promise<void> {
  // One row per refresh token; a session is the family of tokens descended from one sign-in.
  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('session_id', 'integer', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('spent_at', 'text')
    .execute();
  await db.schema
    .createIndex('refresh_tokens_session_idx')
    .on('refresh_tokens')
    .column('session_id')
    .execute();

  // Access tokens revoked before their expiry (logout), by JWT id; kept until they would have expired.
  await db.schema
    .createTable('revoked_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('api_keys_user_idx').on('api_keys').column('user_id').execute();

  // Accounts of an external identity provider (OIDC), by issuer and subject.
  await db.schema
    .createTable('identities')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('identities_pkey', ['issuer', 'subject'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['identities', 'api_keys', 'revoked_tokens', 'refresh_tokens']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
