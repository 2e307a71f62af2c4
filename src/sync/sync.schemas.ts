import { Type } from '@sinclair/typebox';
import { Note } from '../notes/notes.schemas.js';

const Cursor = Type.String({
  description: 'Opaque; pass it back as since (or Last-Event-ID)',
  examples: ['42'],
});

export const Change = Type.Union(
  [
    Type.Object({ cursor: Cursor, op: Type.Literal('upsert'), note: Type.Ref(Note) }),
    Type.Object({ cursor: Cursor, op: Type.Literal('delete'), id: Type.Integer() }),
  ],
  { $id: 'Change', title: 'Change' },
);

export const SyncQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({ maxLength: 20, description: 'A cursor from an earlier answer; none: from the start' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const SyncPage = Type.Object(
  {
    changes: Type.Array(Type.Ref(Change)),
    next_cursor: Cursor,
    has_more: Type.Boolean(),
  },
  { title: 'SyncPage' },
);
