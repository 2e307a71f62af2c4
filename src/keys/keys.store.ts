import type { Kysely } from 'kysely';
import { authChanged } from '../auth/auth.cache.js';
import { hashSecret, newSecret } from '../auth/secrets.js';
import type { DB } from '../db/tables.js';
import type { ApiKey, Scope } from './keys.schemas.js';

/** Every key starts so, which tells a key from a JWT in a Bearer header (and secret scanners find it). */
export const KEY_PREFIX = 'folio_';

type KeyRow = {
  id: number;
  name: string;
  prefix: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
};

function toApiKey(row: KeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
  };
}

const COLUMNS = ['id', 'name', 'prefix', 'scopes', 'created_at', 'expires_at', 'last_used_at'] as const;

/** Creates a key; the secret is returned this once and only its hash is kept. */
export async function createKey(
  db: Kysely<DB>,
  userId: number,
  input: { name: string; scopes: readonly Scope[]; expiresAt: string | null },
): Promise<ApiKey & { key: string }> {
  const key = newSecret(KEY_PREFIX);
  const row = await db
    .insertInto('api_keys')
    .values({
      user_id: userId,
      name: input.name,
      key_hash: hashSecret(key),
      prefix: key.slice(0, KEY_PREFIX.length + 4),
      scopes: JSON.stringify(input.scopes),
      created_at: new Date().toISOString(),
      expires_at: input.expiresAt,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return { ...toApiKey(row), key };
}

export async function listKeys(db: Kysely<DB>, userId: number): Promise<ApiKey[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select(COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
  return rows.map(toApiKey);
}

export async function deleteKey(db: Kysely<DB>, userId: number, id: number): Promise<boolean> {
  const result = await db
    .deleteFrom('api_keys')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  authChanged();
  return result.numDeletedRows > 0n;
}

/** The key a secret belongs to, found by its hash; undefined for no such key. */
export async function findKey(
  db: Kysely<DB>,
  secret: string,
): Promise<
  | { id: number; userId: number; scopes: Scope[]; expiresAt: string | null; lastUsedAt: string | null }
  | undefined
> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'user_id', 'scopes', 'expires_at', 'last_used_at'])
    .where('key_hash', '=', hashSecret(secret))
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      userId: row.user_id,
      scopes: JSON.parse(row.scopes) as Scope[],
      expiresAt: row.expires_at,
      lastUsedAt: row.last_used_at,
    }
  );
}

export async function markKeyUsed(db: Kysely<DB>, id: number, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
