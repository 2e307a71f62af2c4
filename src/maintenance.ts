import type { Kysely } from 'kysely';
import { pruneAuthState } from './auth/sessions.store.js';
import type { Config } from './config.js';
import type { DB } from './db/tables.js';
import { pruneIdempotencyKeys } from './http/idempotency.js';
import { purgeTrash } from './notes/notes.store.js';
import { pruneChanges } from './sync/changes.store.js';

/**
 * The periodic clean-up, hourly while serving: trash past its days, deletions the change feed
 * no longer needs, answers kept for Idempotency-Key retries, expired tokens. Each step is safe
 * to run on several instances at once.
 */
export async function runMaintenance(
  db: Kysely<DB>,
  config: Pick<Config, 'trashDays' | 'syncRetentionDays'>,
): Promise<void> {
  await purgeTrash(db, config.trashDays);
  await pruneChanges(db, config.syncRetentionDays);
  await pruneIdempotencyKeys(db);
  await pruneAuthState(db);
}
