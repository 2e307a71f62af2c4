import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { IdParams, problems } from '../http/schemas.js';
import { listAnswer, planList } from './notes.paging.js';
import { Note, NoteInput, NoteList, NoteListQuery, NotePatch } from './notes.schemas.js';
import {
  createNote,
  deleteNote,
  getNote,
  listNotes,
  NOTE_DEFAULTS,
  updateNote,
  type NoteFields,
} from './notes.store.js';

const NoteRef = Type.Ref(Note);

function notFound(id: number): AppError {
  // 404, not 403: a foreign id must not reveal that the note exists.
  return new AppError(404, 'not_found', `Note ${id} not found`);
}

/** A strong validator: the version changes with every change of the note. */
function etag(note: Note): string {
  return `"${note.id}-${note.version}"`;
}

/** PUT and POST take a whole note: members left out return to their defaults. */
function wholeNote(input: NoteInput): NoteFields {
  return { ...NOTE_DEFAULTS, ...input };
}

/** JSON Merge Patch (RFC 7396): `null` returns a member to its default, absent members stay. */
function mergePatch(patch: NotePatch): Partial<NoteFields> {
  const changes: Partial<NoteFields> = {};
  if (patch.title !== undefined) changes.title = patch.title;
  if (patch.content !== undefined) changes.content = patch.content ?? NOTE_DEFAULTS.content;
  if (patch.tags !== undefined) changes.tags = patch.tags ?? NOTE_DEFAULTS.tags;
  if (patch.pinned !== undefined) changes.pinned = patch.pinned ?? NOTE_DEFAULTS.pinned;
  if (patch.archived !== undefined) changes.archived = patch.archived ?? NOTE_DEFAULTS.archived;
  return changes;
}

/** `/api/notes`: the owner's notes. */
export const notesRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      config: { access: 'notes:read' },
      schema: {
        tags: ['notes'],
        summary: 'List, filter and search notes',
        description:
          'Page mode (`page`) answers with totals; keyset mode (`after`, a `next_cursor`) stays fast at any depth.',
        querystring: NoteListQuery,
        response: { 200: NoteList, ...problems(400) },
      },
    },
    async (request, reply) => {
      const plan = planList(request.query);
      const page = await listNotes(db, authOf(request).userId, plan.options);
      return listAnswer(request, reply, plan, page);
    },
  );

  app.post(
    '/',
    {
      config: { access: 'notes:write', forms: true },
      schema: {
        tags: ['notes'],
        summary: 'Create a note',
        body: NoteInput,
        response: { 201: NoteRef, ...problems(400) },
      },
    },
    async (request, reply) => {
      const note = await createNote(db, authOf(request).userId, wholeNote(request.body));
      return reply
        .code(201)
        .header('Location', `/api/notes/${note.id}`)
        .header('ETag', etag(note))
        .send(note);
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'notes:read' },
      schema: {
        tags: ['notes'],
        summary: 'Read a note',
        params: IdParams,
        response: { 200: NoteRef, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const note = await getNote(db, authOf(request).userId, request.params.id);
      if (!note) throw notFound(request.params.id);
      return reply.header('ETag', etag(note)).send(note);
    },
  );

  app.put(
    '/:id',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Replace a note',
        description: 'Members left out return to their defaults.',
        params: IdParams,
        body: NoteInput,
        response: { 200: NoteRef, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const note = await updateNote(db, authOf(request).userId, request.params.id, wholeNote(request.body));
      if (!note) throw notFound(request.params.id);
      return reply.header('ETag', etag(note)).send(note);
    },
  );

  app.patch(
    '/:id',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Change part of a note (JSON Merge Patch)',
        description:
          'Send application/merge-patch+json or application/json; `null` resets content, tags, pinned or archived.',
        params: IdParams,
        body: NotePatch,
        response: { 200: NoteRef, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const note = await updateNote(db, authOf(request).userId, request.params.id, mergePatch(request.body));
      if (!note) throw notFound(request.params.id);
      return reply.header('ETag', etag(note)).send(note);
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Delete a note',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deleteNote(db, authOf(request).userId, request.params.id)))
        throw notFound(request.params.id);
      return reply.code(204).send(null);
    },
  );
};
