import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.js';
import { Content, Tags, Title } from '../notes/notes.schemas.js';

// The export format, version 1 (GET /api/export, `folio export`, read back by `folio import`):
//
//   {"format":"folio-export","version":1,"exported_at":"…","user":{"username":"ada","email":"…"},
//    "notes":[{"title","content","tags","pinned","archived","created_at","updated_at"}, …]}
//
// One note a line, oldest first (created_at, then the order they were made). Notes in the trash
// are not exported, nor ids, versions or the change feed: an export is what a person wrote, to be
// imported anywhere as new notes.

export const EXPORT_FORMAT = 'folio-export';
export const EXPORT_VERSION = 1;

export const ExportedNote = Type.Object(
  {
    title: Title,
    content: Content,
    tags: Tags,
    pinned: Type.Boolean(),
    archived: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { additionalProperties: false, title: 'ExportedNote' },
);
export type ExportedNote = Static<typeof ExportedNote>;

export const ExportDocument = Type.Object(
  {
    format: Type.Literal(EXPORT_FORMAT),
    version: Type.Literal(EXPORT_VERSION),
    exported_at: Timestamp,
    user: Type.Object({ username: Type.String(), email: Type.String() }),
    notes: Type.Array(ExportedNote, { description: 'Oldest first; notes in the trash are left out' }),
  },
  { title: 'ExportDocument' },
);
export type ExportDocument = Static<typeof ExportDocument>;

/**
 * A note as `folio import` reads it: an exported note in which only the title is required (the
 * rest takes the defaults of a new note; missing times are the time of the import).
 */
export const ImportedNote = Type.Composite(
  [Type.Pick(ExportedNote, ['title']), Type.Partial(Type.Omit(ExportedNote, ['title']))],
  { additionalProperties: false },
);
export type ImportedNote = Static<typeof ImportedNote>;
