import { describe, it, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { list, setup, type NoteBody } from '../../test/notes-helpers.js';

// Idempotency-Key on POST /api/notes, each test on its own fresh database.

function postWithKey(app: FastifyInstance, user: SignedUp, key: string, payload: object) {
  return app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: { ...user.headers, 'idempotency-key': key },
    payload,
  });
}

/** How many notes the user has, as GET /api/notes counts them. */
async function total(app: FastifyInstance, user: SignedUp): Promise<number> {
  return (await list(app, user)).body.meta.total!;
}

describe('POST /api/notes with Idempotency-Key', () => {
  it('answers a retry with the same key and body with the first answer, marked Idempotent-Replayed, and creates one note', async () => {
    const { app, user } = await setup();
    const payload = { title: 'Buy milk', content: 'two litres', tags: ['errands'] };
    const first = await postWithKey(app, user, 'create-1', payload);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const retry = await postWithKey(app, user, 'create-1', payload);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json<NoteBody>().id).toBe(first.json<NoteBody>().id);
    expect(retry.json()).toEqual(first.json());
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(await total(app, user)).toBe(1);
  });

  it('treats the same body with its members in another order as the same request', async () => {
    const { app, user } = await setup();
    const first = await postWithKey(app, user, 'k', { title: 'Same', content: 'body' });
    const retry = await postWithKey(app, user, 'k', { content: 'body', title: 'Same' });
    expect(retry.statusCode).toBe(201);
    expect(retry.json<NoteBody>().id).toBe(first.json<NoteBody>().id);
    expect(await total(app, user)).toBe(1);
  });

  it('answers 409 idempotency_key_reused and creates nothing when the same key comes with another body', async () => {
    const { app, user } = await setup();
    expect((await postWithKey(app, user, 'create-1', { title: 'Buy milk' })).statusCode).toBe(201);
    const reused = await postWithKey(app, user, 'create-1', { title: 'Buy bread' });
    expectProblem(reused, 409, 'idempotency_key_reused');
    expect(await total(app, user)).toBe(1);
    expect((await list(app, user)).body.data.map((n) => n.title)).toEqual(['Buy milk']);
  });

  it('keeps keys per user: another user’s same key and body creates their own note', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const payload = { title: 'Shared key' };
    const mine = await postWithKey(app, user, 'same-key', payload);
    const theirs = await postWithKey(app, other, 'same-key', payload);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json<NoteBody>().id).not.toBe(mine.json<NoteBody>().id);
    expect(await total(app, user)).toBe(1);
    expect(await total(app, other)).toBe(1);
    const readBack = await app.inject({
      url: `/api/notes/${theirs.json<NoteBody>().id}`,
      headers: other.headers,
    });
    expect(readBack.statusCode).toBe(200);
  });

  it('does not spend a key on a request rejected as invalid: the corrected retry creates the note', async () => {
    const { app, user } = await setup();
    expectProblem(await postWithKey(app, user, 'fix-me', { title: '' }), 400, 'validation_failed');
    const fixed = await postWithKey(app, user, 'fix-me', { title: 'Fixed' });
    expect(fixed.statusCode).toBe(201);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    expect(await total(app, user)).toBe(1);
  });

  it('creates one note when 10 requests with the same key and body arrive at once', async () => {
    const { app, user } = await setup();
    const payload = { title: 'Flaky network', tags: ['retry'] };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => postWithKey(app, user, 'burst', payload)),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    const ids = new Set(responses.map((r) => r.json<NoteBody>().id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    expect(await total(app, user)).toBe(1);
  });

  it('forgets a key after 24 hours: a retry then creates a new note', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const payload = { title: 'Yesterday' };
    const first = await postWithKey(app, user, 'old-key', payload);
    const dayAndAHourAgo = new Date(Date.now() - 25 * 3_600_000).toISOString();
    await database.db.updateTable('idempotency_keys').set({ created_at: dayAndAHourAgo }).execute();
    const retry = await postWithKey(app, user, 'old-key', payload);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.json<NoteBody>().id).not.toBe(first.json<NoteBody>().id);
    expect(await total(app, user)).toBe(2);
    // The key now holds the new answer.
    const again = await postWithKey(app, user, 'old-key', payload);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json<NoteBody>().id).toBe(retry.json<NoteBody>().id);
  });

  it('still replays a key that is 23 hours old', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const first = await postWithKey(app, user, 'recent', { title: 'Recent' });
    const hoursAgo = new Date(Date.now() - 23 * 3_600_000).toISOString();
    await database.db.updateTable('idempotency_keys').set({ created_at: hoursAgo }).execute();
    const retry = await postWithKey(app, user, 'recent', { title: 'Recent' });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json<NoteBody>().id).toBe(first.json<NoteBody>().id);
    expect(await total(app, user)).toBe(1);
  });

  it.each([
    ['empty', ''],
    ['256 characters long', 'k'.repeat(256)],
  ])('answers 400 validation_failed and creates nothing when the key is %s', async (_name, key) => {
    const { app, user } = await setup();
    expectProblem(await postWithKey(app, user, key, { title: 'Bad key' }), 400, 'validation_failed');
    expect(await total(app, user)).toBe(0);
  });

  it('accepts a key of 255 characters', async () => {
    const { app, user } = await setup();
    const key = 'k'.repeat(255);
    const first = await postWithKey(app, user, key, { title: 'Long key' });
    expect(first.statusCode).toBe(201);
    const retry = await postWithKey(app, user, key, { title: 'Long key' });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await total(app, user)).toBe(1);
  });

  it('creates a new note for every POST without a key', async () => {
    const { app, user } = await setup();
    const payload = { title: 'No key' };
    const a = await app.inject({ method: 'POST', url: '/api/notes', headers: user.headers, payload });
    const b = await app.inject({ method: 'POST', url: '/api/notes', headers: user.headers, payload });
    expect(a.json<NoteBody>().id).not.toBe(b.json<NoteBody>().id);
    expect(await total(app, user)).toBe(2);
  });
});
