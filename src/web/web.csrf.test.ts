import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, type SignedUp } from '../../test/helpers.js';
import { Browser, PASSWORD, signedIn, type Fields } from '../../test/browser.js';

interface World {
  app: FastifyInstance;
  user: SignedUp;
  browser: Browser;
  note: { id: number };
  trashed: { id: number };
}

async function world(): Promise<World> {
  const { app } = await buildTestApp();
  const { user, browser } = await signedIn(app);
  const note = await createNote(app, user, { title: 'Untouched', content: 'as it was' });
  const trashed = await createNote(app, user, { title: 'In the trash' });
  await app.inject({ method: 'DELETE', url: `/api/notes/${trashed.id}`, headers: user.headers });
  return { app, user, browser, note, trashed };
}

/** Every POST form: where its token comes from, what it sends, and a check that nothing changed. */
const FORMS: {
  route: string;
  signedOut?: boolean;
  page: (w: World) => string;
  action: (w: World) => string;
  fields: (w: World) => Fields;
  unchanged: (w: World, browser: Browser) => Promise<void>;
}[] = [
  {
    route: 'POST /register',
    signedOut: true,
    page: () => '/register',
    action: () => '/register',
    fields: () => ({ username: 'mallory', email: 'mallory@example.com', password: PASSWORD }),
    unchanged: async ({ app }, browser) => {
      expect(browser.jar.has('folio_session')).toBe(false);
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'mallory', password: PASSWORD },
      });
      expect(login.statusCode).toBe(401);
    },
  },
  {
    route: 'POST /login',
    signedOut: true,
    page: () => '/login',
    action: () => '/login',
    fields: ({ user }) => ({ username: user.username, password: PASSWORD }),
    unchanged: async (_w, browser) => {
      expect(browser.jar.has('folio_session')).toBe(false);
      expect((await browser.get('/')).statusCode).toBe(303);
    },
  },
  {
    route: 'POST /logout',
    page: () => '/logout',
    action: () => '/logout',
    fields: () => ({}),
    unchanged: async ({ browser }) => expect((await browser.get('/')).statusCode).toBe(200),
  },
  {
    route: 'POST /notes',
    page: () => '/notes/new',
    action: () => '/notes',
    fields: () => ({ title: 'Forged', content: 'planted' }),
    unchanged: async ({ app, user }) => {
      const list = await app.inject({ url: '/api/notes', headers: user.headers });
      expect(list.json().data.map((n: { title: string }) => n.title)).toEqual(['Untouched']);
    },
  },
  {
    route: 'POST /notes/:id/edit',
    page: ({ note }) => `/notes/${note.id}/edit`,
    action: ({ note }) => `/notes/${note.id}/edit`,
    fields: () => ({ title: 'Forged', content: 'planted', version: '1' }),
    unchanged: async ({ app, user, note }) => {
      const saved = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
      expect(saved.json()).toMatchObject({ title: 'Untouched', content: 'as it was', version: 1 });
    },
  },
  {
    route: 'POST /notes/:id/delete',
    page: ({ note }) => `/notes/${note.id}/delete`,
    action: ({ note }) => `/notes/${note.id}/delete`,
    fields: () => ({}),
    unchanged: async ({ app, user, note }) => {
      expect((await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers })).statusCode).toBe(
        200,
      );
    },
  },
  {
    route: 'POST /notes/:id/restore',
    page: () => '/trash',
    action: ({ trashed }) => `/notes/${trashed.id}/restore`,
    fields: () => ({}),
    unchanged: async ({ app, user, trashed }) => {
      const read = await app.inject({ url: `/api/notes/${trashed.id}`, headers: user.headers });
      expect(read.json().code).toBe('in_trash');
    },
  },
];

function expectCsrfPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(403);
  expect(response.headers['content-type']).toMatch(/^text\/html/);
  expect(response.body).toMatch(/<h1>Forbidden<\/h1>/);
  expect(response.body).toMatch(/form/i);
  expect(response.headers['set-cookie'] ?? []).not.toEqual(
    expect.arrayContaining([expect.stringMatching(/^folio_session=/)]),
  );
}

describe.each(FORMS)('$route', (form) => {
  async function setup() {
    const w = await world();
    const browser = form.signedOut ? new Browser(w.app) : w.browser;
    // The page sets the CSRF cookie, as a browser that opened the form would have it.
    expect((await browser.get(form.page(w))).statusCode).toBe(200);
    return { w, browser };
  }

  it('answers a form without _csrf with a 403 page and changes nothing', async () => {
    const { w, browser } = await setup();
    expectCsrfPage(await browser.post(form.action(w), form.fields(w)));
    await form.unchanged(w, browser);
  });

  it('answers a form with another browser’s _csrf with a 403 page and changes nothing', async () => {
    const { w, browser } = await setup();
    const foreign = await new Browser(w.app).csrf('/login');
    expectCsrfPage(await browser.post(form.action(w), { ...form.fields(w), _csrf: foreign }));
    await form.unchanged(w, browser);
  });

  it('answers a form with a _csrf but no CSRF cookie with a 403 page and changes nothing', async () => {
    const { w, browser } = await setup();
    const token = await browser.csrf(form.page(w));
    browser.jar.delete('folio_csrf');
    expectCsrfPage(await browser.post(form.action(w), { ...form.fields(w), _csrf: token }));
    await form.unchanged(w, browser);
  });
});
