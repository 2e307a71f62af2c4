import type { DB } from '../db/tables.js';

// What `folio migrate-data` copies: every table, each column, in an order both dialects read alike.

type Copied = Exclude<keyof DB, 'notes_fts'>;
type Column<T extends Copied> = keyof DB[T] & string;
export type Row = Record<string, unknown>;

export interface Table<T extends Copied = Copied> {
  name: T;
  /** Every column, in the order the checksum reads them. */
  columns: readonly string[];
  /** The primary key: the order rows are copied and checksummed in. */
  key: readonly string[];
}

/** A table to copy; the compiler refuses a column list that misses a column of tables.ts. */
function table<T extends Copied, const C extends readonly Column<T>[]>(
  name: T,
  columns: C &
    ([Exclude<Column<T>, C[number]>] extends [never] ? unknown : { missing: Exclude<Column<T>, C[number]> }),
  key: readonly C[number][],
): Table<T> {
  return { name, columns, key };
}

/** The list of tables; the compiler refuses one that misses a table of tables.ts. */
function everyTable<const L extends readonly Table[]>(
  tables: L &
    ([Exclude<Copied, L[number]['name']>] extends [never]
      ? unknown
      : { missing: Exclude<Copied, L[number]['name']> }),
): L {
  return tables;
}

/** Every Folio table, parents before children: the order of the copy. */
export const TABLES = everyTable([
  table(
    'users',
    ['id', 'username', 'email', 'password_hash', 'created_at', 'updated_at', 'change_seq', 'sync_floor'],
    ['id'],
  ),
  table('sessions', ['id', 'user_id', 'created_at', 'last_used_at', 'user_agent', 'revoked_at'], ['id']),
  table('refresh_tokens', ['id', 'session_id', 'token_hash', 'created_at', 'expires_at', 'spent_at'], ['id']),
  table('revoked_tokens', ['jti', 'expires_at'], ['jti']),
  table(
    'api_keys',
    ['id', 'user_id', 'name', 'key_hash', 'prefix', 'scopes', 'created_at', 'expires_at', 'last_used_at'],
    ['id'],
  ),
  table('identities', ['issuer', 'subject', 'user_id', 'created_at'], ['issuer', 'subject']),
  // Not search_vector (PostgreSQL generates it from the row), and notes_fts (SQLite) is rebuilt.
  table(
    'notes',
    [
      'id',
      'owner_id',
      'title',
      'content',
      'tags',
      'pinned',
      'archived',
      'version',
      'created_at',
      'updated_at',
      'deleted_at',
    ],
    ['id'],
  ),
  table('note_tags', ['note_id', 'owner_id', 'tag'], ['note_id', 'tag']),
  table('changes', ['owner_id', 'seq', 'note_id', 'op', 'changed_at'], ['owner_id', 'seq']),
  table(
    'idempotency_keys',
    ['owner_id', 'key', 'request_hash', 'status', 'headers', 'body', 'created_at'],
    ['owner_id', 'key'],
  ),
  table('webhooks', ['id', 'owner_id', 'url', 'secret', 'events', 'created_at'], ['id']),
  table(
    'webhook_deliveries',
    [
      'id',
      'webhook_id',
      'message_id',
      'event',
      'payload',
      'state',
      'attempts',
      'next_attempt_at',
      'last_status',
      'last_error',
      'created_at',
      'delivered_at',
    ],
    ['id'],
  ),
]);

// Key columns holding text. PostgreSQL sorts them byte-wise here (collate "C"), as SQLite does,
// so both dialects read rows in one order and the checksums can match.
export const TEXT_KEYS = new Set(['jti', 'issuer', 'subject', 'tag', 'key']);
