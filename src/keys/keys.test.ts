import type { FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';

const PASSWORD = 'correct horse battery';

interface NewKey {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  key: string;
  [member: string]: unknown;
}

type App = FastifyInstance;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Creates a key as the signed-in user and returns the 201 body. */
async function newKey(app: App, user: SignedUp, payload: object = { name: 'script' }): Promise<NewKey> {
  const response = await app.inject({ method: 'POST', url: '/api/keys', headers: user.headers, payload });
  if (response.statusCode !== 201)
    throw new Error(`key creation failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** The status of one request, for checks where only the status matters. */
async function statusOf(app: App, method: Method, url: string, headers: object, payload?: object) {
  return (await app.inject({ method, url, headers: { ...headers }, payload })).statusCode;
}

function basic(login: string, secret: string) {
  return { authorization: `Basic ${Buffer.from(`${login}:${secret}`).toString('base64')}` };
}

function bearer(key: string) {
  return { authorization: `Bearer ${key}` };
}

describe('POST /api/keys', () => {
  it('answers 201 with the key fields and the secret, and stores only its hash', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const payload = { name: 'backup script' };
    const response = await app.inject({ method: 'POST', url: '/api/keys', headers: user.headers, payload });
    expect(response.statusCode).toBe(201);
    const body = response.json<NewKey>();
    expect(body).toEqual({
      id: expect.any(Number),
      name: 'backup script',
      prefix: expect.stringMatching(/^folio_/),
      scopes: ['notes:read', 'notes:write'],
      created_at: expect.any(String),
      expires_at: null,
      last_used_at: null,
      key: expect.stringMatching(/^folio_/),
    });
    expect(body.key.startsWith(body.prefix)).toBe(true);
    expect(response.headers.location).toBe(`/api/keys/${body.id}`);
    expect(response.headers['cache-control']).toBe('no-store');
    const rows = await database.db.selectFrom('api_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Object.values(rows[0]!)).not.toContain(body.key);
    expect(JSON.stringify(rows)).not.toContain(body.key);
  });

  it('answers 400 validation_failed naming the field for each bad input', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'k', scopes: ['notes:admin'] }, 'scopes[0]'],
      [{ name: 'k', scopes: ['notes:read', 'notes:read'] }, 'scopes'],
      [{ name: 'k', scopes: [] }, 'scopes'],
      [{ name: 'k', expires_at: new Date(Date.now() - 60_000).toISOString() }, 'expires_at'],
      [{ name: 'k', expires_at: 'next tuesday' }, 'expires_at'],
      // RFC 3339 has leap seconds, JavaScript dates do not: this was a 500.
      [{ name: 'k', expires_at: '2999-12-31T23:59:60Z' }, 'expires_at'],
      [{ name: 'k', color: 'red' }, 'color'],
      // Half a surrogate pair would be stored as U+FFFD: another name than the one sent.
      [{ name: 'half \ud800' }, 'name'],
    ];
    for (const [payload, field] of cases) {
      const response = await app.inject({ method: 'POST', url: '/api/keys', headers: user.headers, payload });
      const problem = expectProblem(response, 400, 'validation_failed');
      expect(problem.errors, JSON.stringify(payload)).toEqual([{ field, message: expect.any(String) }]);
    }
    const payload = { name: '', scopes: [], expires_at: 'soon', color: 'red' };
    const all = await app.inject({ method: 'POST', url: '/api/keys', headers: user.headers, payload });
    const problem = expectProblem(all, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['color', 'expires_at', 'name', 'scopes']);
    const list = await app.inject({ method: 'GET', url: '/api/keys', headers: user.headers });
    expect(list.json().data).toEqual([]);
  });
});

describe('GET /api/keys', () => {
  it('lists the keys without their secrets', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const created = await newKey(app, user, { name: 'reader', scopes: ['notes:read'] });
    const response = await app.inject({ method: 'GET', url: '/api/keys', headers: user.headers });
    expect(response.statusCode).toBe(200);
    const { key, ...fields } = created;
    expect(response.json()).toEqual({ data: [fields] });
    expect(response.body).not.toContain(key);
  });

  it('shows last_used_at once the key has been used', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const created = await newKey(app, user);
    expect(created.last_used_at).toBeNull();
    expect(await statusOf(app, 'GET', '/api/notes', bearer(created.key))).toBe(200);
    const list = await app.inject({ method: 'GET', url: '/api/keys', headers: user.headers });
    const lastUsed = list.json().data[0].last_used_at;
    expect(lastUsed).toEqual(expect.any(String));
    expect(Number.isNaN(Date.parse(lastUsed))).toBe(false);
  });
});

describe('DELETE /api/keys/:id', () => {
  it('answers 204 and the key stops working at once', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const { id, key } = await newKey(app, user);
    expect(await statusOf(app, 'GET', '/api/notes', bearer(key))).toBe(200);
    const response = await app.inject({ method: 'DELETE', url: `/api/keys/${id}`, headers: user.headers });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    for (const headers of [bearer(key), { 'x-api-key': key }, basic(user.username, key)]) {
      const after = await app.inject({ method: 'GET', url: '/api/notes', headers });
      expect(after.statusCode).toBe(401);
      expect(after.headers['www-authenticate']).toBeDefined();
    }
  });

  it("answers 404 not_found for another user's key and for an unknown id", async () => {
    const { app } = await buildTestApp();
    const owner = await signUp(app);
    const other = await signUp(app);
    const { id, key } = await newKey(app, owner);
    for (const url of [`/api/keys/${id}`, '/api/keys/9999']) {
      expectProblem(await app.inject({ method: 'DELETE', url, headers: other.headers }), 404, 'not_found');
    }
    expect(await statusOf(app, 'GET', '/api/notes', bearer(key))).toBe(200);
  });
});

describe('/api with an API key', () => {
  it('accepts the key as Bearer, as X-API-Key and as HTTP Basic with the username or email', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app, 'ada');
    const { key } = await newKey(app, user);
    const ways = [bearer(key), { 'x-api-key': key }, basic('ada', key), basic('ada@example.com', key)];
    for (const headers of ways) {
      const response = await app.inject({ method: 'GET', url: '/api/me', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(200);
      expect(response.json().username).toBe('ada');
    }
  });

  it("answers 401 for HTTP Basic with another user's name and this key", async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app, 'ada');
    await signUp(app, 'grace');
    const { key } = await newKey(app, user);
    for (const login of ['grace', 'nobody']) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers: basic(login, key) });
      expectProblem(response, 401, 'invalid_token');
      expect(response.headers['www-authenticate']).toBeDefined();
    }
  });

  it('answers 401 invalid_token with WWW-Authenticate for a wrong key', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const { key } = await newKey(app, user);
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (const headers of [bearer(wrong), { 'x-api-key': wrong }, bearer('folio_nope')]) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers });
      expectProblem(response, 401, 'invalid_token');
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('answers 401 token_expired once the key has expired', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const { key } = await newKey(app, user, { name: 'k', expires_at: expiresAt });
    expect(await statusOf(app, 'GET', '/api/notes', bearer(key))).toBe(200);
    // Two hours on: the key has expired, though the server checked it (and kept the answer) before.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 7_200_000 });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    for (const headers of [bearer(key), { 'x-api-key': key }]) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers });
      expectProblem(response, 401, 'token_expired');
      expect(response.headers['www-authenticate']).toBeDefined();
    }
  });
});

describe('/api with a scoped API key', () => {
  it('lets a notes:read key read notes and tags but answers 403 insufficient_scope to writes', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const note = await createNote(app, user, { title: 'Kept', tags: ['a'] });
    const { key } = await newKey(app, user, { name: 'reader', scopes: ['notes:read'] });
    const headers = bearer(key);
    for (const url of ['/api/notes', `/api/notes/${note.id}`, '/api/tags']) {
      expect(await statusOf(app, 'GET', url, headers), url).toBe(200);
    }
    const writes = [
      { method: 'POST' as const, url: '/api/notes', payload: { title: 'New' } },
      { method: 'PUT' as const, url: `/api/notes/${note.id}`, payload: { title: 'Replaced' } },
      { method: 'PATCH' as const, url: `/api/notes/${note.id}`, payload: { title: 'Patched' } },
      { method: 'DELETE' as const, url: `/api/notes/${note.id}` },
    ];
    for (const request of writes) {
      expectProblem(await app.inject({ ...request, headers }), 403, 'insufficient_scope');
    }
    const unchanged = await app.inject({ method: 'GET', url: `/api/notes/${note.id}`, headers });
    expect(unchanged.json()).toMatchObject({ title: 'Kept', version: 1 });
  });

  it('lets a notes:write key read and write notes', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const { key } = await newKey(app, user, { name: 'writer', scopes: ['notes:write'] });
    const headers = { 'x-api-key': key };
    const created = await app.inject({ method: 'POST', url: '/api/notes', headers, payload: { title: 'A' } });
    expect(created.statusCode).toBe(201);
    const url = `/api/notes/${created.json().id}`;
    for (const read of ['/api/notes', url, '/api/tags']) {
      expect(await statusOf(app, 'GET', read, headers), read).toBe(200);
    }
    expect(await statusOf(app, 'PUT', url, headers, { title: 'B' })).toBe(200);
    expect(await statusOf(app, 'PATCH', url, headers, { pinned: true })).toBe(200);
    expect(await statusOf(app, 'DELETE', url, headers)).toBe(204);
  });

  it('lets a key read GET /api/me but answers 403 forbidden to it on the keys, the account and sessions', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const { id, key } = await newKey(app, user, { name: 'writer', scopes: ['notes:write'] });
    const headers = bearer(key);
    expect(await statusOf(app, 'GET', '/api/me', headers)).toBe(200);
    const personal: [Method, string, object?][] = [
      ['GET', '/api/keys'],
      ['POST', '/api/keys', { name: 'another' }],
      ['DELETE', `/api/keys/${id}`],
      ['PATCH', '/api/me', { email: 'new@example.com' }],
      ['DELETE', '/api/me', { password: PASSWORD }],
      ['GET', '/api/me/sessions'],
    ];
    for (const [method, url, payload] of personal) {
      const response = await app.inject({ method, url, headers, payload });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expectProblem(response, 403, 'forbidden');
    }
    const list = await app.inject({ method: 'GET', url: '/api/keys', headers: user.headers });
    expect(list.json().data.map((k: { id: number }) => k.id)).toEqual([id]);
    expect(await statusOf(app, 'GET', '/api/me', user.headers)).toBe(200);
  });
});

describe('/api with HTTP Basic and a password', () => {
  it('reads and writes notes with username:password and email:password', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (const login of ['ada', 'ada@example.com']) {
      const headers = basic(login, PASSWORD);
      expect(await statusOf(app, 'POST', '/api/notes', headers, { title: login }), login).toBe(201);
      expect(await statusOf(app, 'GET', '/api/notes', headers), login).toBe(200);
    }
    const list = await app.inject({ method: 'GET', url: '/api/notes', headers: basic('ada', PASSWORD) });
    expect(list.json().data).toHaveLength(2);
  });

  it('answers 401 unauthorized with WWW-Authenticate for a wrong password or an unknown user', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (const headers of [basic('ada', 'wrong password'), basic('nobody', PASSWORD)]) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers });
      expectProblem(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate']).toBe('Basic realm="folio", charset="UTF-8"');
      expect(response.body).not.toContain(PASSWORD);
    }
  });

  it('answers 401 for a malformed Authorization header', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const values = [
      'Basic !!!not-base64!!!',
      `Basic ${Buffer.from('ada').toString('base64')}`,
      `Basic ${Buffer.from(`:${PASSWORD}`).toString('base64')}`,
      'Basic',
      'Token x',
      'Bearer',
    ];
    for (const authorization of values) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers: { authorization } });
      expectProblem(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate'], authorization).toBeDefined();
    }
  });

  it('answers 401 for a username or email with a NUL, on both databases', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app, 'ada');
    const key = await newKey(app, user);
    // PostgreSQL cannot compare text with a NUL: this was a 500 there.
    for (const [login, secret] of [
      ['ada\u0000', PASSWORD],
      ['ada@example.com\u0000', PASSWORD],
      ['\u0000', key.key],
    ]) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/notes',
        headers: basic(login!, secret!),
      });
      expectProblem(response, 401, secret === PASSWORD ? 'unauthorized' : 'invalid_token');
    }
  });

  it('lets username:password manage keys, being the person', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const headers = basic('ada', PASSWORD);
    const created = await app.inject({ method: 'POST', url: '/api/keys', headers, payload: { name: 'b' } });
    expect(created.statusCode).toBe(201);
    const list = await app.inject({ method: 'GET', url: '/api/keys', headers });
    expect(list.json().data).toHaveLength(1);
    expect(await statusOf(app, 'DELETE', `/api/keys/${created.json().id}`, headers)).toBe(204);
  });
});
