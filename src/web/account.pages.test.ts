import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, signUp } from '../../test/helpers.js';
import { Browser, PASSWORD } from '../../test/browser.js';

/** The attributes of the Set-Cookie line for `name`, lower-cased (`httponly`, `samesite=lax`…). */
function cookieAttributes(response: LightMyRequestResponse, name: string): string[] {
  const line = [response.headers['set-cookie'] ?? []].flat().find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie set: ${JSON.stringify(response.headers['set-cookie'])}`);
  return line
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());
}

async function register(browser: Browser, username: string) {
  return browser.submit('/register', '/register', {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  });
}

async function sessionsOf(browser: Browser) {
  const response = await browser.get('/api/me/sessions');
  expect(response.statusCode).toBe(200);
  return response.json<{ data: { id: number; current: boolean }[] }>().data;
}

describe('GET / (signed out)', () => {
  it('redirects 303 to /login with next=/', async () => {
    const { app } = await buildTestApp();
    const response = await new Browser(app).get('/');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login?next=%2F');
  });
});

describe('GET /notes/:id (signed out)', () => {
  it('redirects 303 to /login with the page as next', async () => {
    const { app } = await buildTestApp();
    const response = await new Browser(app).get('/notes/5');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login?next=%2Fnotes%2F5');
  });
});

describe('POST /login', () => {
  it('signs in with 303 back to the page the visitor first asked for', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const note = await createNote(app, user, { title: 'Waiting behind the sign-in' });
    const browser = new Browser(app);
    const login = (await browser.get(`/notes/${note.id}`)).headers.location as string;
    const page = (await browser.get(login)).body;
    const next = /name="next" value="([^"]*)"/.exec(page)?.[1];
    expect(next).toBe(`/notes/${note.id}`);
    const response = await browser.submit(login, '/login', {
      username: user.username,
      password: PASSWORD,
      next: next!,
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/notes/${note.id}`);
    const shown = await browser.get(`/notes/${note.id}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('Waiting behind the sign-in');
  });

  it('answers a wrong password with a 401 page with a notice and no session', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const browser = new Browser(app);
    const response = await browser.submit('/login', '/login', {
      username: user.username,
      password: 'wrong password!',
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toMatch(/<p class="notice" role="alert">The username or password is wrong\.<\/p>/);
    expect(response.body).toContain(`value="${user.username}"`);
    expect(browser.jar.has('folio_session')).toBe(false);
    expect((await browser.get('/')).statusCode).toBe(303);
  });

  it('answers the right password with 303 to / and an HttpOnly SameSite=Lax session cookie', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const browser = new Browser(app);
    const response = await browser.submit('/login', '/login', {
      username: user.username,
      password: PASSWORD,
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    expect(cookieAttributes(response, 'folio_session')).toEqual(
      expect.arrayContaining(['httponly', 'samesite=lax']),
    );
    expect((await browser.get('/')).statusCode).toBe(200);
  });

  it('signs in with the email address too', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const browser = new Browser(app);
    const email = `${user.username}@example.com`;
    const response = await browser.submit('/login', '/login', { username: email, password: PASSWORD });
    expect(response.statusCode).toBe(303);
  });
});

describe('POST /register', () => {
  it('creates the account and signs in: HttpOnly SameSite=Lax cookie, not Secure in development, 303 to /', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    const response = await register(browser, 'ada');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    const attributes = cookieAttributes(response, 'folio_session');
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    expect(attributes).not.toContain('secure');
    const home = await browser.get('/');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('Sign out (ada)');
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'ada', password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
  });

  it('lists the new session as the current one in GET /api/me/sessions (cookie auth on GET)', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    await register(browser, 'ada');
    const sessions = await sessionsOf(browser);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.current).toBe(true);
  });

  it.each(['production', 'staging'] as const)(
    'sets the session and CSRF cookies Secure in %s',
    async (env) => {
      const { app } = await buildTestApp({ env });
      const browser = new Browser(app);
      const page = await browser.get('/register');
      expect(cookieAttributes(page, 'folio_csrf')).toContain('secure');
      const response = await register(browser, 'ada');
      expect(response.statusCode).toBe(303);
      expect(cookieAttributes(response, 'folio_session')).toEqual(
        expect.arrayContaining(['secure', 'httponly', 'samesite=lax']),
      );
    },
  );

  it('answers invalid fields with 400, a message next to each, the entries kept and the password not echoed', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    const response = await browser.submit('/register', '/register', {
      username: 'a!',
      email: 'not-an-email',
      password: 'short-pw',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    for (const field of ['username', 'email']) {
      expect(response.body).toMatch(new RegExp(`<p class="error" id="${field}-error">[^<]+</p>`));
      expect(response.body).toMatch(new RegExp(`id="${field}"[^>]*aria-describedby="${field}-error"`));
    }
    expect(response.body).toContain('value="a!"');
    expect(response.body).toContain('value="not-an-email"');
    expect(response.body).not.toContain('short-pw');
    expect(browser.jar.has('folio_session')).toBe(false);
  });

  it('answers a too-short password with 400 and a message next to the password field', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    const response = await browser.submit('/register', '/register', {
      username: 'ada',
      email: 'ada@example.com',
      password: 'seven77',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/<p class="error" id="password-error">[^<]+<\/p>/);
    expect(response.body).not.toContain('seven77');
    expect(response.body).toContain('value="ada"');
  });

  it('answers a taken username with 409 and its message next to the username', async () => {
    const { app } = await buildTestApp();
    await signUp(app, 'ada');
    const browser = new Browser(app);
    const response = await browser.submit('/register', '/register', {
      username: 'ADA',
      email: 'other@example.com',
      password: PASSWORD,
    });
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatch(/<p class="error" id="username-error">[^<]*(taken|exists|use)[^<]*<\/p>/i);
    expect(response.body).toContain('value="other@example.com"');
    expect(browser.jar.has('folio_session')).toBe(false);
  });
});

describe('GET /logout', () => {
  it('shows a confirmation form without signing out', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    await register(browser, 'ada');
    const page = await browser.get('/logout');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<form method="post" action="\/logout">/);
    expect(page.body).toContain('name="_csrf"');
    expect((await browser.get('/')).statusCode).toBe(200);
    expect(await sessionsOf(browser)).toHaveLength(1);
  });
});

describe('POST /logout', () => {
  it('ends the session: 303 to /login, the cookie cleared and the old cookie refused', async () => {
    const { app } = await buildTestApp();
    const browser = new Browser(app);
    await register(browser, 'ada');
    const oldCookie = browser.jar.get('folio_session')!;
    const response = await browser.submit('/logout', '/logout', {});
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login');
    expect(cookieAttributes(response, 'folio_session')).toContain('max-age=0');
    expect(browser.jar.has('folio_session')).toBe(false);
    const replay = await app.inject({ url: '/', headers: { cookie: `folio_session=${oldCookie}` } });
    expect(replay.statusCode).toBe(303);
    expect(replay.headers.location).toBe('/login?next=%2F');
    const api = await app.inject({ url: '/api/me', headers: { cookie: `folio_session=${oldCookie}` } });
    expect(api.statusCode).toBe(401);
  });

  it('removes the session from /api/me/sessions of the same user’s other session', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const [phone, laptop] = [new Browser(app), new Browser(app)];
    for (const browser of [phone, laptop]) {
      await browser.submit('/login', '/login', { username: user.username, password: PASSWORD });
    }
    const before = await sessionsOf(laptop);
    const phoneSession = (await sessionsOf(phone)).find((s) => s.current)!.id;
    expect(before.map((s) => s.id)).toContain(phoneSession);
    expect((await phone.submit('/logout', '/logout', {})).statusCode).toBe(303);
    const after = await sessionsOf(laptop);
    expect(after.map((s) => s.id)).not.toContain(phoneSession);
    expect(after).toHaveLength(before.length - 1);
  });
});
