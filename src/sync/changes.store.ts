import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { compiledOnce } from '../db/compiled.js';
import type { DB, NoteRow } from '../db/tables.js';
import { AppError } from '../errors.js';
import type { Note } from '../notes/notes.schemas.js';
import { enqueueDeliveries, type WebhookEvent } from '../webhooks/webhooks.store.js';

export type ChangeOp = 'upsert' | 'delete';

const bumpChangeSeq = compiledOnce((db, ownerId: number) =>
  db
    .updateTable('users')
    .set({ change_seq: sql<number>`change_seq + 1` })
    .where('id', '=', ownerId)
    .returning('change_seq'),
);
const upsertChange = compiledOnce(
  (db, ownerId: number, seq: number, noteId: number, op: ChangeOp, changedAt: string) =>
    db
      .insertInto('changes')
      .values({ owner_id: ownerId, seq, note_id: noteId, op, changed_at: changedAt })
      .onConflict((oc) =>
        oc.columns(['owner_id', 'note_id']).doUpdateSet({ seq, op, changed_at: changedAt }),
      ),
);

/**
 * Records that a note changed, inside the write's transaction: bumps the owner's change number
 * (a row update, so concurrent writers of one user are numbered in commit order) and moves the
 * note's one feed row to it. With `event`, webhooks of that event are queued in the same
 * transaction, so a committed change is never without its deliveries.
 */
export async function recordChange(
  trx: Kysely<DB>,
  ownerId: number,
  change: { noteId: number; op: ChangeOp; event?: WebhookEvent; data?: Note | { id: number } },
): Promise<number> {
  const [bumped] = await bumpChangeSeq(trx, ownerId);
  if (!bumped) throw new Error(`user ${ownerId} not found`);
  const seq = bumped.change_seq;
  await upsertChange(trx, ownerId, seq, change.noteId, change.op, new Date().toISOString());
  if (change.event) await enqueueDeliveries(trx, ownerId, change.event, change.data ?? { id: change.noteId });
  return seq;
}

export type Change =
  { cursor: string; op: 'upsert'; note: Note } | { cursor: string; op: 'delete'; id: number };

/** A change cursor is the owner's change number, as text; clients treat it as opaque. */
export function parseCursor(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (!/^\d{1,15}$/.test(text))
    throw new AppError(400, 'validation_failed', 'since is not a cursor this server issued', {
      errors: [{ field: 'since', message: 'is not a cursor this server issued' }],
    });
  return Number(text);
}

/**
 * The owner's changes after a cursor, oldest first: each changed note once, in full, or its id
 * for a deletion (trash or purge). 410 when the cursor is older than what the feed still holds.
 */
export async function listChanges(
  db: Kysely<DB>,
  ownerId: number,
  since: number,
  limit: number,
  toNote: (row: NoteRow) => Note,
): Promise<{ changes: Change[]; nextCursor: string; hasMore: boolean }> {
  const user = await db
    .selectFrom('users')
    .select(['change_seq', 'sync_floor'])
    .where('id', '=', ownerId)
    .executeTakeFirstOrThrow();
  if (since > 0 && since < user.sync_floor) {
    throw new AppError(
      410,
      'resync_required',
      'This cursor is older than the change feed keeps; sync again from the start',
    );
  }
  if (since > user.change_seq) {
    // A cursor from another server or a restored backup: this feed cannot continue it.
    throw new AppError(
      410,
      'resync_required',
      "This cursor is ahead of this server's change feed; sync again from the start",
    );
  }
  const rows = await db
    .selectFrom('changes as c')
    .leftJoin('notes as n', 'n.id', 'c.note_id')
    .select(['c.seq', 'c.op', 'c.note_id'])
    .select([
      'n.id',
      'n.owner_id',
      'n.title',
      'n.content',
      'n.tags',
      'n.pinned',
      'n.archived',
      'n.version',
      'n.created_at',
      'n.updated_at',
      'n.deleted_at',
    ])
    .where('c.owner_id', '=', ownerId)
    .where('c.seq', '>', since)
    .orderBy('c.seq')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const changes = page.map((row): Change => {
    const cursor = String(row.seq);
    if (row.op === 'upsert' && row.id !== null && row.deleted_at === null) {
      return { cursor, op: 'upsert', note: toNote(row as NoteRow) };
    }
    return { cursor, op: 'delete', id: row.note_id };
  });
  return { changes, nextCursor: changes.at(-1)?.cursor ?? String(since), hasMore: rows.length > limit };
}

/**
 * Forgets deletions older than the retention window whose notes are gone for good, and raises
 * each owner's floor past them: a client whose cursor is older must sync from the start.
 */
export async function pruneChanges(db: Kysely<DB>, retentionDays: number): Promise<void> {
  const cutoff = new Date(Date.now() - retentionDays * 86_400_000).toISOString();
  const stale = db
    .selectFrom('changes as c')
    .where('c.op', '=', 'delete')
    .where('c.changed_at', '<', cutoff)
    .where((eb) =>
      eb.not(eb.exists(eb.selectFrom('notes as n').select('n.id').whereRef('n.id', '=', 'c.note_id'))),
    );
  const floors = await stale
    .select(['c.owner_id', (eb) => eb.fn.max('c.seq').as('floor')])
    .groupBy('c.owner_id')
    .execute();
  for (const { owner_id: ownerId, floor } of floors) {
    await db
      .updateTable('users')
      .set({ sync_floor: Number(floor) })
      .where('id', '=', ownerId)
      .where('sync_floor', '<', Number(floor))
      .execute();
    await db
      .deleteFrom('changes as c')
      .where('c.owner_id', '=', ownerId)
      .where('c.op', '=', 'delete')
      .where('c.seq', '<=', Number(floor))
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('notes as n').select('n.id').whereRef('n.id', '=', 'c.note_id'))),
      )
      .execute();
  }
}
