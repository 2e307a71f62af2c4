import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';

const PASSWORD = 'correct horse battery';

function login(app: FastifyInstance, username: string, password: string) {
  return app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
}

function basic(login: string, password: string) {
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` };
}

/** Asserts a 429 rate_limited problem with Retry-After (seconds) and, if asked, the RateLimit-* headers. */
function expectRateLimited(response: LightMyRequestResponse, { rateLimitHeaders = true } = {}) {
  expectProblem(response, 429, 'rate_limited');
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  if (!rateLimitHeaders) return;
  expect(Number(response.headers['ratelimit-limit'])).toBeGreaterThan(0);
  expect(response.headers['ratelimit-remaining']).toBe('0');
  expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThan(0);
}

async function newKey(app: FastifyInstance, user: SignedUp): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/keys',
    headers: user.headers,
    payload: { name: 'k' },
  });
  if (response.statusCode !== 201)
    throw new Error(`key creation failed: ${response.statusCode} ${response.body}`);
  return response.json().key;
}

describe('POST /api/auth/login', () => {
  it('answers 429 after 10 failed sign-ins for a username, even with the right password', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (let i = 1; i <= 10; i++) {
      expectProblem(await login(app, 'ada', `wrong password ${i}`), 401, 'unauthorized');
    }
    expectRateLimited(await login(app, 'ada', 'wrong password 11'));
    const right = await login(app, 'ada', PASSWORD);
    expectRateLimited(right);
    expect(right.json().access_token).toBeUndefined();
    expect(right.headers['ratelimit-limit']).toBe('10');
  });

  it('counts failures per account, so the email is locked out with the username', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (let i = 1; i <= 10; i++) expect((await login(app, 'ada', 'wrong password')).statusCode).toBe(401);
    expectRateLimited(await login(app, 'ada@example.com', PASSWORD));
    expectRateLimited(await login(app, 'ADA', PASSWORD));
  });

  it('still lets another username from the same client sign in', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    await signUp(app, 'grace');
    for (let i = 1; i <= 10; i++) expect((await login(app, 'ada', 'wrong password')).statusCode).toBe(401);
    expectRateLimited(await login(app, 'ada', PASSWORD));
    const other = await login(app, 'grace', PASSWORD);
    expect(other.statusCode).toBe(200);
    expect(other.json().access_token).toEqual(expect.any(String));
    expectProblem(await login(app, 'grace', 'wrong password'), 401, 'unauthorized');
  });

  it('does not count successful sign-ins', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (let i = 1; i <= 12; i++)
      expect((await login(app, 'ada', PASSWORD)).statusCode, `attempt ${i}`).toBe(200);
    for (let i = 1; i <= 10; i++) expect((await login(app, 'ada', 'wrong password')).statusCode).toBe(401);
    expectRateLimited(await login(app, 'ada', PASSWORD));
  });

  it('counts failed HTTP Basic passwords towards the same limit', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (let i = 1; i <= 5; i++) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/notes',
        headers: basic('ada', 'wrong password'),
      });
      expectProblem(response, 401, 'unauthorized');
    }
    for (let i = 1; i <= 5; i++)
      expectProblem(await login(app, 'ada', 'wrong password'), 401, 'unauthorized');
    expectRateLimited(await login(app, 'ada', PASSWORD));
    expectRateLimited(
      await app.inject({ method: 'GET', url: '/api/notes', headers: basic('ada', PASSWORD) }),
    );
  });

  it('answers 429 to HTTP Basic after 10 failed Basic passwords', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    for (let i = 1; i <= 10; i++) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/notes',
        headers: basic('ada', 'wrong password'),
      });
      expect(response.statusCode).toBe(401);
    }
    expectRateLimited(
      await app.inject({ method: 'GET', url: '/api/notes', headers: basic('ada', PASSWORD) }),
    );
    expectRateLimited(await login(app, 'ada', PASSWORD));
  });
  it('keeps counting failed sign-ins when the API limit is off', async () => {
    const { app } = await buildTestApp({ rateLimit: 0 });
    await signUp(app, 'ada');
    for (let i = 1; i <= 10; i++) expect((await login(app, 'ada', 'wrong password')).statusCode).toBe(401);
    expectRateLimited(await login(app, 'ada', PASSWORD));
  });
});

describe('POST /api/auth/register', () => {
  it('answers 429 with Retry-After to the 21st sign-up from one client address', async () => {
    const { app } = await buildTestApp();
    for (let i = 1; i <= 20; i++) await signUp(app, `person${i}`);
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username: 'person21', email: 'person21@example.com', password: PASSWORD },
    });
    expectRateLimited(response);
    expect(await login(app, 'person21', PASSWORD).then((r) => r.statusCode)).toBe(401);
  });
});

describe('POST /api/auth/refresh', () => {
  it('answers 429 with Retry-After to the 61st refresh from one client address', async () => {
    const { app } = await buildTestApp();
    for (let i = 1; i <= 60; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        payload: { refresh_token: `not-a-token-${i}` },
      });
      expectProblem(response, 401, 'invalid_token');
    }
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: 'not-a-token-61' },
    });
    expectRateLimited(response);
  });
});

describe('/api rate limit per credential', () => {
  it("answers 429 to a user's 6th request in a minute with FOLIO_RATE_LIMIT=5, counting down before", async () => {
    const { app } = await buildTestApp({ rateLimit: 5 });
    const user = await signUp(app);
    const remaining: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
      expect(response.statusCode, `request ${i}`).toBe(200);
      expect(response.headers['ratelimit-limit']).toBe('5');
      expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThan(0);
      remaining.push(String(response.headers['ratelimit-remaining']));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const sixth = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
    expectRateLimited(sixth);
    expect(sixth.headers['ratelimit-limit']).toBe('5');
    const write = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: user.headers,
      payload: { title: 'x' },
    });
    expectRateLimited(write);
  });

  // Bug: the API limit runs in preHandler, after validation, so a 400 is never counted and an
  // exhausted credential still gets 400 instead of 429 (product.md: FOLIO_RATE_LIMIT per credential).
  it('counts requests that fail validation towards the limit', async () => {
    const { app } = await buildTestApp({ rateLimit: 5 });
    const user = await signUp(app);
    for (let i = 1; i <= 5; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: user.headers,
        payload: { title: 123 },
      });
      expect(response.statusCode).toBe(400);
    }
    expectRateLimited(await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers }));
  });

  it('never limits the health checks, which a load balancer polls from one address', async () => {
    const { app } = await buildTestApp({ rateLimit: 3 });
    for (let i = 1; i <= 10; i++) {
      expect((await app.inject({ method: 'GET', url: '/api/status' })).statusCode, `request ${i}`).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/status/live' })).statusCode).toBe(200);
    }
  });

  it('still allows another user once one user is limited', async () => {
    const { app } = await buildTestApp({ rateLimit: 5 });
    const ada = await signUp(app);
    const grace = await signUp(app);
    for (let i = 1; i <= 5; i++) {
      expect((await app.inject({ method: 'GET', url: '/api/notes', headers: ada.headers })).statusCode).toBe(
        200,
      );
    }
    expectRateLimited(await app.inject({ method: 'GET', url: '/api/notes', headers: ada.headers }));
    const other = await app.inject({ method: 'GET', url: '/api/notes', headers: grace.headers });
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('4');
  });

  it('counts each API key of a user on its own', async () => {
    const { app } = await buildTestApp({ rateLimit: 5 });
    const user = await signUp(app);
    const first = await newKey(app, user);
    const second = await newKey(app, user);
    for (let i = 1; i <= 5; i++) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/notes',
        headers: { 'x-api-key': first },
      });
      expect(response.statusCode).toBe(200);
    }
    expectRateLimited(
      await app.inject({ method: 'GET', url: '/api/notes', headers: { 'x-api-key': first } }),
    );
    const other = await app.inject({ method: 'GET', url: '/api/notes', headers: { 'x-api-key': second } });
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('4');
  });

  it('never limits and sends no RateLimit headers with FOLIO_RATE_LIMIT=0', async () => {
    const { app } = await buildTestApp({ rateLimit: 0 });
    const user = await signUp(app);
    for (let i = 1; i <= 30; i++) {
      const response = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
      expect(response.statusCode, `request ${i}`).toBe(200);
      expect(response.headers['ratelimit-limit']).toBeUndefined();
    }
  });
});
