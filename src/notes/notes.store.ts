import { sql, type Kysely } from 'kysely';
import { indexNote, unindexNote } from '../db/search.js';
import { compiledOnce } from '../db/compiled.js';
import { dialectOf } from '../db/database.js';
import type { DB, NoteRow } from '../db/tables.js';
import { inTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { recordChange } from '../sync/changes.store.js';
import type { Note } from './notes.schemas.js';

// The write side of notes. Every write records its change (the sync feed and webhooks) in its
// own transaction.

/** The fields a client writes; a full set, after defaults and merging. */
export interface NoteFields {
  title: string;
  content: string;
  tags: string[];
  pinned: boolean;
  archived: boolean;
}

export const NOTE_DEFAULTS: Omit<NoteFields, 'title'> = {
  content: '',
  tags: [],
  pinned: false,
  archived: false,
};

/** A condition on the note as it is now (If-Match), checked inside the write's transaction. */
export type Precondition = (current: Note) => boolean;

/** Tags are compared and stored lower-case, once each, in the order first given. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.normalize('NFC').toLowerCase()))];
}

export function toNote(row: NoteRow): Note {
  const note: Note = {
    id: row.id,
    title: row.title,
    content: row.content,
    tags: JSON.parse(row.tags) as string[],
    pinned: row.pinned === 1,
    archived: row.archived === 1,
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  if (row.deleted_at !== null) note.deleted_at = row.deleted_at;
  return note;
}

export function notFound(id: number): AppError {
  // 404, not 403: a foreign id must not reveal that the note exists.
  return new AppError(404, 'not_found', `Note ${id} not found`);
}

export function inTrash(id: number): AppError {
  return new AppError(404, 'in_trash', `Note ${id} is in the trash; restore it first`);
}

const deleteTags = compiledOnce((db, noteId: number) =>
  db.deleteFrom('note_tags').where('note_id', '=', noteId),
);

async function writeTags(
  db: Kysely<DB>,
  noteId: number,
  ownerId: number,
  tags: readonly string[],
  replace = true,
): Promise<void> {
  if (replace) await deleteTags(db, noteId);
  if (tags.length > 0) {
    await db
      .insertInto('note_tags')
      .values(tags.map((tag) => ({ note_id: noteId, owner_id: ownerId, tag })))
      .execute();
  }
}

const insertNote = compiledOnce(
  (
    db,
    ownerId: number,
    title: string,
    content: string,
    tags: string,
    pinned: number,
    archived: number,
    createdAt: string,
    updatedAt: string,
  ) =>
    db
      .insertInto('notes')
      .values({
        owner_id: ownerId,
        title,
        content,
        tags,
        pinned,
        archived,
        version: 1,
        created_at: createdAt,
        updated_at: updatedAt,
      })
      .returningAll(),
);

/** A note's times when it keeps them from elsewhere (an import): ISO-8601 UTC, as toISOString writes. */
export interface NoteTimes {
  createdAt: string;
  updatedAt: string;
}

/**
 * Creates a note for its owner, with its tags, search entry and change, in one transaction. Its
 * times are now, unless `times` carries them over (an import); the change is recorded now either way.
 */
export function createNote(
  db: Kysely<DB>,
  ownerId: number,
  fields: NoteFields,
  times?: NoteTimes,
): Promise<Note> {
  const now = new Date().toISOString();
  const tags = normalizeTags(fields.tags);
  return inTransaction(db, async (trx) => {
    const [row] = await insertNote(
      trx,
      ownerId,
      fields.title,
      fields.content,
      JSON.stringify(tags),
      fields.pinned ? 1 : 0,
      fields.archived ? 1 : 0,
      times?.createdAt ?? now,
      times?.updatedAt ?? now,
    );
    if (!row) throw new Error('insert returned no row');
    // A new note has no tags or search entry to replace.
    await writeTags(trx, row.id, ownerId, tags, false);
    await indexNote(trx, { id: row.id, title: row.title, content: row.content, tags }, false);
    const note = toNote(row);
    await recordChange(trx, ownerId, { noteId: note.id, op: 'upsert', event: 'note.created', data: note });
    return note;
  });
}

/**
 * One of the owner's notes, in the trash or not; undefined for a note that is not theirs. With
 * `lock`, inside a write's transaction, PostgreSQL holds the row until commit, so a concurrent
 * writer waits and then sees this write (If-Match: one winner). SQLite writes one at a time.
 */
export async function findNote(
  db: Kysely<DB>,
  ownerId: number,
  id: number,
  lock = false,
): Promise<Note | undefined> {
  const [row] = await (lock && dialectOf(db) === 'postgres' ? selectNoteForUpdate : selectNote)(
    db,
    id,
    ownerId,
  );
  return row && toNote(row);
}

const selectNote = compiledOnce((db, id: number, ownerId: number) =>
  db.selectFrom('notes').selectAll().where('id', '=', id).where('owner_id', '=', ownerId),
);
const selectNoteForUpdate = compiledOnce((db, id: number, ownerId: number) =>
  db.selectFrom('notes').selectAll().where('id', '=', id).where('owner_id', '=', ownerId).forUpdate(),
);

/** One of the owner's live notes: 404 `not_found`, or `in_trash` for a note in the trash. */
export async function getNote(db: Kysely<DB>, ownerId: number, id: number, lock = false): Promise<Note> {
  const note = await findNote(db, ownerId, id, lock);
  if (!note) throw notFound(id);
  if (note.deleted_at !== undefined) throw inTrash(id);
  return note;
}

function precondition(current: Note, check: Precondition | undefined): void {
  if (check && !check(current)) {
    throw new AppError(
      412,
      'precondition_failed',
      `Note ${current.id} has changed; it is now version ${current.version}`,
      {
        body: { note: current },
      },
    );
  }
}

function sameFields(note: Note, fields: NoteFields): boolean {
  return (
    note.title === fields.title &&
    note.content === fields.content &&
    note.pinned === fields.pinned &&
    note.archived === fields.archived &&
    note.tags.length === fields.tags.length &&
    note.tags.every((tag, i) => tag === fields.tags[i])
  );
}

const rewriteNote = compiledOnce(
  (
    db,
    id: number,
    ownerId: number,
    title: string,
    content: string,
    tags: string,
    pinned: number,
    archived: number,
    now: string,
  ) =>
    db
      .updateTable('notes')
      .set({ title, content, tags, pinned, archived, version: sql<number>`version + 1`, updated_at: now })
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .returningAll(),
);

/**
 * Applies changes to a live note (PUT passes every field, PATCH the merged ones). A change that
 * changes nothing leaves the version and times alone, so clients see no phantom edits.
 */
export function updateNote(
  db: Kysely<DB>,
  ownerId: number,
  id: number,
  changes: Partial<NoteFields>,
  check?: Precondition,
): Promise<Note> {
  return inTransaction(db, async (trx) => {
    const current = await getNote(trx, ownerId, id, true);
    precondition(current, check);
    const fields: NoteFields = {
      title: changes.title ?? current.title,
      content: changes.content ?? current.content,
      tags: changes.tags ? normalizeTags(changes.tags) : current.tags,
      pinned: changes.pinned ?? current.pinned,
      archived: changes.archived ?? current.archived,
    };
    if (sameFields(current, fields)) return current;
    const [row] = await rewriteNote(
      trx,
      id,
      ownerId,
      fields.title,
      fields.content,
      JSON.stringify(fields.tags),
      fields.pinned ? 1 : 0,
      fields.archived ? 1 : 0,
      new Date().toISOString(),
    );
    if (!row) throw notFound(id);
    await writeTags(trx, id, ownerId, fields.tags);
    await indexNote(trx, { id, title: fields.title, content: fields.content, tags: fields.tags });
    const note = toNote(row);
    await recordChange(trx, ownerId, { noteId: id, op: 'upsert', event: 'note.updated', data: note });
    return note;
  });
}

/** Moves a live note to the trash (or back out of it): a new version, and a change. */
function setTrashed(
  db: Kysely<DB>,
  ownerId: number,
  id: number,
  trashed: boolean,
  check?: Precondition,
): Promise<Note> {
  return inTransaction(db, async (trx) => {
    const current = await findNote(trx, ownerId, id, true);
    if (!current) throw notFound(id);
    if ((current.deleted_at !== undefined) === trashed) {
      if (trashed) throw inTrash(id);
      return current; // restoring a live note changes nothing
    }
    precondition(current, check);
    const now = new Date().toISOString();
    const row = await trx
      .updateTable('notes')
      .set({ deleted_at: trashed ? now : null, version: sql<number>`version + 1`, updated_at: now })
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const note = toNote(row);
    await recordChange(trx, ownerId, {
      noteId: id,
      op: trashed ? 'delete' : 'upsert',
      event: trashed ? 'note.deleted' : 'note.updated',
      data: trashed ? { id } : note,
    });
    return note;
  });
}

/** DELETE: the note goes to the trash, out of listings and search, until restored or purged. */
export function trashNote(db: Kysely<DB>, ownerId: number, id: number, check?: Precondition): Promise<Note> {
  return setTrashed(db, ownerId, id, true, check);
}

export function restoreNote(db: Kysely<DB>, ownerId: number, id: number): Promise<Note> {
  return setTrashed(db, ownerId, id, false);
}

/** Removes a note for good, from the trash or not; a tombstone stays in the change feed. */
export function purgeNote(db: Kysely<DB>, ownerId: number, id: number, check?: Precondition): Promise<void> {
  return inTransaction(db, async (trx) => {
    const current = await findNote(trx, ownerId, id, true);
    if (!current) throw notFound(id);
    precondition(current, check);
    await trx.deleteFrom('notes').where('id', '=', id).where('owner_id', '=', ownerId).execute();
    await unindexNote(trx, id);
    // A note already in the trash was announced as deleted then.
    const announced = current.deleted_at !== undefined;
    await recordChange(trx, ownerId, {
      noteId: id,
      op: 'delete',
      ...(!announced && { event: 'note.deleted' as const }),
    });
  });
}

/** Purges every note that has been in the trash longer than `days`; returns how many. */
export async function purgeTrash(db: Kysely<DB>, days: number): Promise<number> {
  const cutoff = new Date(Date.now() - days * 86_400_000).toISOString();
  const stale = await db
    .selectFrom('notes')
    .select(['id', 'owner_id'])
    .where('deleted_at', '<', cutoff)
    .execute();
  for (const note of stale) await purgeNote(db, note.owner_id, note.id);
  return stale.length;
}
