import { Writable } from 'node:stream';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp, TEST_SECRET } from '../../test/helpers.js';

// One named test (or group) per OWASP API Security Top 10 (2023) item that applies to Folio.

const key = new TextEncoder().encode(TEST_SECRET);

function localToken(claims: Record<string, unknown>, options: { exp?: number | string; iss?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.iss ?? 'folio')
    .setJti(`jti-${Math.random()}`)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '10m')
    .sign(key);
}

describe('API1:2023 Broken Object Level Authorization', () => {
  it('answers 404 on every note route for a note owned by someone else, and changes nothing', async () => {
    const { app } = await buildTestApp();
    const owner = await signUp(app);
    const other = await signUp(app);
    const note = await createNote(app, owner, { title: 'private', content: 'mine alone' });
    const requests = [
      { method: 'GET' as const, url: `/api/notes/${note.id}` },
      { method: 'PUT' as const, url: `/api/notes/${note.id}`, payload: { title: 'taken' } },
      { method: 'PATCH' as const, url: `/api/notes/${note.id}`, payload: { title: 'taken' } },
      { method: 'DELETE' as const, url: `/api/notes/${note.id}` },
    ];
    for (const request of requests) {
      const response = await app.inject({ ...request, headers: other.headers });
      expect(expectProblem(response, 404, 'not_found').detail).toBe(`Note ${note.id} not found`);
    }
    const list = await app.inject({ method: 'GET', url: '/api/notes?q=alone', headers: other.headers });
    expect(list.json().data).toEqual([]);
    const still = await app.inject({ method: 'GET', url: `/api/notes/${note.id}`, headers: owner.headers });
    expect(still.json()).toMatchObject({ title: 'private', version: 1 });
  });

  it("answers 404 for another user's key and session", async () => {
    const { app } = await buildTestApp();
    const owner = await signUp(app);
    const other = await signUp(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: owner.headers,
      payload: { name: 'k' },
    });
    const keyId = created.json().id;
    const sessions = await app.inject({ method: 'GET', url: '/api/me/sessions', headers: owner.headers });
    const sessionId = sessions.json().data[0].id;
    expectProblem(
      await app.inject({ method: 'DELETE', url: `/api/keys/${keyId}`, headers: other.headers }),
      404,
      'not_found',
    );
    expectProblem(
      await app.inject({ method: 'DELETE', url: `/api/me/sessions/${sessionId}`, headers: other.headers }),
      404,
      'not_found',
    );
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: owner.headers })).statusCode).toBe(
      200,
    );
  });
});

describe('API2:2023 Broken Authentication', () => {
  it('rejects an unsigned token (alg: none)', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({
        iss: 'folio',
        sub: String(user.id),
        sid: 1,
        jti: 'x',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    );
    const response = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${header}.${payload}.` },
    });
    expectProblem(response, 401, 'invalid_token');
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const { app } = await buildTestApp();
    const victim = await signUp(app);
    const attacker = await signUp(app);
    const [head, body, signature] = attacker.token.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const forged = base64url.encode(JSON.stringify({ ...claims, sub: String(victim.id) }));
    const response = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${head}.${forged}.${signature}` },
    });
    expectProblem(response, 401, 'invalid_token');
  });

  it('rejects an expired token with token_expired and a token of another issuer', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const expired = await localToken(
      { sub: String(user.id), sid: 1 },
      { exp: Math.floor(Date.now() / 1000) - 60 },
    );
    expectProblem(
      await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${expired}` } }),
      401,
      'token_expired',
    );
    const foreign = await localToken({ sub: String(user.id), sid: 1 }, { iss: 'https://evil.example' });
    expectProblem(
      await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${foreign}` } }),
      401,
      'invalid_token',
    );
  });

  it('stops an access token at once after logout', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    expect(
      (await app.inject({ method: 'POST', url: '/api/auth/logout', headers: user.headers })).statusCode,
    ).toBe(204);
    expectProblem(
      await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers }),
      401,
      'invalid_token',
    );
  });

  it('revokes the whole session when a spent refresh token is used again', async () => {
    const { app } = await buildTestApp();
    const registered = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'ada', email: 'ada@example.com', password: 'correct horse battery' },
    });
    const first = registered.json().refresh_token;
    const rotated = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: first },
    });
    expect(rotated.statusCode).toBe(200);
    const replay = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: first },
    });
    expectProblem(replay, 401, 'invalid_token');
    const heir = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: rotated.json().refresh_token },
    });
    expectProblem(heir, 401, 'invalid_token');
    const access = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${rotated.json().access_token}` },
    });
    expectProblem(access, 401, 'invalid_token');
  });

  it('answers an unknown user and a wrong password alike, and locks out guessing (429)', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: 'nope nope' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'eve', password: 'nope nope' },
    });
    expect(expectProblem(wrong, 401, 'unauthorized').detail).toBe(
      expectProblem(unknown, 401, 'unauthorized').detail,
    );
    for (let i = 0; i < 9; i++) {
      await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'ada', password: 'nope nope' },
      });
    }
    const locked = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: 'correct horse battery' },
    });
    expectProblem(locked, 429, 'rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('API3:2023 Broken Object Property Level Authorization', () => {
  it('rejects mass assignment of server-set fields instead of applying them', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    for (const extra of [
      { id: 99 },
      { owner_id: 1 },
      { version: 7 },
      { created_at: '2000-01-01T00:00:00.000Z' },
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: user.headers,
        payload: { title: 't', ...extra },
      });
      expect(expectProblem(response, 400, 'validation_failed').errors?.[0]?.field).toBe(
        Object.keys(extra)[0],
      );
    }
    const register = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: {
        username: 'mallory',
        email: 'm@example.com',
        password: 'correct horse battery',
        password_hash: 'x',
      },
    });
    expectProblem(register, 400, 'validation_failed');
    const patch = await app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers: user.headers,
      payload: { id: 1 },
    });
    expectProblem(patch, 400, 'validation_failed');
  });

  it('never answers with a password, hash or stored secret', async () => {
    const { app } = await buildTestApp();
    const bodies: string[] = [];
    const call = async (request: InjectOptions) => {
      const response = await app.inject(request);
      bodies.push(response.body);
      return response;
    };
    const password = 'correct horse battery';
    const registered = await call({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'ada', email: 'a@example.com', password },
    });
    const headers = { authorization: `Bearer ${registered.json().access_token}` };
    await call({ method: 'GET', url: '/api/me', headers });
    await call({ method: 'PATCH', url: '/api/me', headers, payload: { email: 'b@example.com' } });
    await call({ method: 'POST', url: '/api/keys', headers, payload: { name: 'k' } });
    await call({ method: 'GET', url: '/api/keys', headers });
    await call({ method: 'GET', url: '/api/me/sessions', headers });
    await call({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: 'wrong wrong' },
    });
    const all = bodies.join('\n');
    for (const secret of [password, '$argon2', 'password_hash', 'key_hash', 'token_hash'])
      expect(all).not.toContain(secret);
    const listed = JSON.parse(bodies[4]!);
    expect(listed.data[0]).not.toHaveProperty('key');
  });
});

describe('API4:2023 Unrestricted Resource Consumption', () => {
  it('bounds bodies (413), page sizes (400) and request rates (429)', async () => {
    const { app } = await buildTestApp({ rateLimit: 5, bodyLimit: 4096 });
    const user = await signUp(app);
    const big = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: user.headers,
      payload: { title: 'x', content: 'y'.repeat(8192) },
    });
    expectProblem(big, 413, 'payload_too_large');
    expectProblem(
      await app.inject({ method: 'GET', url: '/api/notes?limit=1000', headers: user.headers }),
      400,
      'validation_failed',
    );
    let last = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
    for (let i = 0; i < 6 && last.statusCode !== 429; i++) {
      last = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
    }
    expectProblem(last, 429, 'rate_limited');
    expect(last.headers['retry-after']).toBeDefined();
    expect(last.headers['ratelimit-limit']).toBe('5');
  });
});

describe('API5:2023 Broken Function Level Authorization', () => {
  it('lets a key do only what its scopes allow and never manage keys or the account', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: user.headers,
      payload: { name: 'reader', scopes: ['notes:read'] },
    });
    const reader = { 'x-api-key': created.json().key };
    expect((await app.inject({ method: 'GET', url: '/api/notes', headers: reader })).statusCode).toBe(200);
    expectProblem(
      await app.inject({ method: 'POST', url: '/api/notes', headers: reader, payload: { title: 'x' } }),
      403,
      'insufficient_scope',
    );
    expectProblem(await app.inject({ method: 'GET', url: '/api/keys', headers: reader }), 403, 'forbidden');
    expectProblem(
      await app.inject({ method: 'POST', url: '/api/keys', headers: reader, payload: { name: 'escalate' } }),
      403,
      'forbidden',
    );
    expectProblem(
      await app.inject({ method: 'DELETE', url: '/api/me', headers: reader, payload: {} }),
      403,
      'forbidden',
    );
  });
});

describe('API6:2023 Unrestricted Access to Sensitive Business Flows', () => {
  it('limits sign-ups per client address (20 an hour)', async () => {
    const { app } = await buildTestApp();
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { username: `bulk${i}`, email: `bulk${i}@example.com`, password: 'x'.repeat(8) },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 20).every((status) => status === 201)).toBe(true);
    expect(statuses[20]).toBe(429);
  });
});

describe('API8:2023 Security Misconfiguration', () => {
  it('sends protective headers, keeps CORS credential-free and hides stack traces', async () => {
    const { app } = await buildTestApp({ env: 'production' });
    app.get('/api/test-crash', async () => {
      throw new Error('at /srv/secret/path.ts:1');
    });
    const crash = await app.inject({
      method: 'GET',
      url: '/api/test-crash',
      headers: { origin: 'https://x.example' },
    });
    expectProblem(crash, 500, 'internal_error');
    expect(crash.body).not.toContain('/srv/secret');
    expect(crash.headers['x-content-type-options']).toBe('nosniff');
    expect(crash.headers['strict-transport-security']).toBeDefined();
    expect(crash.headers['access-control-allow-credentials']).toBeUndefined();
    expect(crash.headers['x-powered-by']).toBeUndefined();
  });
});

describe('API9:2023 Improper Inventory Management', () => {
  it('documents every route in the OpenAPI document, and no route answers that is not there', async () => {
    const { app } = await buildTestApp();
    await app.ready();
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const documented = new Set(
      Object.entries(doc.paths as Record<string, object>).flatMap(([path, item]) =>
        Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const served = app.knownRoutes
      .filter((route) => !route.hidden && route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1')}`);
    expect(new Set(served)).toEqual(documented);
  });
});

describe('API10:2023 Unsafe Consumption of APIs', () => {
  it('answers 503, not 500, when the identity provider cannot be reached', async () => {
    const { app } = await buildTestApp({ oidc: { issuer: 'http://127.0.0.1:9/', audience: 'folio' } });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('http://127.0.0.1:9/')
      .setAudience('folio')
      .setSubject('someone')
      .setExpirationTime('5m')
      .sign(privateKey);
    const response = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expectProblem(response, 503, 'unavailable');
    expect(response.headers['retry-after']).toBeDefined();
  });
});

describe('logs', () => {
  it('never contain a password, token or key through register, login, refresh and key use', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { app } = await buildTestApp({ logLevel: 'trace' }, { logStream });
    const password = 'correct horse battery staple';
    const secrets: string[] = [password];
    const registered = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'ada', email: 'a@example.com', password },
    });
    secrets.push(registered.json().access_token, registered.json().refresh_token);
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password },
    });
    secrets.push(login.json().access_token, login.json().refresh_token);
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: `${password}!` },
    });
    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: login.json().refresh_token },
    });
    secrets.push(refreshed.json().access_token, refreshed.json().refresh_token);
    const headers = { authorization: `Bearer ${refreshed.json().access_token}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers,
      payload: { name: 'script' },
    });
    secrets.push(created.json().key);
    await app.inject({ method: 'GET', url: '/api/notes', headers: { 'x-api-key': created.json().key } });
    await app.inject({
      method: 'GET',
      url: '/api/notes',
      headers: { authorization: `Basic ${Buffer.from(`ada:${password}`).toString('base64')}` },
    });
    await app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers,
      payload: { password: 'another long password', current_password: password },
    });
    secrets.push('another long password');
    const log = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain(Buffer.from(`ada:${password}`).toString('base64'));
  });
});
