import { describe, it, expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createNote, expectProblem, type SignedUp } from '../../test/helpers.js';
import { setup, type NoteBody } from '../../test/notes-helpers.js';

// Conditional requests (ETag, If-None-Match, If-Match) on /api/notes, each test on a fresh database.

function read(app: FastifyInstance, user: SignedUp, id: number, headers: Record<string, string> = {}) {
  return app.inject({ url: `/api/notes/${id}`, headers: { ...user.headers, ...headers } });
}

function listWith(app: FastifyInstance, user: SignedUp, headers: Record<string, string> = {}) {
  return app.inject({ url: '/api/notes', headers: { ...user.headers, ...headers } });
}

function patch(
  app: FastifyInstance,
  user: SignedUp,
  id: number,
  body: object,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'PATCH',
    url: `/api/notes/${id}`,
    headers: { ...user.headers, ...headers },
    payload: body,
  });
}

/** The note as GET answers it now, and its ETag. */
async function current(
  app: FastifyInstance,
  user: SignedUp,
  id: number,
): Promise<{ note: NoteBody; etag: string }> {
  const response = await read(app, user, id);
  expect(response.statusCode, response.body).toBe(200);
  return { note: response.json<NoteBody>(), etag: String(response.headers.etag) };
}

/** A note that has been edited once, so its first ETag is stale. */
async function editedNote(app: FastifyInstance, user: SignedUp) {
  const first = await app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: user.headers,
    payload: { title: 'First', content: 'body', tags: ['a'] },
  });
  const stale = String(first.headers.etag);
  const id = first.json<NoteBody>().id;
  expect((await patch(app, user, id, { title: 'Second' })).statusCode).toBe(200);
  return { id, stale, ...(await current(app, user, id)) };
}

function expectUnchanged(response: LightMyRequestResponse, note: NoteBody): void {
  const problem = expectProblem(response, 412, 'precondition_failed');
  expect(problem.note).toEqual(note);
}

describe('GET /api/notes/:id', () => {
  it('answers 304 with an empty body and the ETag when If-None-Match is its current ETag', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Cached' });
    const { etag } = await current(app, user, note.id);
    expect(etag).toMatch(/^"[^"]+"$/);
    const response = await read(app, user, note.id, { 'if-none-match': etag });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe('');
    // RFC 9110 §8.6: a 304 must not announce a length other than the 200's; it announces none.
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers.etag).toBe(etag);
  });

  it('answers 200 with the new note and a new ETag when If-None-Match names the ETag from before a PATCH', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Before' });
    const before = await current(app, user, note.id);
    expect((await patch(app, user, note.id, { title: 'After' })).statusCode).toBe(200);
    const response = await read(app, user, note.id, { 'if-none-match': before.etag });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ title: 'After', version: 2 });
    expect(response.headers.etag).toMatch(/^"[^"]+"$/);
    expect(response.headers.etag).not.toBe(before.etag);
  });

  it('answers 304 when If-None-Match is the weak form W/"…" of the current ETag (weak comparison)', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Weak' });
    const { etag } = await current(app, user, note.id);
    const response = await read(app, user, note.id, { 'if-none-match': `"nope", W/${etag}` });
    expect(response.statusCode).toBe(304);
    expect(response.body).toBe('');
  });
});

describe('GET /api/notes', () => {
  it('answers 304 with an empty body when If-None-Match is the ETag of the same list', async () => {
    const { app, user } = await setup();
    await createNote(app, user, { title: 'One' });
    await createNote(app, user, { title: 'Two' });
    const first = await listWith(app, user);
    expect(first.statusCode).toBe(200);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await listWith(app, user, { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['content-length']).toBeUndefined();
    expect(again.headers.etag).toBe(etag);
    expect((await listWith(app, user, { 'if-none-match': `W/${etag}` })).statusCode).toBe(304);
  });

  it('answers 200 with a different ETag after a listed note changes', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'One' });
    await createNote(app, user, { title: 'Two' });
    const etag = String((await listWith(app, user)).headers.etag);
    expect((await patch(app, user, note.id, { content: 'edited' })).statusCode).toBe(200);
    const response = await listWith(app, user, { 'if-none-match': etag });
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toMatch(/^"[^"]+"$/);
    expect(response.headers.etag).not.toBe(etag);
    expect(response.json().data.find((n: NoteBody) => n.id === note.id).content).toBe('edited');
  });
});

describe('PUT /api/notes/:id', () => {
  it('answers 200 with a new ETag when If-Match is the current ETag', async () => {
    const { app, user } = await setup();
    const { id, etag, note } = await editedNote(app, user);
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'if-match': etag },
      payload: { title: 'Replaced' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ title: 'Replaced', version: note.version + 1 });
    expect(response.headers.etag).not.toBe(etag);
  });

  it('answers 412 precondition_failed with the current note and changes nothing when If-Match is stale', async () => {
    const { app, user } = await setup();
    const { id, stale, note } = await editedNote(app, user);
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'if-match': stale },
      payload: { title: 'Lost update' },
    });
    expectUnchanged(response, note);
    expect((await current(app, user, id)).note).toEqual(note);
  });

  it('answers 200 when If-Match is *', async () => {
    const { app, user } = await setup();
    const { id } = await editedNote(app, user);
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'if-match': '*' },
      payload: { title: 'Any version' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().title).toBe('Any version');
  });
});

describe('PATCH /api/notes/:id', () => {
  it('answers 200 with the ETag that GET then answers, so the client can go on with If-Match', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Tagged' });
    const response = await patch(app, user, note.id, { title: 'Retagged' });
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).toBe((await current(app, user, note.id)).etag);
    const next = await patch(
      app,
      user,
      note.id,
      { title: 'Again' },
      { 'if-match': String(response.headers.etag) },
    );
    expect(next.statusCode).toBe(200);
  });

  it('answers 200 when If-Match is the current ETag', async () => {
    const { app, user } = await setup();
    const { id, etag, note } = await editedNote(app, user);
    const response = await patch(app, user, id, { title: 'Third' }, { 'if-match': etag });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ title: 'Third', version: note.version + 1 });
  });

  it('answers 412 precondition_failed with the current note (version, title) and changes nothing when If-Match is stale', async () => {
    const { app, user } = await setup();
    const { id, stale, note } = await editedNote(app, user);
    const response = await patch(app, user, id, { title: 'Lost update' }, { 'if-match': stale });
    expectUnchanged(response, note);
    expect(response.json().note).toMatchObject({ version: 2, title: 'Second' });
    expect((await current(app, user, id)).note).toEqual(note);
  });

  it('answers 412 when If-Match is the weak form of the current ETag (strong comparison)', async () => {
    const { app, user } = await setup();
    const { id, etag, note } = await editedNote(app, user);
    const response = await patch(app, user, id, { title: 'Weakly matched' }, { 'if-match': `W/${etag}` });
    expectUnchanged(response, note);
  });

  it('answers 200 when If-Match is *', async () => {
    const { app, user } = await setup();
    const { id } = await editedNote(app, user);
    const response = await patch(app, user, id, { title: 'Any version' }, { 'if-match': '*' });
    expect(response.statusCode).toBe(200);
    expect(response.json().title).toBe('Any version');
  });

  it('lets exactly one of two concurrent PATCHes with the same If-Match win; the other answers 412', async () => {
    const { app, user } = await setup();
    const { id, etag, note } = await editedNote(app, user);
    const titles = ['From phone', 'From laptop'];
    const responses = await Promise.all(
      titles.map((title) => patch(app, user, id, { title }, { 'if-match': etag })),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 412]);
    const winner = responses.findIndex((r) => r.statusCode === 200);
    const loser = responses[1 - winner]!;
    expectProblem(loser, 412, 'precondition_failed');
    expect(loser.json().note).toMatchObject({ title: titles[winner], version: note.version + 1 });
    const final = (await current(app, user, id)).note;
    expect(final).toMatchObject({ title: titles[winner], version: note.version + 1 });
    expect(responses[winner]!.json()).toEqual(final);
  });
});

describe('DELETE /api/notes/:id', () => {
  it('answers 204 and moves the note to the trash when If-Match is the current ETag', async () => {
    const { app, user } = await setup();
    const { id, etag } = await editedNote(app, user);
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'if-match': etag },
    });
    expect(response.statusCode).toBe(204);
    expectProblem(await read(app, user, id), 404, 'in_trash');
  });

  it('answers 412 precondition_failed with the current note and keeps it when If-Match is stale', async () => {
    const { app, user } = await setup();
    const { id, stale, note } = await editedNote(app, user);
    for (const url of [`/api/notes/${id}`, `/api/notes/${id}?purge=true`]) {
      const response = await app.inject({
        method: 'DELETE',
        url,
        headers: { ...user.headers, 'if-match': stale },
      });
      expectUnchanged(response, note);
    }
    expect((await current(app, user, id)).note).toEqual(note);
  });

  it('answers 204 when If-Match is *', async () => {
    const { app, user } = await setup();
    const { id } = await editedNote(app, user);
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'if-match': '*' },
    });
    expect(response.statusCode).toBe(204);
    expectProblem(await read(app, user, id), 404, 'in_trash');
  });
});
