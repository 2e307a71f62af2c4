import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { etagFromBody, ifMatch, noteEtag, notModified } from '../http/conditional.js';
import { idempotent } from '../http/idempotency.js';
import { IdempotencyHeaders, IdParams, problems } from '../http/schemas.js';
import type { ChangeBus } from '../sync/change-bus.js';
import { listNotes } from './notes.list.store.js';
import { listAnswer, planList } from './notes.paging.js';
import { Note, NoteInput, NoteList, NoteListQuery, NotePatch } from './notes.schemas.js';
import {
  createNote,
  getNote,
  NOTE_DEFAULTS,
  purgeNote,
  restoreNote,
  trashNote,
  updateNote,
  type NoteFields,
} from './notes.store.js';

const NoteRef = Type.Ref(Note);
const ConditionalHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'The ETag you last saw: 412 if the note has changed since' }),
  ),
});

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

/** `/api/notes`: the owner's notes and their trash. */
export const notesRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB>; bus: ChangeBus }> = async (
  app,
  { db, bus },
) => {
  // After a write has been answered (so committed), tell listeners (event streams, webhooks).
  app.addHook('onResponse', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD' || reply.statusCode >= 300 || !request.auth) {
      return done();
    }
    try {
      bus.publish(request.auth.userId);
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  app.get(
    '/',
    {
      config: { access: 'notes:read' },
      onSend: etagFromBody,
      schema: {
        tags: ['notes'],
        summary: 'List, filter and search notes (or the trash)',
        description:
          'Page mode (`page`) answers with totals; keyset mode (`after`, a `next_cursor`) stays fast at any depth.',
        querystring: NoteListQuery,
        response: { 200: NoteList, 304: Type.Null({ description: 'Not modified' }), ...problems(400) },
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
        headers: IdempotencyHeaders,
        body: NoteInput,
        response: { 201: NoteRef, ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      const ownerId = authOf(request).userId;
      return idempotent(db, ownerId, request, reply, async (trx) => {
        const note = await createNote(trx, ownerId, wholeNote(request.body));
        return {
          status: 201,
          headers: { Location: `/api/notes/${note.id}`, ETag: noteEtag(note) },
          body: note,
        };
      });
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'notes:read' },
      schema: {
        tags: ['notes'],
        summary: 'Read a note',
        description: 'Send If-None-Match with the ETag you have: 304 while it is current.',
        params: IdParams,
        response: { 200: NoteRef, 304: Type.Null({ description: 'Not modified' }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const note = await getNote(db, authOf(request).userId, request.params.id);
      const etag = noteEtag(note);
      reply.header('ETag', etag);
      // No body at all, so no Content-Length (RFC 9110 §8.6): `send(null)` would serialize "null"
      // and announce 4 bytes that never come, which desynchronises strict clients.
      if (notModified(request, etag)) return reply.code(304).send(undefined as unknown as null);
      return note;
    },
  );

  app.put(
    '/:id',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Replace a note',
        description:
          'Members left out return to their defaults. If-Match makes it conditional (412 with the current note).',
        params: IdParams,
        headers: ConditionalHeaders,
        body: NoteInput,
        response: { 200: NoteRef, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const owner = authOf(request).userId;
      const note = await updateNote(db, owner, request.params.id, wholeNote(request.body), ifMatch(request));
      return reply.header('ETag', noteEtag(note)).send(note);
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
          'Send application/merge-patch+json or application/json; `null` resets content, tags, pinned or archived. ' +
          'If-Match makes it conditional (412 with the current note).',
        params: IdParams,
        headers: ConditionalHeaders,
        body: NotePatch,
        response: { 200: NoteRef, ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const owner = authOf(request).userId;
      const note = await updateNote(db, owner, request.params.id, mergePatch(request.body), ifMatch(request));
      return reply.header('ETag', noteEtag(note)).send(note);
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Move a note to the trash, or with purge=true delete it for good',
        params: IdParams,
        headers: ConditionalHeaders,
        querystring: Type.Object(
          { purge: Type.Optional(Type.Boolean({ description: 'Delete for good instead of to the trash' })) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null({ description: 'Deleted' }), ...problems(400, 404, 412) },
      },
    },
    async (request, reply) => {
      const owner = authOf(request).userId;
      if (request.query.purge) await purgeNote(db, owner, request.params.id, ifMatch(request));
      else await trashNote(db, owner, request.params.id, ifMatch(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/restore',
    {
      config: { access: 'notes:write' },
      schema: {
        tags: ['notes'],
        summary: 'Bring a note back from the trash',
        params: IdParams,
        response: { 200: NoteRef, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const note = await restoreNote(db, authOf(request).userId, request.params.id);
      return reply.header('ETag', noteEtag(note)).send(note);
    },
  );
};
