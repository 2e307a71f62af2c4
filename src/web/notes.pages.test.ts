import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, signUp, type SignedUp } from '../../test/helpers.js';
import { Browser, PASSWORD } from '../../test/browser.js';

/** A user (with a bearer header for the API) signed in in a browser through the login form. */
async function signedIn(app: FastifyInstance): Promise<{ user: SignedUp; browser: Browser }> {
  const user = await signUp(app);
  const browser = new Browser(app);
  const response = await browser.submit('/login', '/login', { username: user.username, password: PASSWORD });
  if (response.statusCode !== 303) throw new Error(`login failed: ${response.statusCode}`);
  return { user, browser };
}

async function apiNote(app: FastifyInstance, user: SignedUp, id: number) {
  return app.inject({ url: `/api/notes/${id}`, headers: user.headers });
}

/** The value of the input (or the hidden field) named `name` on a page. */
function inputValue(page: string, name: string): string | undefined {
  return new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(page)?.[1];
}

function titles(page: string): string[] {
  return [...page.matchAll(/<a class="title" href="\/notes\/\d+">([^<]*)<\/a>/g)].map((m) => m[1]!);
}

describe('POST /notes', () => {
  it('creates the note and redirects 303 to it, tags stored lower-case and pinned from the checkbox', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const response = await browser.submit('/notes/new', '/notes', {
      title: 'Plans',
      content: 'A **bold** move',
      tags: 'Work, ideas',
      pinned: 'on',
    });
    expect(response.statusCode).toBe(303);
    const id = Number(/^\/notes\/(\d+)$/.exec(String(response.headers.location))?.[1]);
    const note = (await apiNote(app, user, id)).json();
    expect(note).toMatchObject({
      title: 'Plans',
      content: 'A **bold** move',
      tags: ['work', 'ideas'],
      pinned: true,
    });
    expect(note.archived).toBe(false);
  });

  it('answers an empty title with 400, the message next to the title and the input kept', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const response = await browser.submit('/notes/new', '/notes', {
      title: '   ',
      content: 'keep *this* text',
      tags: 'alpha, beta',
      pinned: 'on',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toMatch(/<p class="error" id="title-error">[^<]+<\/p>/);
    expect(response.body).toMatch(/id="title"[^>]*aria-invalid="true"/);
    expect(response.body).toContain('>keep *this* text</textarea>');
    expect(inputValue(response.body, 'tags')).toBe('alpha, beta');
    expect(response.body).toMatch(/id="pinned" name="pinned" checked/);
    const list = await app.inject({ url: '/api/notes', headers: user.headers });
    expect(list.json().meta.total).toBe(0);
  });
});

describe('GET /notes/:id', () => {
  it('shows the title, the tags, the Markdown rendered and the times', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, {
      title: 'Reading list',
      content: '**bold** and _soft_\n\n- one\n- two',
      tags: ['books', 'later'],
    });
    const page = await browser.get(`/notes/${note.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(page.body).toContain('<h1>Reading list</h1>');
    expect(page.body).toContain('<strong>bold</strong>');
    expect(page.body).toContain('<em>soft</em>');
    expect(page.body).toMatch(/<li>one<\/li>/);
    expect(page.body).toContain('href="/?tag=books"');
    expect(page.body).toContain('href="/?tag=later"');
    expect(page.body).toContain(`<time datetime="${note.updated_at}">`);
    expect(page.body).toContain(`<time datetime="${String(note.created_at)}">`);
  });
});

describe('GET /notes/:id with deeply nested Markdown', () => {
  it('shows the note as its text when the Markdown nests too deep to render', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    for (const [content, shown] of [
      ['>'.repeat(5000), '&gt;'.repeat(5000)],
      [`${'- '.repeat(3000)}x`, `${'- '.repeat(3000)}x`],
    ]) {
      const note = await createNote(app, user, { title: 'Nested', content: content! });
      const page = await browser.get(`/notes/${note.id}`);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`<pre class="plain">${shown}</pre>`);
    }
  });

  it('renders a note of 25,000 unclosed links `[](` (marked 16 took hours on it, blocking the server)', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Links', content: '[]('.repeat(25_000) });
    const page = await browser.get(`/notes/${note.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('[](');
  });
});

describe('GET /', () => {
  it('lists pinned notes, marked 📌, above the others', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    await createNote(app, user, { title: 'Old but pinned', pinned: true });
    await createNote(app, user, { title: 'New and plain' });
    const page = await browser.get('/');
    expect(page.statusCode).toBe(200);
    expect(titles(page.body)).toEqual(['📌 Old but pinned', 'New and plain']);
  });

  it('shows the notes matching ?q= with the matched words in <mark>', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    await createNote(app, user, { title: 'Garden', content: 'water the tomatoes every morning' });
    await createNote(app, user, { title: 'Kitchen', content: 'tomatoes soup with basil' });
    await createNote(app, user, { title: 'Unrelated', content: 'nothing to see' });
    const page = await browser.get('/?q=tomatoes');
    expect(page.statusCode).toBe(200);
    expect(titles(page.body).sort()).toEqual(['Garden', 'Kitchen']);
    expect(page.body).toMatch(/<div class="snippet">[^]*<mark>tomatoes<\/mark>/i);
    expect(inputValue(page.body, 'q')).toBe('tomatoes');
  });

  it('takes the first of a repeated ?q=, ?tag= or ?page= instead of failing', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    await createNote(app, user, { title: 'Cats', tags: ['pets'] });
    const page = await browser.get('/?q=cats&q=dogs&tag=pets&tag=&page=1&page=x');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Cats');
  });

  it('answers 404 for a note id past the largest a note can have', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    for (const id of ['2147483648', '999999999999999']) {
      expect((await browser.get(`/notes/${id}`)).statusCode, id).toBe(404);
    }
  });

  it('shows only the notes with the tag of ?tag=', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    await createNote(app, user, { title: 'Tagged', tags: ['work'] });
    await createNote(app, user, { title: 'Other tag', tags: ['home'] });
    await createNote(app, user, { title: 'No tags' });
    const page = await browser.get('/?tag=Work');
    expect(titles(page.body)).toEqual(['Tagged']);
    expect(page.body).toContain('aria-current="page"');
  });

  it('pages past 20 notes with rel=next and rel=prev links', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    for (let i = 1; i <= 23; i++) await createNote(app, user, { title: `Note ${i}` });
    const first = await browser.get('/');
    expect(titles(first.body)).toHaveLength(20);
    expect(first.body).not.toContain('rel="prev"');
    const next = /<a rel="next" href="([^"]+)"/.exec(first.body)?.[1];
    expect(next).toBe('/?page=2');
    const second = await browser.get(next!);
    expect(titles(second.body)).toHaveLength(3);
    expect(second.body).not.toContain('rel="next"');
    expect(/<a rel="prev" href="([^"]+)"/.exec(second.body)?.[1]).toBe('/?page=1');
    expect(new Set([...titles(first.body), ...titles(second.body)]).size).toBe(23);
  });
});

describe('POST /notes/:id/edit', () => {
  it('saves the form and redirects 303 to the changed note', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Draft', content: 'first', tags: ['a'] });
    const form = (await browser.get(`/notes/${note.id}/edit`)).body;
    expect(inputValue(form, 'title')).toBe('Draft');
    expect(inputValue(form, 'version')).toBe('1');
    const response = await browser.submit(`/notes/${note.id}/edit`, `/notes/${note.id}/edit`, {
      title: 'Final',
      content: 'second',
      tags: 'B, c',
      version: '1',
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/notes/${note.id}`);
    const saved = (await apiNote(app, user, note.id)).json();
    expect(saved).toMatchObject({
      title: 'Final',
      content: 'second',
      tags: ['b', 'c'],
      version: 2,
      pinned: false,
    });
    expect((await browser.get(`/notes/${note.id}`)).body).toContain('<h1>Final</h1>');
  });

  /** Opens the edit form, lets someone else save through the API, then sends the stale form. */
  async function conflict() {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Shared', content: 'original' });
    const token = await browser.csrf(`/notes/${note.id}/edit`);
    const theirs = { title: 'Their title', content: 'their words' };
    await app.inject({ method: 'PUT', url: `/api/notes/${note.id}`, headers: user.headers, payload: theirs });
    const mine = { _csrf: token, title: 'My title', content: 'my words', tags: 'mine', version: '1' };
    const response = await browser.post(`/notes/${note.id}/edit`, mine);
    return { app, user, browser, note, response };
  }

  it('answers a stale version with 409 showing both versions, keeping the input and the new version', async () => {
    const { app, user, note, response } = await conflict();
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toMatch(/<h2>Saved version<\/h2>[^]*Their title[^]*their words/);
    expect(response.body).toMatch(/<h2>Your version<\/h2>[^]*My title[^]*my words/);
    expect(inputValue(response.body, 'title')).toBe('My title');
    expect(inputValue(response.body, 'tags')).toBe('mine');
    expect(response.body).toContain('>my words</textarea>');
    expect(inputValue(response.body, 'version')).toBe('2');
    expect((await apiNote(app, user, note.id)).json()).toMatchObject({ title: 'Their title', version: 2 });
  });

  it('saves the conflict form sent again with 303, the person’s version winning', async () => {
    const { app, user, browser, note, response } = await conflict();
    const again = await browser.post(`/notes/${note.id}/edit`, {
      ...Object.fromEntries(
        ['_csrf', 'title', 'tags', 'version'].map((name) => [name, inputValue(response.body, name)!]),
      ),
      content: /<textarea[^>]*>([^<]*)<\/textarea>/.exec(response.body)![1]!,
    });
    expect(again.statusCode).toBe(303);
    const saved = (await apiNote(app, user, note.id)).json();
    expect(saved).toMatchObject({ title: 'My title', content: 'my words', tags: ['mine'], version: 3 });
  });

  it('answers an empty title with 400, the message next to the title and the input kept', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Keep me' });
    const response = await browser.submit(`/notes/${note.id}/edit`, `/notes/${note.id}/edit`, {
      title: '',
      content: 'new words',
      version: '1',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/<p class="error" id="title-error">[^<]+<\/p>/);
    expect(response.body).toContain('>new words</textarea>');
    expect(inputValue(response.body, 'version')).toBe('1');
    expect((await apiNote(app, user, note.id)).json()).toMatchObject({ title: 'Keep me', version: 1 });
  });
});

describe('delete, trash and restore', () => {
  it('GET /notes/:id/delete asks for confirmation and changes nothing', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Maybe delete' });
    const page = await browser.get(`/notes/${note.id}/delete`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`<form method="post" action="/notes/${note.id}/delete"`);
    expect(page.body).toContain('Delete “Maybe delete”?');
    expect((await apiNote(app, user, note.id)).statusCode).toBe(200);
  });

  it('POST /notes/:id/delete moves the note to the trash, where /trash lists it', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Going away' });
    const response = await browser.submit(`/notes/${note.id}/delete`, `/notes/${note.id}/delete`, {});
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    expect((await apiNote(app, user, note.id)).json().code).toBe('in_trash');
    expect(titles((await browser.get('/')).body)).toEqual([]);
    const trash = await browser.get('/trash');
    expect(titles(trash.body)).toEqual(['Going away']);
    expect(trash.body).toContain(`<form method="post" action="/notes/${note.id}/restore">`);
    expect((await browser.get(`/notes/${note.id}`)).statusCode).toBe(404);
  });

  it('POST /notes/:id/restore brings the note back from the trash with 303 to it', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const note = await createNote(app, user, { title: 'Come back' });
    await browser.submit(`/notes/${note.id}/delete`, `/notes/${note.id}/delete`, {});
    const response = await browser.submit('/trash', `/notes/${note.id}/restore`, {});
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/notes/${note.id}`);
    expect((await apiNote(app, user, note.id)).statusCode).toBe(200);
    expect(titles((await browser.get('/')).body)).toEqual(['Come back']);
    expect((await browser.get('/trash')).body).toContain('The trash is empty.');
  });
});
