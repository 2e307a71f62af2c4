import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { DB } from './tables.js';

// The full-text search dialect helper: every SQLite-specific piece of search lives here, so a
// second dialect adds its version in this one file.

/** Marks the snippet's matched terms with characters no note contains, so they survive escaping. */
export const MARK_START = '\u0002';
export const MARK_END = '\u0003';

export interface Searchable {
  id: number;
  title: string;
  content: string;
  tags: readonly string[];
}

/** Writes a note into the full-text index (replacing what was there); call inside the write's transaction. */
export async function indexNote(db: Kysely<DB>, note: Searchable): Promise<void> {
  await sql`delete from notes_fts where rowid = ${note.id}`.execute(db);
  await sql`insert into notes_fts (rowid, title, content, tags) values (${note.id}, ${note.title}, ${note.content}, ${note.tags.join(' ')})`.execute(
    db,
  );
}

export async function unindexNote(db: Kysely<DB>, id: number): Promise<void> {
  await sql`delete from notes_fts where rowid = ${id}`.execute(db);
}

/** Removes every search entry of an owner's notes (before the account and its notes are deleted). */
export async function unindexOwner(db: Kysely<DB>, ownerId: number): Promise<void> {
  await sql`delete from notes_fts where rowid in (select id from notes where owner_id = ${ownerId})`.execute(
    db,
  );
}

/**
 * Turns what a person typed into an FTS5 query: every word must match, each as a prefix, and
 * nothing in the text is read as query syntax. Undefined when the text has no words at all.
 */
export function matchExpression(q: string): string | undefined {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  if (!words) return undefined;
  return words
    .slice(0, 32)
    .map((word) => `"${word}"*`)
    .join(' ');
}

/** The condition that keeps matching notes, once `notes_fts` is joined on `notes_fts.rowid = n.id`. */
export function matches(match: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`notes_fts match ${match}`;
}

/** How well a joined note matches (lower is better): title hits weigh most, then tags, then the body. */
export const score: RawBuilder<number> = sql<number>`bm25(notes_fts, 10.0, 1.0, 4.0)`;

/** A short excerpt of the best-matching column, matched terms between MARK_START and MARK_END. */
export const snippet: RawBuilder<string> = sql<string>`snippet(notes_fts, -1, ${MARK_START}, ${MARK_END}, '…', 16)`;
