import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp } from '../../test/helpers.js';
import { signedIn } from '../../test/browser.js';

function expectPage(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
  expect(response.body).toMatch(/^<!doctype html>/);
}

describe('GET /notes/:id with Accept: application/json', () => {
  it('answers the same JSON and ETag as GET /api/notes/:id', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Two hats', content: '*md*', tags: ['x'] });
    const page = await browser.get(`/notes/${note.id}`, { accept: 'application/json' });
    const api = await app.inject({ url: `/api/notes/${note.id}`, headers: user.headers });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^application\/json/);
    expect(page.json()).toEqual(api.json());
    expect(page.headers.etag).toBeDefined();
    expect(page.headers.etag).toBe(api.headers.etag);
    expect(String(page.headers.vary)).toMatch(/accept/i);
  });

  it('answers another user’s note with 404 problem+json', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const other = await signUp(app);
    const theirs = await createNote(app, other, { title: 'Not yours' });
    const response = await browser.get(`/notes/${theirs.id}`, { accept: 'application/json' });
    expectProblem(response, 404, 'not_found');
    expect(response.body).not.toContain('Not yours');
  });
});

describe('GET /notes/:id of another user', () => {
  it('answers a 404 page, exactly like a note that never existed', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const other = await signUp(app);
    const theirs = await createNote(app, other, { title: 'Not yours' });
    for (const url of [`/notes/${theirs.id}`, `/notes/${theirs.id}/edit`, `/notes/${theirs.id}/delete`]) {
      const response = await browser.get(url);
      expectPage(response, 404);
      expect(response.body).not.toContain('Not yours');
    }
    expectPage(await browser.get('/notes/999999'), 404);
    expectPage(await browser.get('/notes/abc'), 404);
  });

  it('answers POST /notes/:id/edit and /delete with a 404 page and leaves the note alone', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const other = await signUp(app);
    const theirs = await createNote(app, other, { title: 'Not yours' });
    const token = await browser.csrf('/notes/new');
    const edit = { _csrf: token, title: 'Taken over', version: '1' };
    expectPage(await browser.post(`/notes/${theirs.id}/edit`, edit), 404);
    expectPage(await browser.post(`/notes/${theirs.id}/delete`, { _csrf: token }), 404);
    const read = await app.inject({ url: `/api/notes/${theirs.id}`, headers: other.headers });
    expect(read.json()).toMatchObject({ title: 'Not yours', version: 1 });
  });
});

describe('GET /nope (signed in)', () => {
  it('answers a 404 page', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const response = await browser.get('/nope');
    expectPage(response, 404);
    expect(response.body).toContain('<h1>Not Found</h1>');
  });
});

describe('GET /api/notes', () => {
  it('answers 406 not_acceptable problem+json to Accept: text/html', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      url: '/api/notes',
      headers: { ...user.headers, accept: 'text/html' },
    });
    expectProblem(response, 406, 'not_acceptable');
  });

  it.each([
    ['*/*', { accept: '*/*' }],
    ['no Accept', {}],
    ['a browser’s Accept', { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }],
    ['application/json', { accept: 'application/json' }],
  ])('answers 200 JSON to %s', async (_name, headers) => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({ url: '/api/notes', headers: { ...user.headers, ...headers } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('GET /api/unknown', () => {
  it('answers 404 problem+json even to Accept: text/html and a page cookie', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const response = await browser.get('/api/unknown', { accept: 'text/html' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().code).toBe('not_found');
  });
});

describe('cookie authentication on /api', () => {
  it('lets GET /api/events stream with only the session cookie, as an EventSource would', async () => {
    const { app } = await buildTestApp({ sseHeartbeatSeconds: 1 });
    const { browser } = await signedIn(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const controller = new AbortController();
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/events`, {
        headers: { cookie: browser.cookie, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const first = await response.body!.getReader().read();
      expect(first.done).toBe(false);
      expect(first.value!.byteLength).toBeGreaterThan(0);
    } finally {
      controller.abort();
    }
  });

  it('refuses GET /api/notes with the cookie of an ended session', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    const cookie = browser.cookie;
    await browser.post('/logout', { _csrf: await browser.csrf('/logout') });
    const response = await app.inject({ url: '/api/notes', headers: { cookie } });
    expectProblem(response, 401, 'unauthorized');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)(
    'answers %s /api/notes… with only the session cookie with 401 and changes nothing',
    async (method) => {
      const { app } = await buildTestApp();
      const { user, browser } = await signedIn(app);
      const note = await createNote(app, user, { title: 'Kept' });
      const url = method === 'POST' ? '/api/notes' : `/api/notes/${note.id}`;
      const response = await browser.request({ method, url, payload: { title: 'Forged' } });
      expectProblem(response, 401, 'unauthorized');
      const list = await app.inject({ url: '/api/notes', headers: user.headers });
      expect(list.json().data).toEqual([expect.objectContaining({ title: 'Kept', version: 1 })]);
    },
  );
});
