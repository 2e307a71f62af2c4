import { sql, type Kysely, type RawBuilder } from 'kysely';
import { indexNote, matches, score, snippet, unindexNote } from '../db/search.js';
import { inTransaction } from '../db/transaction.js';
import type { DB, NoteRow } from '../db/tables.js';
import type { Note } from './notes.schemas.js';

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

/** Tags are compared and stored lower-case, once each, in the order first given. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.normalize('NFC').toLowerCase()))];
}

function toNote(row: NoteRow): Note {
  return {
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
}

async function writeTags(
  db: Kysely<DB>,
  noteId: number,
  ownerId: number,
  tags: readonly string[],
): Promise<void> {
  await db.deleteFrom('note_tags').where('note_id', '=', noteId).execute();
  if (tags.length > 0) {
    await db
      .insertInto('note_tags')
      .values(tags.map((tag) => ({ note_id: noteId, owner_id: ownerId, tag })))
      .execute();
  }
}

/** Creates a note for its owner, with its tags and search entry, in one transaction. */
export function createNote(db: Kysely<DB>, ownerId: number, fields: NoteFields): Promise<Note> {
  const now = new Date().toISOString();
  const tags = normalizeTags(fields.tags);
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('notes')
      .values({
        owner_id: ownerId,
        title: fields.title,
        content: fields.content,
        tags: JSON.stringify(tags),
        pinned: fields.pinned ? 1 : 0,
        archived: fields.archived ? 1 : 0,
        version: 1,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeTags(trx, row.id, ownerId, tags);
    await indexNote(trx, { id: row.id, title: row.title, content: row.content, tags });
    return toNote(row);
  });
}

/** One of the owner's notes; undefined for a note that does not exist or is someone else's. */
export async function getNote(db: Kysely<DB>, ownerId: number, id: number): Promise<Note | undefined> {
  const row = await db
    .selectFrom('notes')
    .selectAll()
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  return row && toNote(row);
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

/**
 * Applies changes to a note (PUT passes every field, PATCH the merged ones). A change that
 * changes nothing leaves the version and times alone, so clients see no phantom edits.
 */
export function updateNote(
  db: Kysely<DB>,
  ownerId: number,
  id: number,
  changes: Partial<NoteFields>,
): Promise<Note | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await getNote(trx, ownerId, id);
    if (!current) return undefined;
    const fields: NoteFields = {
      title: changes.title ?? current.title,
      content: changes.content ?? current.content,
      tags: changes.tags ? normalizeTags(changes.tags) : current.tags,
      pinned: changes.pinned ?? current.pinned,
      archived: changes.archived ?? current.archived,
    };
    if (sameFields(current, fields)) return current;
    const row = await trx
      .updateTable('notes')
      .set({
        title: fields.title,
        content: fields.content,
        tags: JSON.stringify(fields.tags),
        pinned: fields.pinned ? 1 : 0,
        archived: fields.archived ? 1 : 0,
        version: sql<number>`version + 1`,
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeTags(trx, id, ownerId, fields.tags);
    await indexNote(trx, { id, title: fields.title, content: fields.content, tags: fields.tags });
    return toNote(row);
  });
}

/** Deletes one of the owner's notes; false when there was no such note. */
export function deleteNote(db: Kysely<DB>, ownerId: number, id: number): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const result = await trx
      .deleteFrom('notes')
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (result.numDeletedRows === 0n) return false;
    await unindexNote(trx, id);
    return true;
  });
}

/** The owner's tags, each with the number of notes that carry it. */
export async function listTags(db: Kysely<DB>, ownerId: number): Promise<{ name: string; count: number }[]> {
  const rows = await db
    .selectFrom('note_tags')
    .select(['tag as name', (eb) => eb.fn.countAll<number>().as('count')])
    .where('owner_id', '=', ownerId)
    .groupBy('tag')
    .orderBy('tag')
    .execute();
  return rows.map((row) => ({ name: row.name, count: Number(row.count) }));
}

export type SortKey = 'updated_at' | 'created_at' | 'title' | 'relevance';

export interface NoteFilters {
  /** A full-text match expression (see db/search.ts). */
  match?: string;
  tags: readonly string[];
  pinned?: boolean;
  archived: boolean;
  updatedSince?: string;
}

export interface ListOptions {
  filters: NoteFilters;
  sort: { key: SortKey; descending: boolean };
  limit: number;
  /** Offset paging, counted from 1; with a total. */
  page?: number;
  /** Keyset paging: the sort value and id of the last note seen. */
  after?: { value: string | number; id: number };
}

export interface ListedNote {
  note: Note;
  /** The note's value of the sort key, for a cursor that continues after it. */
  sortValue: string | number;
}

export interface NotePage {
  items: ListedNote[];
  hasMore: boolean;
  total?: number;
}

function sortExpression(key: SortKey): RawBuilder<string | number> {
  switch (key) {
    case 'updated_at':
      return sql.ref<string>('n.updated_at');
    case 'created_at':
      return sql.ref<string>('n.created_at');
    case 'title':
      // Case-insensitive, matching the notes_owner_title_idx expression index.
      return sql<string>`lower(n.title)`;
    case 'relevance':
      return score;
  }
}

/** One page of the owner's notes, filtered, searched and sorted; by page (with a total) or by keyset. */
export async function listNotes(db: Kysely<DB>, ownerId: number, options: ListOptions): Promise<NotePage> {
  const { filters, sort, limit } = options;
  const key = sortExpression(sort.key);
  const direction = sort.descending ? 'desc' : 'asc';
  const base = db
    .selectFrom('notes as n')
    .where('n.owner_id', '=', ownerId)
    .where('n.archived', '=', filters.archived ? 1 : 0)
    .$if(filters.pinned !== undefined, (qb) => qb.where('n.pinned', '=', filters.pinned ? 1 : 0))
    .$if(filters.updatedSince !== undefined, (qb) => qb.where('n.updated_at', '>=', filters.updatedSince!))
    .$if(filters.match !== undefined, (qb) =>
      qb.innerJoin('notes_fts', 'notes_fts.rowid', 'n.id').where(matches(filters.match!)),
    )
    .where((eb) =>
      eb.and(
        filters.tags.map((tag) =>
          // `work` also finds nested tags: every tag from "work/" up to (not including) "work0".
          eb.exists(
            eb
              .selectFrom('note_tags as t')
              .select(sql`1`.as('one'))
              .whereRef('t.note_id', '=', 'n.id')
              .where((inner) =>
                inner.or([
                  inner('t.tag', '=', tag),
                  inner.and([inner('t.tag', '>', `${tag}/`), inner('t.tag', '<', `${tag}0`)]),
                ]),
              ),
          ),
        ),
      ),
    );

  const after = options.after;
  const rows = await base
    .selectAll('n')
    .select(key.as('sort_value'))
    .$if(filters.match !== undefined, (qb) => qb.select(snippet.as('snippet')))
    .$if(after !== undefined, (qb) =>
      qb.where((eb) =>
        eb.or([
          eb(key, sort.descending ? '<' : '>', after!.value),
          eb.and([eb(key, '=', after!.value), eb('n.id', sort.descending ? '<' : '>', after!.id)]),
        ]),
      ),
    )
    .orderBy(key, direction)
    .orderBy('n.id', direction)
    .limit(limit + 1)
    .$if(options.page !== undefined, (qb) => qb.offset((options.page! - 1) * limit))
    .execute();

  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit).map((raw) => {
    const row = raw as NoteRow & { sort_value: string | number; snippet?: string };
    const note = toNote(row);
    if (row.snippet !== undefined) note.snippet = row.snippet;
    return { note, sortValue: row.sort_value };
  });
  if (options.page === undefined) return { items, hasMore };
  const counted = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  return { items, hasMore, total: Number(counted.total) };
}
