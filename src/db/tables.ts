import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** ISO-8601 UTC text (`2026-11-21T10:00:00.000Z`): sorts as it reads, the same on every dialect. */
type Timestamp = string;

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  password_hash: string;
  created_at: ColumnType<Timestamp, Timestamp, never>;
  updated_at: Timestamp;
  /** The number of this user's latest change (see `changes`). */
  change_seq: Generated<number>;
  /** Changes up to this number have been forgotten: older cursors must resync. */
  sync_floor: Generated<number>;
}

/** A session is one sign-in; access tokens name it so it can be revoked as a whole. */
export interface SessionsTable {
  id: Generated<number>;
  user_id: number;
  created_at: ColumnType<Timestamp, Timestamp, never>;
  last_used_at: Timestamp;
  user_agent: string | null;
  revoked_at: Timestamp | null;
}

export interface NotesTable {
  id: Generated<number>;
  owner_id: number;
  title: string;
  content: string;
  /** The note's tags as a JSON array, in the order given; `note_tags` indexes them. */
  tags: string;
  pinned: number;
  archived: number;
  version: number;
  created_at: ColumnType<Timestamp, Timestamp, never>;
  updated_at: Timestamp;
  /** In the trash since then; null for a live note. */
  deleted_at: Timestamp | null;
}

export interface NoteTagsTable {
  note_id: number;
  owner_id: number;
  tag: string;
}

/** A refresh token, stored only as its SHA-256; spent once used (rotation). */
export interface RefreshTokensTable {
  id: Generated<number>;
  session_id: number;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  spent_at: Timestamp | null;
}

/** Access tokens revoked before they expire (logout), by JWT id. */
export interface RevokedTokensTable {
  jti: string;
  expires_at: Timestamp;
}

export interface ApiKeysTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  key_hash: string;
  /** The first characters of the key, shown so a person can tell keys apart. */
  prefix: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: ColumnType<Timestamp, Timestamp, never>;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

/** A local user's account at an external identity provider (OIDC). */
export interface IdentitiesTable {
  issuer: string;
  subject: string;
  user_id: number;
  created_at: Timestamp;
}

/** The change feed, one row per note with its latest change (a compacted log). */
export interface ChangesTable {
  owner_id: number;
  seq: number;
  note_id: number;
  op: 'upsert' | 'delete';
  changed_at: Timestamp;
}

export interface IdempotencyKeysTable {
  owner_id: number;
  key: string;
  request_hash: string;
  status: number;
  /** JSON object of the headers to replay (Location, ETag). */
  headers: string;
  body: string;
  created_at: Timestamp;
}

export interface WebhooksTable {
  id: Generated<number>;
  owner_id: number;
  url: string;
  secret: string;
  /** JSON array of event types. */
  events: string;
  created_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  message_id: string;
  event: string;
  payload: string;
  state: 'pending' | 'succeeded' | 'failed';
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  delivered_at: Timestamp | null;
}

/** The SQLite FTS5 index of notes (rowid = notes.id); only src/db/search.ts writes it. */
export interface NotesFtsTable {
  rowid: number;
  title: string;
  content: string;
  tags: string;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  notes: NotesTable;
  note_tags: NoteTagsTable;
  notes_fts: NotesFtsTable;
  refresh_tokens: RefreshTokensTable;
  revoked_tokens: RevokedTokensTable;
  api_keys: ApiKeysTable;
  identities: IdentitiesTable;
  changes: ChangesTable;
  idempotency_keys: IdempotencyKeysTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type NoteRow = Selectable<NotesTable>;
