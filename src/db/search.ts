import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { compiledOnce } from './compiled.js';
import { dialectOf } from './database.js';
import type { DB } from './tables.js';

// Full-text search, the one place where SQLite and PostgreSQL differ most. SQLite: an FTS5 table
// (notes_fts, rowid = note id) that the notes store writes in each write's transaction, ranked
// by bm25. PostgreSQL: a generated, weighted tsvector column on notes with a GIN index, ranked by
// ts_rank. Both: no stemming, every word of the query must match as a prefix, title weighs most.

/** Marks the snippet's matched terms with characters no note contains, so they survive escaping. */
export const MARK_START = '\u0002';
export const MARK_END = '\u0003';

export interface Searchable {
  id: number;
  title: string;
  content: string;
  tags: readonly string[];
}

/**
 * Writes a note into the full-text index (replacing what was there, unless `replace` is false for
 * a note just created); call inside the write's transaction.
 */
export async function indexNote(db: Kysely<DB>, note: Searchable, replace = true): Promise<void> {
  if (dialectOf(db) === 'postgres') return; // the generated column follows the row
  if (replace) await deleteEntry(db, note.id);
  await insertEntry(db, note.id, note.title, note.content, note.tags.join(' '));
}

export async function unindexNote(db: Kysely<DB>, id: number): Promise<void> {
  if (dialectOf(db) === 'postgres') return;
  await deleteEntry(db, id);
}

const deleteEntry = compiledOnce((_db, id: number) => sql`delete from notes_fts where rowid = ${id}`);
const insertEntry = compiledOnce(
  (_db, id: number, title: string, content: string, tags: string) =>
    sql`insert into notes_fts (rowid, title, content, tags) values (${id}, ${title}, ${content}, ${tags})`,
);

/** Removes every search entry of an owner's notes (before the account and its notes are deleted). */
export async function unindexOwner(db: Kysely<DB>, ownerId: number): Promise<void> {
  if (dialectOf(db) === 'postgres') return;
  await sql`delete from notes_fts where rowid in (select id from notes where owner_id = ${ownerId})`.execute(
    db,
  );
}

/** The words of what a person typed (letters, digits, _): nothing in it is read as query syntax. */
export function searchWords(q: string): string[] | undefined {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  return words ? words.slice(0, 32) : undefined;
}

export interface SearchSql {
  /** Joined to `notes as n` to restrict a query to matches (SQLite's FTS5 table), if needed. */
  join: boolean;
  where: RawBuilder<SqlBool>;
  /** Lower is better, on both dialects. */
  score: RawBuilder<number>;
  /** An excerpt with the matched terms between MARK_START and MARK_END; none: use textSnippet. */
  snippet: RawBuilder<string> | undefined;
}

/** The SQL pieces that search a `notes as n` query for every word, each as a prefix. */
export function searchSql(db: Kysely<DB>, words: readonly string[]): SearchSql {
  if (dialectOf(db) === 'postgres') {
    const query = sql`to_tsquery('simple', ${words.map((word) => `${word.toLowerCase()}:*`).join(' & ')})`;
    return {
      join: false,
      where: sql<SqlBool>`n.search_vector @@ ${query}`,
      // ts_rank's default weights put title (A) above tags (B) above content (C); negated so lower is better.
      score: sql<number>`(-ts_rank(n.search_vector, ${query}))::float8`,
      // ts_headline drops anything that looks like an HTML tag, so the excerpt is cut in JS.
      snippet: undefined,
    };
  }
  return {
    join: true,
    where: sql<SqlBool>`notes_fts match ${words.map((word) => `"${word}"*`).join(' ')}`,
    // bm25 column weights: title 10, content 1, tags 4.
    score: sql<number>`bm25(notes_fts, 10.0, 1.0, 4.0)`,
    snippet: sql<string>`snippet(notes_fts, -1, ${MARK_START}, ${MARK_END}, '…', 16)`,
  };
}

/**
 * An excerpt of about 16 words around the first match, in the content or else the title, the
 * words that start with a query word between MARK_START and MARK_END (PostgreSQL's snippets).
 */
export function textSnippet(note: { title: string; content: string }, words: readonly string[]): string {
  const prefixes = words.map((word) => word.toLowerCase());
  const matchesWord = (token: string) => prefixes.some((prefix) => token.toLowerCase().startsWith(prefix));
  const pick = (text: string) => {
    const tokens = text.split(/(\s+)/);
    const first = tokens.findIndex((token) => matchesWord(token.replace(/^[^\p{L}\p{N}_]+/u, '')));
    return first < 0 ? undefined : { tokens, first };
  };
  const found = pick(note.content) ?? pick(note.title) ?? { tokens: note.content.split(/(\s+)/), first: 0 };
  const start = Math.max(0, found.first - 12); // 6 words (and their spaces) before the match
  const end = Math.min(found.tokens.length, start + 32);
  const excerpt = found.tokens
    .slice(start, end)
    .map((token) => {
      const word = token.match(/[\p{L}\p{N}_]+/u)?.[0];
      return word && matchesWord(word) ? token.replace(word, `${MARK_START}${word}${MARK_END}`) : token;
    })
    .join('');
  return `${start > 0 ? '…' : ''}${excerpt}${end < found.tokens.length ? '…' : ''}`;
}
