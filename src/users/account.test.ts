import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { TEST_DIALECT } from '../../test/helpers.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

function patchMe(app: FastifyInstance, headers: Record<string, string>, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: '/api/me', headers, payload });
}

function deleteMe(app: FastifyInstance, headers: Record<string, string>, payload: Record<string, unknown>) {
  return app.inject({ method: 'DELETE', url: '/api/me', headers, payload });
}

async function loginStatus(app: FastifyInstance, username: string, password: string): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password },
  });
  return response.statusCode;
}

/** Creates an API key with both scopes and returns its secret. */
async function createKey(app: FastifyInstance, user: SignedUp): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/keys',
    headers: user.headers,
    payload: { name: 'script' },
  });
  if (response.statusCode !== 201) throw new Error(`key failed: ${response.statusCode} ${response.body}`);
  return response.json<{ key: string }>().key;
}

/** The same key, sent both ways a key may be sent. */
function keyHeaders(key: string): Record<string, string>[] {
  return [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }];
}

describe('GET /api/me', () => {
  it('answers the user to an API key', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const key = await createKey(app, ada);
    for (const headers of keyHeaders(key)) {
      const response = await app.inject({ method: 'GET', url: '/api/me', headers });
      expect(response.statusCode).toBe(200);
      expect(response.json().username).toBe('ada');
    }
  });
});

describe('PATCH /api/me', () => {
  it('answers 200 with the new email, which then signs in', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await patchMe(app, ada.headers, { email: 'lovelace@example.org' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: ada.id, username: 'ada', email: 'lovelace@example.org' });
    expect(await loginStatus(app, 'lovelace@example.org', PASSWORD)).toBe(200);
    expect(await loginStatus(app, 'ada@example.com', PASSWORD)).toBe(401);
  });

  it('answers 409 email_taken for an email another account has, in any case', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    await signUp(app, 'bob');
    for (const email of ['bob@example.com', 'BOB@Example.COM']) {
      expectProblem(await patchMe(app, ada.headers, { email }), 409, 'email_taken');
    }
    const me = await app.inject({ method: 'GET', url: '/api/me', headers: ada.headers });
    expect(me.json().email).toBe('ada@example.com');
  });

  it('answers 400 validation_failed for an invalid email', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const problem = expectProblem(
      await patchMe(app, ada.headers, { email: 'not-an-email' }),
      400,
      'validation_failed',
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(['email']);
  });

  it('answers 400 naming an unknown member, and changes nothing', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await patchMe(app, ada.headers, { email: 'new@example.com', username: 'mallory' });
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ field: 'username', message: 'is not a known member' }]);
    const me = await app.inject({ method: 'GET', url: '/api/me', headers: ada.headers });
    expect(me.json()).toMatchObject({ username: 'ada', email: 'ada@example.com' });
  });

  it('answers 400 validation_failed naming current_password for a new password without it', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const problem = expectProblem(
      await patchMe(app, ada.headers, { password: NEW_PASSWORD }),
      400,
      'validation_failed',
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(['current_password']);
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
  });

  it('answers 403 forbidden for a wrong current_password, and the password stays', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await patchMe(app, ada.headers, {
      password: NEW_PASSWORD,
      current_password: 'not it at all',
    });
    expectProblem(response, 403, 'forbidden');
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
    expect(await loginStatus(app, 'ada', NEW_PASSWORD)).toBe(401);
  });

  it('answers 200 for the right current_password: the new password signs in and the old one does not', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await patchMe(app, ada.headers, { password: NEW_PASSWORD, current_password: PASSWORD });
    expect(response.statusCode).toBe(200);
    expect(response.json().username).toBe('ada');
    expect(response.body).not.toContain(NEW_PASSWORD);
    expect(await loginStatus(app, 'ada', NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(401);
  });

  it('answers 400 validation_failed for a new password shorter than 8 characters', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await patchMe(app, ada.headers, { password: 'short', current_password: PASSWORD });
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.field)).toEqual(['password']);
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
  });

  it('answers 403 forbidden to an API key', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const key = await createKey(app, ada);
    for (const headers of keyHeaders(key)) {
      expectProblem(await patchMe(app, headers, { email: 'stolen@example.com' }), 403, 'forbidden');
    }
    const me = await app.inject({ method: 'GET', url: '/api/me', headers: ada.headers });
    expect(me.json().email).toBe('ada@example.com');
  });
});

describe('DELETE /api/me', () => {
  it('answers 400 validation_failed naming password without one', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const problem = expectProblem(await deleteMe(app, ada.headers, {}), 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.field)).toEqual(['password']);
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
  });

  it('answers 403 forbidden for a wrong password and keeps the account', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    expectProblem(await deleteMe(app, ada.headers, { password: 'not it at all' }), 403, 'forbidden');
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
  });

  it('answers 204 and deletes the account with its notes, sessions, keys and search entries', async () => {
    const { app, database } = await buildTestApp();
    const db = database.db;
    const ada = await signUp(app, 'ada');
    const bob = await signUp(app, 'bob');
    await createNote(app, ada, { title: 'Shared word lighthouse', content: 'ada one' });
    await createNote(app, ada, { title: 'Another lighthouse', content: 'ada two' });
    const bobNote = await createNote(app, bob, { title: 'Bob lighthouse', content: 'bob one' });
    const key = await createKey(app, ada);
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200); // a second session

    const response = await deleteMe(app, ada.headers, { password: PASSWORD });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');

    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: ada.headers })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } })).statusCode,
    ).toBe(401);
    const count = async (table: 'notes' | 'sessions' | 'api_keys', column: 'owner_id' | 'user_id') =>
      (await db.selectFrom(table).select(column).where(column, '=', ada.id).execute()).length;
    expect(await count('notes', 'owner_id')).toBe(0);
    expect(await count('sessions', 'user_id')).toBe(0);
    expect(await count('api_keys', 'user_id')).toBe(0);
    // SQLite keeps search entries in a table of their own; PostgreSQL's live in the note's row.
    const indexed =
      TEST_DIALECT === 'sqlite'
        ? sql<{ n: number }>`select count(*) as n from notes_fts`
        : sql<{ n: number }>`select count(*) as n from notes where search_vector is not null`;
    expect(Number((await indexed.execute(db)).rows[0]!.n)).toBe(1);

    const notes = await app.inject({ method: 'GET', url: '/api/notes', headers: bob.headers });
    expect(notes.json().data.map((n: { id: number }) => n.id)).toEqual([bobNote.id]);
    const search = await app.inject({ method: 'GET', url: '/api/notes?q=lighthouse', headers: bob.headers });
    expect(search.statusCode).toBe(200);
    expect(search.json().data.map((n: { id: number }) => n.id)).toEqual([bobNote.id]);
  });

  it('answers 403 forbidden to an API key, and keeps the account', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const key = await createKey(app, ada);
    for (const headers of keyHeaders(key)) {
      expectProblem(await deleteMe(app, headers, { password: PASSWORD }), 403, 'forbidden');
    }
    expect(await loginStatus(app, 'ada', PASSWORD)).toBe(200);
  });
});

describe('GET /api/me/sessions', () => {
  it('answers 403 forbidden to an API key', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const key = await createKey(app, ada);
    for (const headers of keyHeaders(key)) {
      const response = await app.inject({ method: 'GET', url: '/api/me/sessions', headers });
      expectProblem(response, 403, 'forbidden');
    }
  });
});
