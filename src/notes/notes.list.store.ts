import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { compiledOnce } from '../db/compiled.js';
import { searchSql, textSnippet, type SearchSql } from '../db/search.js';
import type { DB, NoteRow } from '../db/tables.js';
import type { Note } from './notes.schemas.js';
import { toNote } from './notes.store.js';

// The read side of notes: listings with filters, search, sorts and both paging modes, and tags.

/** The owner's tags, each with the number of notes that carry it. */
export async function listTags(db: Kysely<DB>, ownerId: number): Promise<{ name: string; count: number }[]> {
  const rows = await db
    .selectFrom('note_tags')
    .select(['tag as name', (eb) => eb.fn.countAll<number>().as('count')])
    .where('owner_id', '=', ownerId)
    // Notes in the trash do not count.
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('notes')
          .select('notes.id')
          .whereRef('notes.id', '=', 'note_tags.note_id')
          .where('notes.deleted_at', 'is', null),
      ),
    )
    .groupBy('tag')
    .orderBy('tag')
    .execute();
  return rows.map((row) => ({ name: row.name, count: Number(row.count) }));
}

export type SortKey = 'updated_at' | 'created_at' | 'title' | 'relevance';

export interface NoteFilters {
  /** Words that must all match, each as a prefix (see db/search.ts). */
  match?: readonly string[];
  tags: readonly string[];
  pinned?: boolean;
  archived: boolean;
  updatedSince?: string;
  /** The trash instead of live notes. */
  deleted?: boolean;
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

function sortExpression(key: SortKey, search: SearchSql | undefined): RawBuilder<string | number> {
  switch (key) {
    case 'updated_at':
      return sql.ref<string>('n.updated_at');
    case 'created_at':
      return sql.ref<string>('n.created_at');
    case 'title':
      // Case-insensitive, matching the notes_owner_title_idx expression index.
      return sql<string>`lower(n.title)`;
    case 'relevance':
      return search ? search.score : sql<number>`0`;
  }
}

/** One page of the owner's notes, filtered, searched and sorted; by page (with a total) or by keyset. */
export async function listNotes(db: Kysely<DB>, ownerId: number, options: ListOptions): Promise<NotePage> {
  const { filters, sort, limit } = options;
  // No tag holds a control character (notes.schemas.ts), and PostgreSQL cannot even compare
  // text with a NUL: such a filter finds nothing, on both databases, without asking either.
  if (filters.tags.some((tag) => /\p{Cc}/u.test(tag))) {
    return { items: [], hasMore: false, ...(options.page !== undefined && { total: 0 }) };
  }
  const search = filters.match ? searchSql(db, filters.match) : undefined;
  const key = sortExpression(sort.key, search);
  const direction = sort.descending ? 'desc' : 'asc';
  const base = db
    .selectFrom('notes as n')
    .where('n.owner_id', '=', ownerId)
    .where('n.deleted_at', filters.deleted ? 'is not' : 'is', null)
    .$if(!filters.deleted, (qb) => qb.where('n.archived', '=', filters.archived ? 1 : 0))
    .$if(filters.pinned !== undefined, (qb) => qb.where('n.pinned', '=', filters.pinned ? 1 : 0))
    .$if(filters.updatedSince !== undefined, (qb) => qb.where('n.updated_at', '>=', filters.updatedSince!))
    .$if(search !== undefined, (qb) =>
      (search!.join ? qb.innerJoin('notes_fts', 'notes_fts.rowid', 'n.id') : qb).where(search!.where),
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
    .$if(search?.snippet !== undefined, (qb) => qb.select(search!.snippet!.as('snippet')))
    // A row-value comparison, not `key < v or (key = v and id < i)`: with it the database seeks
    // straight to the cursor in the sort's index instead of reading every entry before it, so a
    // page deep down costs what the first one does.
    .$if(after !== undefined, (qb) =>
      qb.where(
        sql<SqlBool>`(${key}, n.id) ${sql.raw(sort.descending ? '<' : '>')} (${after!.value}, ${after!.id})`,
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
    else if (filters.match) note.snippet = textSnippet(note, filters.match);
    return { note, sortValue: row.sort_value };
  });
  if (options.page === undefined) return { items, hasMore };
  const total = await keptTotal(db, ownerId, filters, async () => {
    const counted = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return Number(counted.total);
  });
  return { items, hasMore, total };
}

// Counting a page's total reads every matching index entry (half a millisecond at ten thousand
// notes, more with search): the total is kept per owner and filters for as long as the owner's
// change number stays the one it was counted at. Every write to a note bumps that number
// (recordChange), on whichever instance makes it, so a kept total is never stale.
const totals = new WeakMap<Kysely<DB>, Map<string, { seq: number; total: number }>>();
const MAX_TOTALS = 10_000;
const changeSeqOf = compiledOnce((db, ownerId: number) =>
  db.selectFrom('users').select('change_seq').where('id', '=', ownerId),
);

async function keptTotal(
  db: Kysely<DB>,
  ownerId: number,
  filters: NoteFilters,
  count: () => Promise<number>,
): Promise<number> {
  // Read before counting: a write in between leaves an older number with the total, so the
  // next request counts again.
  const [owner] = await changeSeqOf(db, ownerId);
  if (!owner) return count();
  let kept = totals.get(db);
  if (!kept) totals.set(db, (kept = new Map()));
  const key = `${ownerId} ${JSON.stringify(filters)}`;
  const hit = kept.get(key);
  if (hit?.seq === owner.change_seq) return hit.total;
  const total = await count();
  if (kept.size >= MAX_TOTALS) kept.clear();
  kept.set(key, { seq: owner.change_seq, total });
  return total;
}
