import type { Kysely } from 'kysely';
import { compiledOnce } from '../db/compiled.js';
import type { DB } from '../db/tables.js';
import { inTransaction } from '../db/transaction.js';
import { createNote, NOTE_DEFAULTS } from '../notes/notes.store.js';
import type { ExportedNote, ImportedNote } from './export.schemas.js';

/** Notes per page of an export, and per transaction of an import. */
export const BATCH_SIZE = 500;

/** Where an export has got to: the last note written (keyset paging). */
export interface ExportPosition {
  createdAt: string;
  id: number;
}

// Oldest first, paged by (created_at, id): notes_owner_created_idx holds exactly that order, so
// every page is one index seek however many notes came before it.
const selectPage = compiledOnce((db, ownerId: number, createdAt: string, id: number, limit: number) =>
  db
    .selectFrom('notes')
    .select(['id', 'title', 'content', 'tags', 'pinned', 'archived', 'created_at', 'updated_at'])
    .where('owner_id', '=', ownerId)
    .where('deleted_at', 'is', null)
    .where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(createdAt, id)))
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit),
);

/** One page of the owner's notes not in the trash, after `after` (from the start when undefined). */
export async function exportPage(
  db: Kysely<DB>,
  ownerId: number,
  after: ExportPosition | undefined,
  limit = BATCH_SIZE,
): Promise<{ notes: ExportedNote[]; last: ExportPosition | undefined }> {
  // '' sorts before every time, and 0 before every id.
  const rows = await selectPage(db, ownerId, after?.createdAt ?? '', after?.id ?? 0, limit);
  const notes = rows.map((row) => ({
    title: row.title,
    content: row.content,
    tags: JSON.parse(row.tags) as string[],
    pinned: row.pinned === 1,
    archived: row.archived === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
  const lastRow = rows.at(-1);
  return { notes, last: lastRow && { createdAt: lastRow.created_at, id: lastRow.id } };
}

/** How many notes an export of the owner holds (for a progress bar). */
export async function countExported(db: Kysely<DB>, ownerId: number): Promise<number> {
  const row = await db
    .selectFrom('notes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('owner_id', '=', ownerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Times as the database keeps them: ISO-8601 UTC with milliseconds, which sort as they read. */
function canonicalTime(text: string): string {
  return new Date(text).toISOString();
}

/**
 * Adds imported notes (already validated against ImportedNote) to the owner, in one transaction,
 * through the notes store: each gets its tags, search entry and a change in the feed, so syncing
 * clients and webhooks see it as a new note. Times given are kept; missing ones are now.
 */
export function importNotes(db: Kysely<DB>, ownerId: number, notes: readonly ImportedNote[]): Promise<void> {
  return inTransaction(db, async (trx) => {
    for (const note of notes) {
      const now = new Date().toISOString();
      const createdAt = note.created_at ?? note.updated_at;
      const updatedAt = note.updated_at ?? note.created_at;
      await createNote(
        trx,
        ownerId,
        { ...NOTE_DEFAULTS, ...note },
        {
          createdAt: createdAt ? canonicalTime(createdAt) : now,
          updatedAt: updatedAt ? canonicalTime(updatedAt) : now,
        },
      );
    }
  });
}
