import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp } from '../http/schemas.js';

// Control characters have no place in a note and would be taken for search-snippet marks;
// content keeps tab and line breaks. Unpaired surrogates (\ud800 in JSON) are not Unicode text:
// no UTF-8 database can store one, so a note would come back other than it was sent.
export const Title = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\p{Cc}\\p{Cs}]*$',
  'x-error': 'must not contain control characters, line breaks or unpaired surrogates',
  examples: ['Read more'],
});
export const Content = Type.String({
  maxLength: 100_000,
  pattern: '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F\\p{Cs}]*$',
  'x-error': 'must not contain control characters other than tab and line breaks, nor unpaired surrogates',
  description: 'Markdown text',
  examples: ['finish the guide'],
});
export const Tag = Type.String({
  minLength: 1,
  maxLength: 50,
  // No commas (forms list tags comma-separated), no control characters or unpaired surrogates,
  // no outer spaces.
  pattern: '^[^\\s,\\p{Cc}\\p{Cs}](?:[^,\\p{Cc}\\p{Cs}]*[^\\s,\\p{Cc}\\p{Cs}])?$',
  'x-error':
    'must not contain commas, control characters or unpaired surrogates, nor begin or end with a space',
  description: 'Stored lower-case; `/` nests tags (`work/projects` is inside `work`)',
  examples: ['reading'],
});
export const Tags = Type.Array(Tag, { maxItems: 20 });

export const Note = Type.Object(
  {
    id: Type.Integer({ examples: [1] }),
    title: Title,
    content: Content,
    tags: Tags,
    pinned: Type.Boolean(),
    archived: Type.Boolean(),
    version: Type.Integer({ minimum: 1, description: 'Grows by one with every change' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Type.Optional(Timestamp),
    snippet: Type.Optional(
      Type.String({
        description: 'Search results only: an HTML-escaped excerpt with the matched terms in <mark>',
      }),
    ),
  },
  { $id: 'Note', title: 'Note' },
);
export type Note = Static<typeof Note>;

const writable = {
  title: Title,
  content: Type.Optional(Content),
  tags: Type.Optional(Tags),
  pinned: Type.Optional(Type.Boolean()),
  archived: Type.Optional(Type.Boolean()),
};

/** A new note, and the whole of a replaced one (PUT): members left out take their defaults. */
export const NoteInput = Type.Object(writable, { additionalProperties: false, title: 'NoteInput' });
export type NoteInput = Static<typeof NoteInput>;

/** JSON Merge Patch: members left out stay, `null` returns a member to its default. */
export const NotePatch = Type.Object(
  {
    title: Type.Optional(Title),
    content: Type.Optional(Nullable(Content)),
    tags: Type.Optional(Nullable(Tags)),
    pinned: Type.Optional(Nullable(Type.Boolean())),
    archived: Type.Optional(Nullable(Type.Boolean())),
  },
  { additionalProperties: false, title: 'NotePatch' },
);
export type NotePatch = Static<typeof NotePatch>;

export const NOTE_SORTS = [
  'updated_at',
  '-updated_at',
  'created_at',
  '-created_at',
  'title',
  '-title',
] as const;
export type NoteSort = (typeof NOTE_SORTS)[number];

export const NoteListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 500, description: 'Full-text search; every word must match' })),
    tag: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 50 }), {
        maxItems: 20,
        description: 'Repeat for notes with all of them; `work` also matches `work/projects`',
      }),
    ),
    pinned: Type.Optional(Type.Boolean()),
    archived: Type.Optional(
      Type.Boolean({ description: 'false (the default): notes not archived; true: only archived notes' }),
    ),
    updated_since: Type.Optional(
      Type.String({ format: 'date-time', description: 'Only notes changed at or after' }),
    ),
    sort: Type.Optional(
      StringEnum(NOTE_SORTS, {
        description: '`-` sorts descending; default -updated_at, or relevance with q',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    deleted: Type.Optional(Type.Boolean({ description: 'true: the trash instead of live notes' })),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description:
          'A next_cursor: keyset paging, exact for every sort while notes are added. Ranked search ' +
          '(q without sort) pages by score, which new notes shift: pass a sort for an exact walk.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NoteListQuery = Static<typeof NoteListQuery>;

const Link = Nullable(Type.String({ format: 'uri' }));

export const NoteList = Type.Object(
  {
    data: Type.Array(Type.Ref(Note)),
    meta: Type.Object({
      limit: Type.Integer(),
      page: Type.Optional(Type.Integer()),
      total: Type.Optional(Type.Integer()),
      total_pages: Type.Optional(Type.Integer()),
      next_cursor: Nullable(Type.String()),
    }),
    links: Type.Object({
      self: Type.String({ format: 'uri' }),
      first: Type.Optional(Link),
      prev: Type.Optional(Link),
      next: Link,
      last: Type.Optional(Link),
    }),
  },
  { title: 'NoteList' },
);
export type NoteList = Static<typeof NoteList>;

export const TagList = Type.Object(
  { data: Type.Array(Type.Object({ name: Type.String(), count: Type.Integer({ minimum: 1 }) })) },
  { title: 'TagList' },
);
