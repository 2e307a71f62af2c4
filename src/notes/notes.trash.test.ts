import { describe, it, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { ids, list, setup, type NoteBody } from '../../test/notes-helpers.js';
import { purgeTrash } from './notes.store.js';

// The trash: DELETE, ?deleted=true, restore, purge and the periodic purge, each test on a fresh database.

interface TrashedNote extends NoteBody {
  deleted_at?: string;
}

function del(app: FastifyInstance, user: SignedUp, id: number, query = '') {
  return app.inject({ method: 'DELETE', url: `/api/notes/${id}${query}`, headers: user.headers });
}

function restore(app: FastifyInstance, user: SignedUp, id: number) {
  return app.inject({ method: 'POST', url: `/api/notes/${id}/restore`, headers: user.headers });
}

function read(app: FastifyInstance, user: SignedUp, id: number) {
  return app.inject({ url: `/api/notes/${id}`, headers: user.headers });
}

async function tags(app: FastifyInstance, user: SignedUp): Promise<{ name: string; count: number }[]> {
  const response = await app.inject({ url: '/api/tags', headers: user.headers });
  expect(response.statusCode).toBe(200);
  return response.json().data;
}

async function trash(app: FastifyInstance, user: SignedUp): Promise<TrashedNote[]> {
  return (await list(app, user, 'deleted=true')).body.data as TrashedNote[];
}

/** Two notes sharing the tag `work`, with a word to search for; the first then goes to the trash. */
async function oneTrashed(app: FastifyInstance, user: SignedUp) {
  const gone = await createNote(app, user, { title: 'Quarterly zebra report', tags: ['work', 'solo'] });
  const kept = await createNote(app, user, { title: 'Weekly zebra notes', tags: ['work'] });
  expect((await del(app, user, gone.id)).statusCode).toBe(204);
  return { gone, kept };
}

describe('DELETE /api/notes/:id', () => {
  it('answers 204 with no body and the note then answers 404 in_trash to GET, PUT and PATCH', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Doomed' });
    const response = await del(app, user, note.id);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expectProblem(await read(app, user, note.id), 404, 'in_trash');
    const put = await app.inject({
      method: 'PUT',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { title: 'Revived?' },
    });
    expectProblem(put, 404, 'in_trash');
    const patch = await app.inject({
      method: 'PATCH',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { title: 'Revived?' },
    });
    expectProblem(patch, 404, 'in_trash');
  });

  it('answers 400 to a PATCH that tries to take a note out of the trash by clearing deleted_at', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Stays trashed' });
    expect((await del(app, user, note.id)).statusCode).toBe(204);
    const response = await app.inject({
      method: 'PATCH',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { deleted_at: null },
    });
    expectProblem(response, 400, 'validation_failed');
    expectProblem(await read(app, user, note.id), 404, 'in_trash');
  });

  it('answers 404 in_trash when the note is already in the trash', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Twice' });
    expect((await del(app, user, note.id)).statusCode).toBe(204);
    expectProblem(await del(app, user, note.id), 404, 'in_trash');
  });

  it('takes the note out of GET /api/notes, search and tag counts', async () => {
    const { app, user } = await setup();
    const { gone, kept } = await oneTrashed(app, user);
    expect(ids((await list(app, user)).body)).toEqual([kept.id]);
    expect((await list(app, user)).body.meta.total).toBe(1);
    expect(ids((await list(app, user, 'q=zebra')).body)).toEqual([kept.id]);
    expect(ids((await list(app, user, 'q=quarterly')).body)).toEqual([]);
    expect(ids((await list(app, user, 'tag=solo')).body)).toEqual([]);
    expect(await tags(app, user)).toEqual([{ name: 'work', count: 1 }]);
    expect(gone.id).not.toBe(kept.id);
  });

  it('answers 404 not_found for another user’s note and leaves it alone', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Mine' });
    expectProblem(await del(app, other, note.id), 404, 'not_found');
    expect((await read(app, user, note.id)).statusCode).toBe(200);
  });
});

describe('GET /api/notes?deleted=true', () => {
  it('lists the notes in the trash, each with its deleted_at, and not the live ones', async () => {
    const { app, user } = await setup();
    const before = Date.now();
    const { gone } = await oneTrashed(app, user);
    const listed = await trash(app, user);
    expect(listed.map((n) => n.id)).toEqual([gone.id]);
    const deletedAt = listed[0]!.deleted_at!;
    expect(deletedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(deletedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(listed[0]).toMatchObject({ title: gone.title, tags: ['work', 'solo'] });
  });

  it('lists an archived note in the trash too', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Old archive', archived: true });
    expect((await del(app, user, note.id)).statusCode).toBe(204);
    expect((await trash(app, user)).map((n) => n.id)).toEqual([note.id]);
  });
});

describe('POST /api/notes/:id/restore', () => {
  it('answers 200 with the note, its version grown and no deleted_at', async () => {
    const { app, user } = await setup();
    const { gone } = await oneTrashed(app, user);
    const response = await restore(app, user, gone.id);
    expect(response.statusCode).toBe(200);
    const note = response.json<TrashedNote>();
    expect(note).toMatchObject({ id: gone.id, title: gone.title, tags: ['work', 'solo'] });
    expect(note.version).toBeGreaterThan(gone.version);
    expect(note.deleted_at).toBeUndefined();
    const readBack = await read(app, user, gone.id);
    expect(readBack.statusCode).toBe(200);
    expect(readBack.json()).toEqual(note);
    expect(response.headers.etag).toBe(readBack.headers.etag);
  });

  it('puts the note back in listings, search and tag counts, and out of the trash', async () => {
    const { app, user } = await setup();
    const { gone, kept } = await oneTrashed(app, user);
    expect((await restore(app, user, gone.id)).statusCode).toBe(200);
    expect(ids((await list(app, user)).body).sort()).toEqual([gone.id, kept.id].sort());
    expect(ids((await list(app, user, 'q=quarterly')).body)).toEqual([gone.id]);
    expect(await tags(app, user)).toEqual([
      { name: 'solo', count: 1 },
      { name: 'work', count: 2 },
    ]);
    expect(await trash(app, user)).toEqual([]);
  });

  it('answers 200 with the note unchanged when it is not in the trash', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Alive' });
    const response = await restore(app, user, note.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(note);
    expect((await read(app, user, note.id)).json()).toEqual(note);
  });

  it('answers 404 not_found for another user’s trashed note and for an unknown id', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const { gone } = await oneTrashed(app, user);
    expectProblem(await restore(app, other, gone.id), 404, 'not_found');
    expectProblem(await restore(app, user, 999), 404, 'not_found');
    expectProblem(await read(app, user, gone.id), 404, 'in_trash');
  });
});

describe('DELETE /api/notes/:id?purge=true', () => {
  it('answers 204 for a live note, which then answers 404 not_found and is not in the trash', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Shred', tags: ['secret'] });
    const response = await del(app, user, note.id, '?purge=true');
    expect(response.statusCode).toBe(204);
    expectProblem(await read(app, user, note.id), 404, 'not_found');
    expect(await trash(app, user)).toEqual([]);
    expect(ids((await list(app, user)).body)).toEqual([]);
    expect(await tags(app, user)).toEqual([]);
  });

  it('answers 204 for a note in the trash, which then answers 404 not_found and leaves the trash', async () => {
    const { app, user } = await setup();
    const { gone, kept } = await oneTrashed(app, user);
    expect((await del(app, user, gone.id, '?purge=true')).statusCode).toBe(204);
    expectProblem(await read(app, user, gone.id), 404, 'not_found');
    expectProblem(await restore(app, user, gone.id), 404, 'not_found');
    expect(await trash(app, user)).toEqual([]);
    expect(ids((await list(app, user)).body)).toEqual([kept.id]);
  });

  it('answers 404 not_found for another user’s note and leaves it alone', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Mine' });
    expectProblem(await del(app, other, note.id, '?purge=true'), 404, 'not_found');
    expect((await read(app, user, note.id)).statusCode).toBe(200);
  });
});

describe('POST /api/notes', () => {
  it('answers 201 with a new id, never the id of a purged note', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Highest id' });
    expect((await del(app, user, note.id, '?purge=true')).statusCode).toBe(204);
    const next = await createNote(app, user, { title: 'Next' });
    expect(next.id).toBeGreaterThan(note.id);
  });
});

describe('purgeTrash (the periodic purge)', () => {
  it('purges notes trashed more than 30 days ago and keeps younger ones and live ones', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const old = await createNote(app, user, { title: 'Old trash', tags: ['t'] });
    const young = await createNote(app, user, { title: 'Young trash' });
    const live = await createNote(app, user, { title: 'Live' });
    expect((await del(app, user, old.id)).statusCode).toBe(204);
    expect((await del(app, user, young.id)).statusCode).toBe(204);
    const longAgo = new Date(Date.now() - 31 * 86_400_000).toISOString();
    const lessLongAgo = new Date(Date.now() - 29 * 86_400_000).toISOString();
    await database.db.updateTable('notes').set({ deleted_at: longAgo }).where('id', '=', old.id).execute();
    await database.db
      .updateTable('notes')
      .set({ deleted_at: lessLongAgo })
      .where('id', '=', young.id)
      .execute();

    expect(await purgeTrash(database.db, 30)).toBe(1);

    expectProblem(await read(app, user, old.id), 404, 'not_found');
    expectProblem(await read(app, user, young.id), 404, 'in_trash');
    expect((await read(app, user, live.id)).statusCode).toBe(200);
    expect((await trash(app, user)).map((n) => n.id)).toEqual([young.id]);
  });

  it('purges every user’s old trash', async () => {
    const { app, database } = await buildTestApp();
    const [alice, bob] = [await signUp(app), await signUp(app)];
    const a = await createNote(app, alice, { title: 'Alice trash' });
    const b = await createNote(app, bob, { title: 'Bob trash' });
    expect((await del(app, alice, a.id)).statusCode).toBe(204);
    expect((await del(app, bob, b.id)).statusCode).toBe(204);
    const longAgo = new Date(Date.now() - 31 * 86_400_000).toISOString();
    await database.db.updateTable('notes').set({ deleted_at: longAgo }).execute();

    expect(await purgeTrash(database.db, 30)).toBe(2);
    expectProblem(await read(app, alice, a.id), 404, 'not_found');
    expectProblem(await read(app, bob, b.id), 404, 'not_found');
  });
});
