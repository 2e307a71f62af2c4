import { describe, it, expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { FORM, clockPast, fieldsOf, post, setup, type NoteBody } from '../../test/notes-helpers.js';

// Behaviour of /api/notes/{id}, each test on its own fresh database.

/** A 404 body with the note id taken out of `detail`, to compare two answers' shape and wording. */
function withoutId(response: LightMyRequestResponse, id: number): unknown {
  const body = response.json<{ detail: string }>();
  return { ...body, detail: body.detail.replace(String(id), '{id}') };
}

describe('GET /api/notes/:id', () => {
  it('answers 200 with the note and the ETag it was created with', async () => {
    const { app, user } = await setup();
    const created = await post(app, user, { title: 'Read me', content: 'body', tags: ['x'] });
    const note = created.json<NoteBody>();
    const response = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(note);
    expect(response.headers.etag).toBe(created.headers.etag);
  });

  it('answers 404 not_found for a note that never existed', async () => {
    const { app, user } = await setup();
    const problem = expectProblem(
      await app.inject({ url: '/api/notes/999', headers: user.headers }),
      404,
      'not_found',
    );
    expect(problem.detail).toContain('999');
  });

  it.each(['abc', '1.5', '0', '-3'])('answers 400 validation_failed naming id for the id %s', async (id) => {
    const { app, user } = await setup();
    const problem = expectProblem(
      await app.inject({ url: `/api/notes/${id}`, headers: user.headers }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(problem)).toEqual(['id']);
  });

  it('answers 400 naming id for an id past the largest a note can have, or Infinity', async () => {
    const { app, user } = await setup();
    for (const id of ['2147483648', '9007199254740991', 'Infinity', '1e400']) {
      const response = await app.inject({ url: `/api/notes/${id}`, headers: user.headers });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed')), id).toEqual(['id']);
    }
    expectProblem(
      await app.inject({ url: '/api/notes/2147483647', headers: user.headers }),
      404,
      'not_found',
    );
  });

  it('answers 404 not_found for another user’s note, exactly like a note that never existed', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Private' });
    const foreign = await app.inject({ url: `/api/notes/${note.id}`, headers: other.headers });
    const missing = await app.inject({ url: '/api/notes/999', headers: other.headers });
    expectProblem(foreign, 404, 'not_found');
    expect(foreign.headers['content-type']).toBe(missing.headers['content-type']);
    expect(withoutId(foreign, note.id)).toEqual(withoutId(missing, 999));
  });

  it('answers 401 with WWW-Authenticate when no token is sent', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Mine' });
    const response = await app.inject({ url: `/api/notes/${note.id}` });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('PUT /api/notes/:id', () => {
  it('replaces the whole note: fields left out return to their defaults and version grows by 1', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, {
      title: 'Old',
      content: 'old body',
      tags: ['a', 'b'],
      pinned: true,
      archived: true,
    });
    await clockPast(note.updated_at);
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { title: 'New' },
    });
    expect(response.statusCode).toBe(200);
    const replaced = response.json<NoteBody>();
    expect(replaced).toEqual({
      ...note,
      title: 'New',
      content: '',
      tags: [],
      pinned: false,
      archived: false,
      version: 2,
      updated_at: replaced.updated_at,
    });
    expect(Date.parse(replaced.updated_at)).toBeGreaterThan(Date.parse(note.updated_at));
    expect(response.headers.etag).toBeDefined();
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.json()).toEqual(replaced);
    expect(read.headers.etag).toBe(response.headers.etag);
  });

  it('answers 404 not_found for a note that does not exist', async () => {
    const { app, user } = await setup();
    const response = await app.inject({
      method: 'PUT',
      url: '/api/notes/999',
      headers: user.headers,
      payload: { title: 'x' },
    });
    expectProblem(response, 404, 'not_found');
  });

  it('answers 400 naming version when the client sends it', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Versioned' });
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { title: 'x', version: 9 },
    });
    expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['version']);
  });

  it('answers 404 for another user’s note, like one that never existed, and leaves it unchanged', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Private' });
    const foreign = await app.inject({
      method: 'PUT',
      url: `/api/notes/${note.id}`,
      headers: other.headers,
      payload: { title: 'Mine now' },
    });
    const missing = await app.inject({
      method: 'PUT',
      url: '/api/notes/999',
      headers: other.headers,
      payload: { title: 'Mine now' },
    });
    expectProblem(foreign, 404, 'not_found');
    expect(withoutId(foreign, note.id)).toEqual(withoutId(missing, 999));
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.json()).toEqual(note);
  });

  it('answers 415 unsupported_media_type for form data', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Form' });
    const response = await app.inject({
      method: 'PUT',
      url: `/api/notes/${note.id}`,
      headers: { ...user.headers, ...FORM },
      payload: 'title=Changed',
    });
    expectProblem(response, 415, 'unsupported_media_type');
  });
});

describe('PATCH /api/notes/:id', () => {
  function patch(
    app: FastifyInstance,
    user: SignedUp,
    id: number,
    body: unknown,
    type = 'application/merge-patch+json',
  ) {
    return app.inject({
      method: 'PATCH',
      url: `/api/notes/${id}`,
      headers: { ...user.headers, 'content-type': type },
      payload: JSON.stringify(body),
    });
  }

  it.each(['application/merge-patch+json', 'application/json'])(
    'changes only the members sent when the body is %s',
    async (type) => {
      const { app, user } = await setup();
      const note = await createNote(app, user, { title: 'Keep', content: 'body', tags: ['t'], pinned: true });
      const response = await patch(app, user, note.id, { content: 'changed' }, type);
      expect(response.statusCode).toBe(200);
      const patched = response.json<NoteBody>();
      expect(patched).toMatchObject({
        title: 'Keep',
        content: 'changed',
        tags: ['t'],
        pinned: true,
        archived: false,
        version: 2,
      });
      expect(patched.created_at).toBe(note.created_at);
    },
  );

  it('resets content to "" and tags to [] when they are null', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Reset', content: 'body', tags: ['a', 'b'] });
    const response = await patch(app, user, note.id, { content: null, tags: null });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ title: 'Reset', content: '', tags: [], version: 2 });
  });

  it('answers 400 naming title when title is null, and changes nothing', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Named', content: 'body' });
    const response = await patch(app, user, note.id, { title: null, content: 'other' });
    expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['title']);
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.json()).toEqual(note);
  });

  it('answers 400 for client-set fields and unknown members, naming each', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Guarded' });
    const response = await patch(app, user, note.id, {
      version: 5,
      updated_at: '2020-01-01T00:00:00.000Z',
      colour: 'red',
    });
    const fields = fieldsOf(expectProblem(response, 400, 'validation_failed'));
    expect([...fields].sort()).toEqual(['colour', 'updated_at', 'version']);
  });

  it('answers 400 naming only the bad tag, not tags as a whole, when one tag of a list is bad', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Tagged', tags: ['keep'] });
    const response = await patch(app, user, note.id, { tags: ['fine', 'a,b'] });
    // Not also `tags: must be null`: the list is a list, one of its tags is what is wrong.
    expect(expectProblem(response, 400, 'validation_failed').errors).toEqual([
      {
        field: 'tags[1]',
        message:
          'must not contain commas, control characters or unpaired surrogates, nor begin or end with a space',
      },
    ]);
    const wrongType = await patch(app, user, note.id, { tags: 'single', content: 5 });
    expect(fieldsOf(expectProblem(wrongType, 400, 'validation_failed'))).toEqual(['content', 'tags']);
  });

  it('answers 400 instead of coercing "pinned": "true"', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Strict' });
    const response = await patch(app, user, note.id, { pinned: 'true' });
    expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['pinned']);
  });

  it('keeps version, updated_at and ETag when the patch changes nothing', async () => {
    const { app, user } = await setup();
    const created = await post(app, user, { title: 'Same', content: 'body', tags: ['work'] });
    const note = created.json<NoteBody>();
    await clockPast(note.updated_at);
    for (const body of [{}, { title: 'Same' }, { content: 'body', tags: ['Work'] }]) {
      const response = await patch(app, user, note.id, body);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(note);
      expect(response.headers.etag).toBe(created.headers.etag);
    }
  });

  it('grows version by exactly 1, moves updated_at and changes the ETag on a real change', async () => {
    const { app, user } = await setup();
    const created = await post(app, user, { title: 'Before' });
    const note = created.json<NoteBody>();
    await clockPast(note.updated_at);
    const first = await patch(app, user, note.id, { title: 'After' });
    const changed = first.json<NoteBody>();
    expect(changed.version).toBe(2);
    expect(Date.parse(changed.updated_at)).toBeGreaterThan(Date.parse(note.updated_at));
    expect(changed.created_at).toBe(note.created_at);
    expect(first.headers.etag).not.toBe(created.headers.etag);
    const second = await patch(app, user, note.id, { pinned: true });
    expect(second.json<NoteBody>().version).toBe(3);
  });

  it('answers 404 not_found for a note that does not exist', async () => {
    const { app, user } = await setup();
    expectProblem(await patch(app, user, 999, { title: 'x' }), 404, 'not_found');
  });

  it('answers 404 for another user’s note, like one that never existed, and leaves it unchanged', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Private', content: 'secret' });
    const foreign = await patch(app, other, note.id, { content: null });
    const missing = await patch(app, other, 999, { content: null });
    expectProblem(foreign, 404, 'not_found');
    expect(withoutId(foreign, note.id)).toEqual(withoutId(missing, 999));
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.json()).toEqual(note);
  });

  it('answers 415 unsupported_media_type for form data', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Form' });
    const response = await app.inject({
      method: 'PATCH',
      url: `/api/notes/${note.id}`,
      headers: { ...user.headers, ...FORM },
      payload: 'title=Changed',
    });
    expectProblem(response, 415, 'unsupported_media_type');
  });
});

describe('DELETE /api/notes/:id', () => {
  it('answers 204 with no body, after which the note answers 404', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Doomed' });
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
    });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.statusCode).toBe(404);
    // not_found today; in_trash once deleted notes go to the trash (product.md, "Sync").
    expect(['not_found', 'in_trash']).toContain(read.json<{ code: string }>().code);
  });

  it('answers 404 when the note was already deleted', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Twice' });
    await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
    const again = await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
    expect(again.statusCode).toBe(404);
    expect(['not_found', 'in_trash']).toContain(again.json<{ code: string }>().code);
  });

  it('answers 404 not_found for a note that never existed', async () => {
    const { app, user } = await setup();
    expectProblem(
      await app.inject({ method: 'DELETE', url: '/api/notes/999', headers: user.headers }),
      404,
      'not_found',
    );
  });

  it('answers 404 for another user’s note, like one that never existed, and keeps it', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const note = await createNote(app, user, { title: 'Private' });
    const foreign = await app.inject({
      method: 'DELETE',
      url: `/api/notes/${note.id}`,
      headers: other.headers,
    });
    const missing = await app.inject({ method: 'DELETE', url: '/api/notes/999', headers: other.headers });
    expectProblem(foreign, 404, 'not_found');
    expect(withoutId(foreign, note.id)).toEqual(withoutId(missing, 999));
    const read = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(read.statusCode).toBe(200);
  });

  it('answers 401 with WWW-Authenticate when no token is sent, and keeps the note', async () => {
    const { app, user } = await setup();
    const note = await createNote(app, user, { title: 'Safe' });
    const response = await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}` });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers })).statusCode).toBe(200);
  });
});
