import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem, signUp, TEST_SECRET } from '../../test/helpers.js';

const PASSWORD = 'correct horse battery';

function register(body: Record<string, unknown>) {
  return { method: 'POST' as const, url: '/api/auth/register', payload: body };
}

describe('POST /api/auth/register', () => {
  it('answers 201 with the user and a bearer token that works', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject(
      register({ username: 'Ada', email: 'ada@example.com', password: PASSWORD }),
    );
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({
      user: {
        id: expect.any(Number),
        username: 'Ada',
        email: 'ada@example.com',
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).not.toContain(PASSWORD);
    expect(response.body).not.toContain('argon2');
    const me = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(me.json().username).toBe('Ada');
  });

  it('reports every bad field at once', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject(
      register({ username: 'a b', email: 'not-an-email', password: 'short' }),
    );
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['email', 'password', 'username']);
  });

  it('counts password length in code points, from 8 to 256', async () => {
    const { app } = await buildTestApp();
    const ok = await app.inject(
      register({ username: 'emoji', email: 'e@example.com', password: '🔑'.repeat(8) }),
    );
    expect(ok.statusCode).toBe(201);
    const short = await app.inject(
      register({ username: 'emoji2', email: 'e2@example.com', password: '🔑'.repeat(7) }),
    );
    expectProblem(short, 400, 'validation_failed');
    const long = await app.inject(
      register({ username: 'long', email: 'l@example.com', password: 'x'.repeat(257) }),
    );
    expectProblem(long, 400, 'validation_failed');
  });

  it('rejects usernames outside 3–32 of a-z 0-9 _ . -', async () => {
    const { app } = await buildTestApp();
    for (const username of ['ab', 'x'.repeat(33), 'émile', 'semi;colon']) {
      const response = await app.inject(register({ username, email: 'u@example.com', password: PASSWORD }));
      const problem = expectProblem(response, 400, 'validation_failed');
      expect(problem.errors?.[0]?.field).toBe('username');
    }
  });

  it('answers 409 username_taken for a username in use in any case', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'grace');
    const response = await app.inject(
      register({ username: 'GRACE', email: 'other@example.com', password: PASSWORD }),
    );
    expectProblem(response, 409, 'username_taken');
  });

  it('answers 409 email_taken for an email in use in any case', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'grace');
    const response = await app.inject(
      register({ username: 'grace2', email: 'GRACE@example.com', password: PASSWORD }),
    );
    expectProblem(response, 409, 'email_taken');
  });

  it('rejects unknown members', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject(
      register({ username: 'ada', email: 'a@example.com', password: PASSWORD, admin: true }),
    );
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ field: 'admin', message: 'is not a known member' }]);
  });

  it('answers 403 when sign-up is closed', async () => {
    const { app } = await buildTestApp({ signup: 'closed' });
    const response = await app.inject(
      register({ username: 'ada', email: 'a@example.com', password: PASSWORD }),
    );
    expectProblem(response, 403, 'forbidden');
  });
});

describe('POST /api/auth/login', () => {
  it('signs in with the username or the email, in any case', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'linus');
    for (const username of ['linus', 'LINUS', 'linus@example.com', 'Linus@Example.com']) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username, password: PASSWORD },
      });
      expect(response.statusCode, username).toBe(200);
      expect(response.json()).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.any(String),
      });
    }
  });

  it('takes the OAuth2 password form, as /docs sends it', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'linus');
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=linus&password=correct+horse+battery&scope=',
    });
    expect(response.statusCode).toBe(200);
    const me = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${response.json().access_token}` },
    });
    expect(me.statusCode).toBe(200);
  });

  it('answers 401 with WWW-Authenticate for a wrong password and for an unknown user alike', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'linus');
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'linus', password: 'wrong password' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'nobody', password: PASSWORD },
    });
    const a = expectProblem(wrong, 401, 'unauthorized');
    const b = expectProblem(unknown, 401, 'unauthorized');
    expect(a.detail).toBe(b.detail);
    expect(wrong.headers['www-authenticate']).toContain('Bearer');
    expect(unknown.headers['www-authenticate']).toContain('Bearer');
  });

  it('answers 401 for a username with a NUL, like any unknown user, on both databases', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'linus');
    for (const username of ['linus\u0000', '\u0000', 'linus@example.com\u0000']) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username, password: PASSWORD },
      });
      expectProblem(response, 401, 'unauthorized');
    }
  });

  it('answers 400 when the password is missing', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'linus' },
    });
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ field: 'password', message: 'is required' }]);
  });
});

describe('GET /api/me', () => {
  it('answers 401 unauthorized with WWW-Authenticate without a token', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/api/me' });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="folio"');
  });

  it('answers 401 for another scheme', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: 'Token abc' },
    });
    expectProblem(response, 401, 'unauthorized');
  });

  it('answers 401 invalid_token for a token signed with another secret or tampered with', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const forged = await new SignJWT({ sid: 1 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('folio')
      .setSubject(String(user.id))
      .setJti('x')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    for (const token of [forged, `${user.token}x`, 'not.a.jwt']) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expectProblem(response, 401, 'invalid_token');
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('answers 401 token_expired for an expired token', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ sid: 1 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('folio')
      .setSubject(String(user.id))
      .setJti('x')
      .setIssuedAt(now - 1000)
      .setExpirationTime(now - 100)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const response = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${expired}` },
    });
    expectProblem(response, 401, 'token_expired');
  });

  it('answers 401 once the account behind a token is gone', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    await database.db.deleteFrom('users').where('id', '=', user.id).execute();
    const response = await app.inject({ method: 'GET', url: '/api/me', headers: user.headers });
    expectProblem(response, 401, 'invalid_token');
  });
});

describe('stored secrets', () => {
  it('keeps passwords only as Argon2id hashes', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const row = await database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
