import { hash } from '@node-rs/argon2';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem, signUp } from '../../test/helpers.js';

const PASSWORD = 'correct horse battery';

/** A session's tokens, and the header that sends its access token. */
type Pair = { access: string; refresh: string; headers: { authorization: string } };

function pairOf(body: { access_token: string; refresh_token: string }): Pair {
  const headers = { authorization: `Bearer ${body.access_token}` };
  return { access: body.access_token, refresh: body.refresh_token, headers };
}

/** Signs in (a new session) and returns its tokens. */
async function login(app: FastifyInstance, username: string, userAgent = 'vitest'): Promise<Pair> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'user-agent': userAgent },
    payload: { username, password: PASSWORD },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return pairOf(response.json());
}

function refresh(app: FastifyInstance, token: string) {
  return app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: token } });
}

async function meStatus(app: FastifyInstance, pair: Pair): Promise<number> {
  return (await app.inject({ method: 'GET', url: '/api/me', headers: pair.headers })).statusCode;
}

async function listSessions(app: FastifyInstance, pair: Pair) {
  const response = await app.inject({ method: 'GET', url: '/api/me/sessions', headers: pair.headers });
  expect(response.statusCode).toBe(200);
  return response.json<{ data: { id: number; user_agent: string | null; current: boolean }[] }>().data;
}

async function currentSessionId(app: FastifyInstance, pair: Pair): Promise<number> {
  return (await listSessions(app, pair)).find((s) => s.current)!.id;
}

describe('POST /api/auth/register', () => {
  it('answers a refresh token that can be traded for a new pair', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'ada', email: 'ada@example.com', password: PASSWORD },
    });
    expect(response.statusCode).toBe(201);
    expect((await refresh(app, response.json().refresh_token)).statusCode).toBe(200);
  });
});

describe('POST /api/auth/login', () => {
  it('answers a refresh token with Cache-Control: no-store', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: PASSWORD },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().refresh_token).toEqual(expect.any(String));
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('rehashes a password stored with weaker Argon2 parameters, and the new hash still verifies', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app, 'ada');
    const weak = await hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await database.db.updateTable('users').set({ password_hash: weak }).where('id', '=', user.id).execute();
    const storedHash = () =>
      database.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
    await login(app, 'ada');
    const after = (await storedHash()).password_hash;
    expect(after).not.toBe(weak);
    expect(after.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    await login(app, 'ada');
    expect((await storedHash()).password_hash).toBe(after);
  });
});

describe('POST /api/auth/refresh', () => {
  it('answers 200 with a new pair whose access token works, and spends the old refresh token', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const first = await login(app, 'ada');
    const response = await refresh(app, first.refresh);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
    });
    const next = pairOf(response.json());
    expect(next.access).not.toBe(first.access);
    expect(next.refresh).not.toBe(first.refresh);
    expect(await meStatus(app, next)).toBe(200);
    expectProblem(await refresh(app, first.refresh), 401, 'invalid_token');
  });

  it('takes the OAuth2 refresh form', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const first = await login(app, 'ada');
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=refresh_token&refresh_token=${encodeURIComponent(first.refresh)}`,
    });
    expect(response.statusCode).toBe(200);
    expect(await meStatus(app, pairOf(response.json()))).toBe(200);
    expectProblem(await refresh(app, first.refresh), 401, 'invalid_token');
  });

  it('answers 401 invalid_token to a spent token and revokes its whole session, not the others', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const first = await login(app, 'ada');
    const second = pairOf((await refresh(app, first.refresh)).json());
    const newest = pairOf((await refresh(app, second.refresh)).json());
    const other = await login(app, 'ada');
    expect(await meStatus(app, newest)).toBe(200);

    expectProblem(await refresh(app, first.refresh), 401, 'invalid_token');
    expectProblem(await refresh(app, newest.refresh), 401, 'invalid_token');
    for (const pair of [first, second, newest]) expect(await meStatus(app, pair)).toBe(401);
    expect(await meStatus(app, other)).toBe(200);
    expect((await refresh(app, other.refresh)).statusCode).toBe(200);
  });

  it('answers 401 invalid_token for an expired refresh token', async () => {
    const { app, database } = await buildTestApp();
    await signUp(app, 'ada');
    const pair = await login(app, 'ada');
    await database.db.updateTable('refresh_tokens').set({ expires_at: '2000-01-01T00:00:00.000Z' }).execute();
    expectProblem(await refresh(app, pair.refresh), 401, 'invalid_token');
  });

  it('answers 401 invalid_token with WWW-Authenticate for a token it never issued', async () => {
    const { app } = await buildTestApp();
    const response = await refresh(app, 'not-a-refresh-token');
    expectProblem(response, 401, 'invalid_token');
    expect(response.headers['www-authenticate']).toContain('Bearer');
  });

  it('answers 400 validation_failed naming refresh_token when it is missing', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: {} });
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.field)).toEqual(['refresh_token']);
  });

  it('lets exactly one of two concurrent refreshes with the same token succeed', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const pair = await login(app, 'ada');
    const answers = await Promise.all([refresh(app, pair.refresh), refresh(app, pair.refresh)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });
});

describe('POST /api/auth/logout', () => {
  it('answers 204 and ends the session: its access and refresh tokens answer 401, other sessions go on', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const leaving = await login(app, 'ada');
    const staying = await login(app, 'ada');
    const response = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: leaving.headers });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect(await meStatus(app, leaving)).toBe(401);
    expectProblem(await refresh(app, leaving.refresh), 401, 'invalid_token');
    expect(await meStatus(app, staying)).toBe(200);
    expect((await refresh(app, staying.refresh)).statusCode).toBe(200);
  });

  it('answers 401 with WWW-Authenticate without a token', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'POST', url: '/api/auth/logout' });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toContain('Bearer');
  });
});

describe('GET /api/me/sessions', () => {
  it('lists live sessions with their user agent, marking only the calling one current', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    await signUp(app, 'bob');
    const phone = await login(app, 'ada', 'FolioPhone/1.0');
    await login(app, 'ada', 'FolioDesktop/2.0');
    await login(app, 'bob', 'BobBrowser/3.0');
    const sessions = await listSessions(app, phone);
    expect(sessions).toHaveLength(3); // ada's sign-up, phone and desktop
    for (const session of sessions) {
      expect(session).toEqual({
        id: expect.any(Number),
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        last_used_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        user_agent: expect.any(String),
        current: expect.any(Boolean),
      });
    }
    expect(sessions.filter((s) => s.current).map((s) => s.user_agent)).toEqual(['FolioPhone/1.0']);
    expect(sessions.map((s) => s.user_agent)).toContain('FolioDesktop/2.0');
    expect(sessions.map((s) => s.user_agent)).not.toContain('BobBrowser/3.0');
  });

  it('leaves out revoked sessions', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const keeper = await login(app, 'ada', 'Keeper/1.0');
    const leaver = await login(app, 'ada', 'Leaver/1.0');
    await app.inject({ method: 'POST', url: '/api/auth/logout', headers: leaver.headers });
    const agents = (await listSessions(app, keeper)).map((s) => s.user_agent);
    expect(agents).toContain('Keeper/1.0');
    expect(agents).not.toContain('Leaver/1.0');
  });
});

describe('DELETE /api/me/sessions/:id', () => {
  it('answers 204 and stops that session’s access and refresh tokens at once', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const mine = await login(app, 'ada');
    const lost = await login(app, 'ada');
    const id = await currentSessionId(app, lost);
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/me/sessions/${id}`,
      headers: mine.headers,
    });
    expect(response.statusCode).toBe(204);
    expect(await meStatus(app, lost)).toBe(401);
    expectProblem(await refresh(app, lost.refresh), 401, 'invalid_token');
    expect(await meStatus(app, mine)).toBe(200);
    expect((await listSessions(app, mine)).map((s) => s.id)).not.toContain(id);
  });

  it('answers 404 not_found for a session of another user, which keeps working', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    await signUp(app, 'bob');
    const ada = await login(app, 'ada');
    const bob = await login(app, 'bob');
    const id = await currentSessionId(app, bob);
    const response = await app.inject({
      method: 'DELETE',
      url: `/api/me/sessions/${id}`,
      headers: ada.headers,
    });
    expectProblem(response, 404, 'not_found');
    expect(await meStatus(app, bob)).toBe(200);
    expect((await refresh(app, bob.refresh)).statusCode).toBe(200);
  });

  it('answers 404 not_found for an unknown session id', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await app.inject({
      method: 'DELETE',
      url: '/api/me/sessions/9999',
      headers: ada.headers,
    });
    expectProblem(response, 404, 'not_found');
  });
});

describe('PATCH /api/me', () => {
  it('ends every other session on a password change but keeps the one that made it', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const changer = await login(app, 'ada');
    const others = [await login(app, 'ada'), await login(app, 'ada')];
    const response = await app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers: changer.headers,
      payload: { password: 'a brand new passphrase', current_password: PASSWORD },
    });
    expect(response.statusCode).toBe(200);
    for (const other of others) {
      expect(await meStatus(app, other)).toBe(401);
      expectProblem(await refresh(app, other.refresh), 401, 'invalid_token');
    }
    expect(await meStatus(app, changer)).toBe(200);
    expect((await refresh(app, changer.refresh)).statusCode).toBe(200);
  });
});
