import type { FastifyReply, FastifyRequest } from 'fastify';
import { validationError } from '../errors.js';
import { MARK_END, MARK_START, searchWords } from '../db/search.js';
import type { ListOptions, NotePage, SortKey } from './notes.list.store.js';
import { NOTE_SORTS, type NoteList, type NoteListQuery } from './notes.schemas.js';
import { normalizeTags } from './notes.store.js';

// Turns a list request into store options and a store page into the answer: cursors, meta, links.

type SortName = NonNullable<NoteListQuery['sort']> | 'relevance';
const SORT_NAMES: ReadonlySet<string> = new Set([...NOTE_SORTS, 'relevance']);

interface Cursor {
  sort: SortName;
  value: string | number;
  id: number;
}

/** A cursor is opaque to clients: the sort it belongs to and the last note's position in it. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.value, cursor.id])).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 3) {
      const [sort, value, id] = parsed as unknown[];
      // Issued values are times, lower-case titles or finite scores: never a control character
      // (which PostgreSQL could not even compare, for NUL).
      const valueOk =
        sort === 'relevance'
          ? typeof value === 'number' && Number.isFinite(value)
          : typeof value === 'string' && !/\p{Cc}/u.test(value);
      if (
        typeof sort === 'string' &&
        SORT_NAMES.has(sort) &&
        valueOk &&
        Number.isSafeInteger(id) &&
        (id as number) > 0
      ) {
        return { sort: sort as SortName, value: value as string | number, id: id as number };
      }
    }
  } catch {
    // reported below
  }
  throw validationError([{ field: 'after', message: 'is not a cursor this server issued' }]);
}

function sortOf(name: SortName): ListOptions['sort'] {
  const descending = name.startsWith('-');
  return { key: (descending ? name.slice(1) : name) as SortKey, descending };
}

export interface ListPlan {
  options: ListOptions;
  sort: SortName;
  keyset: boolean;
}

/** Reads the list query: filters, the sort (relevance by default when searching), the paging mode. */
export function planList(query: NoteListQuery): ListPlan {
  const match = query.q === undefined ? undefined : searchWords(query.q);
  const limit = query.limit ?? 20;
  const filters = {
    // The same normal form tags are stored in, so a tag finds its notes however it was typed.
    tags: normalizeTags(query.tag ?? []),
    archived: query.archived ?? false,
    ...(query.deleted !== undefined && { deleted: query.deleted }),
    ...(match !== undefined && { match }),
    ...(query.pinned !== undefined && { pinned: query.pinned }),
    ...(query.updated_since !== undefined && { updatedSince: new Date(query.updated_since).toISOString() }),
  };
  if (query.after === undefined) {
    const sort: SortName = query.sort ?? (match ? 'relevance' : '-updated_at');
    return { sort, keyset: false, options: { filters, sort: sortOf(sort), limit, page: query.page ?? 1 } };
  }
  if (query.page !== undefined)
    throw validationError([{ field: 'page', message: 'cannot be combined with after' }]);
  const cursor = decodeCursor(query.after);
  if (query.sort !== undefined && query.sort !== cursor.sort) {
    throw validationError([
      { field: 'after', message: `belongs to sort=${cursor.sort}, not sort=${query.sort}` },
    ]);
  }
  if (cursor.sort === 'relevance' && !match) {
    throw validationError([{ field: 'after', message: 'continues a search; send the same q with it' }]);
  }
  return {
    sort: cursor.sort,
    keyset: true,
    options: { filters, sort: sortOf(cursor.sort), limit, after: { value: cursor.value, id: cursor.id } },
  };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** A snippet safe to put in HTML: the text escaped, the matched terms in <mark>. */
export function renderSnippet(raw: string): string {
  return raw
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!)
    .replaceAll(MARK_START, '<mark>')
    .replaceAll(MARK_END, '</mark>');
}

function pageUrl(request: FastifyRequest, set: Record<string, string | undefined>): string {
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  return url.toString();
}

/** Builds the list answer and its `Link` header (RFC 8288) with the same links. */
export function listAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  plan: ListPlan,
  page: NotePage,
): NoteList {
  const { limit } = plan.options;
  const last = page.items.at(-1);
  const nextCursor =
    page.hasMore && last ? encodeCursor({ sort: plan.sort, value: last.sortValue, id: last.note.id }) : null;
  const data = page.items.map(({ note }) =>
    note.snippet === undefined ? note : { ...note, snippet: renderSnippet(note.snippet) },
  );
  let answer: NoteList;
  if (plan.keyset) {
    answer = {
      data,
      meta: { limit, next_cursor: nextCursor },
      links: {
        self: pageUrl(request, {}),
        next: nextCursor && pageUrl(request, { after: nextCursor, page: undefined }),
      },
    };
  } else {
    const current = plan.options.page ?? 1;
    const total = page.total ?? 0;
    const totalPages = Math.ceil(total / limit);
    const at = (n: number) => pageUrl(request, { page: String(n), after: undefined });
    answer = {
      data,
      meta: { limit, page: current, total, total_pages: totalPages, next_cursor: nextCursor },
      links: {
        self: at(current),
        first: at(1),
        prev: current > 1 ? at(Math.min(current - 1, Math.max(totalPages, 1))) : null,
        next: current < totalPages ? at(current + 1) : null,
        last: at(Math.max(totalPages, 1)),
      },
    };
  }
  const header = Object.entries(answer.links)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([rel, url]) => `<${url}>; rel="${rel}"`)
    .join(', ');
  reply.header('Link', header);
  return answer;
}
