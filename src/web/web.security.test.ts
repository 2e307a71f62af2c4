import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, signUp, type SignedUp } from '../../test/helpers.js';
import { Browser, PASSWORD, signedIn } from '../../test/browser.js';

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

describe('POST /login with next', () => {
  it.each(['https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)'])(
    'redirects to / instead of another site for next=%s',
    async (next) => {
      const { app } = await buildTestApp();
      const user = await signUp(app);
      const browser = new Browser(app);
      const page = await browser.get(`/login?next=${encodeURIComponent(next)}`);
      expect(page.body).toContain('name="next" value="/"');
      const response = await browser.submit('/login', '/login', {
        username: user.username,
        password: PASSWORD,
        next,
      });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/');
    },
  );

  // Browsers drop tabs and line breaks from URLs (WHATWG URL parsing), so `/\t/evil.example`
  // in a Location header is followed to http://evil.example/: safeNext lets it through.
  it('never redirects to another host, even for a next with a tab a browser strips', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const browser = new Browser(app);
    const next = '/\t/evil.example';
    const response = await browser.submit('/login', '/login', {
      username: user.username,
      password: PASSWORD,
      next,
    });
    expect(response.statusCode).toBe(303);
    expect(new URL(String(response.headers.location), 'http://folio.test/').host).toBe('folio.test');
  });

  // The next field goes into the Location header as it is: a line break makes Node refuse the
  // header, and the person gets Fastify's bare JSON 500 instead of a redirect (or even a page).
  it('redirects to a path on this site, not a 500, for a next with a line break', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const browser = new Browser(app);
    const next = '/\n/evil.example';
    const response = await browser.submit('/login', '/login', {
      username: user.username,
      password: PASSWORD,
      next,
    });
    expect(response.statusCode).toBe(303);
    expect(new URL(String(response.headers.location), 'http://folio.test/').host).toBe('folio.test');
  });
});

const SCRIPT_TITLE = '<script>alert(1)</script>';
const ESCAPED_TITLE = '&lt;script&gt;alert(1)&lt;/script&gt;';
const ESCAPED_TAG = '&lt;b&gt;x&lt;/b&gt;';

describe('pages showing a note titled <script>', () => {
  it('escape the title and the tag <b>x</b> on /, the note, its edit and delete pages, /trash and search', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const fields = { title: SCRIPT_TITLE, content: 'alert in the body', tags: ['<b>x</b>'] };
    const note = await createNote(app, user, fields);
    const trashed = await createNote(app, user, fields);
    await app.inject({ method: 'DELETE', url: `/api/notes/${trashed.id}`, headers: user.headers });
    const pages = [
      '/',
      `/notes/${note.id}`,
      `/notes/${note.id}/edit`,
      `/notes/${note.id}/delete`,
      '/trash',
      '/?q=alert',
      `/?tag=${encodeURIComponent('<b>x</b>')}`,
    ];
    for (const url of pages) {
      const page = await browser.get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).not.toMatch(/<script/i);
      expect(page.body, url).not.toContain('<b>x</b>');
      expect(page.body, url).toContain(ESCAPED_TITLE);
      if (!url.includes('/delete')) expect(page.body, url).toContain(ESCAPED_TAG);
    }
  });

  it('escape a search and a tag filter reflected from the query string', async () => {
    const { app } = await buildTestApp();
    const { browser } = await signedIn(app);
    for (const url of [
      `/?q=${encodeURIComponent('"><script>alert(1)</script>')}`,
      `/?tag=${encodeURIComponent('"><script>x')}`,
    ]) {
      const page = await browser.get(url);
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toMatch(/<script/i);
      expect(page.body).toContain('&quot;&gt;&lt;script&gt;');
    }
  });
});

describe('GET /notes/:id with Markdown content', () => {
  it('renders the Markdown without any script, event handler attribute, javascript: URL or frame', async () => {
    const { app } = await buildTestApp();
    const { user, browser } = await signedIn(app);
    const content = [
      '**kept bold**',
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '[x](javascript:alert(1))',
      '<a href="javascript:alert(2)">y</a>',
      '<a href="JaVaScRiPt:alert(3)">z</a>',
      '<a href="java&#x09;script:alert(4)">w</a>',
      '[v](&#106;avascript:alert(5))',
      '<svg onload=alert(6)></svg>',
      '<iframe src="https://evil.example"></iframe>',
      '<p style="position:fixed" onclick="alert(7)">styled</p>',
      '<form action="https://evil.example"><input name="q"></form>',
      '[ok](https://example.com)',
    ].join('\n\n');
    const note = await createNote(app, user, { title: 'Hostile', content });
    const page = await browser.get(`/notes/${note.id}`);
    expect(page.statusCode).toBe(200);
    const body = /<div class="markdown">([^]*?)<\/div>\n<div class="actions">/.exec(page.body)?.[1];
    expect(body).toBeDefined();
    expect(body).toContain('<strong>kept bold</strong>');
    expect(body).toMatch(/<a href="https:\/\/example\.com"[^>]*>ok<\/a>/);
    expect(page.body).not.toMatch(/<script/i);
    expect(body).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
    expect(body).not.toMatch(/<[^>]*(javascript|vbscript|data):/i);
    expect(body).not.toMatch(/<(iframe|svg|form|style|object|embed)\b/i);
    expect(body).not.toMatch(/\sstyle\s*=/i);
  });
});

const CSP_PAGES = (w: World) => [
  '/',
  '/?q=untouched',
  '/notes/new',
  `/notes/${w.note.id}`,
  `/notes/${w.note.id}/edit`,
  `/notes/${w.note.id}/delete`,
  '/trash',
  '/logout',
  '/nope',
  `/notes/${w.trashed.id}`,
];

describe('every page', () => {
  it('sends a CSP with frame-ancestors none and no inline script, nosniff and a Referrer-Policy', async () => {
    const w = await world();
    const visitor = new Browser(w.app);
    const responses = [
      await visitor.get('/login'),
      await visitor.get('/register'),
      ...(await Promise.all(CSP_PAGES(w).map((url) => w.browser.get(url)))),
      await w.browser.post('/notes', { title: 'no token' }),
    ];
    for (const page of responses) {
      const where = `${page.statusCode} ${page.raw.req.url}`;
      expect(page.headers['content-type'], where).toMatch(/^text\/html/);
      const csp = String(page.headers['content-security-policy']);
      const directives = new Map(
        csp.split(';').map((d) => [d.trim().split(/\s+/)[0]!, d.trim().split(/\s+/).slice(1)] as const),
      );
      expect(directives.get('frame-ancestors'), where).toEqual(["'none'"]);
      const scripts = directives.get('script-src') ?? directives.get('default-src');
      expect(scripts, where).toBeDefined();
      expect(scripts, where).not.toContain("'unsafe-inline'");
      expect(page.headers['x-content-type-options'], where).toBe('nosniff');
      expect(page.headers['referrer-policy'], where).toBeTruthy();
      expect(page.body, where).not.toMatch(/<script/i);
    }
  });

  it('gives every visible input and textarea a <label for> it', async () => {
    const w = await world();
    const visitor = new Browser(w.app);
    const pages = [
      await visitor.get('/login'),
      await visitor.get('/register'),
      ...(await Promise.all(CSP_PAGES(w).map((url) => w.browser.get(url)))),
    ];
    let checked = 0;
    for (const page of pages) {
      const labels = new Set([...page.body.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]));
      for (const [tag] of page.body.matchAll(/<(input|textarea|select)\b[^>]*>/g)) {
        const type = /\btype="([^"]+)"/.exec(tag)?.[1] ?? 'text';
        if (['hidden', 'submit'].includes(type)) continue;
        const id = /\bid="([^"]+)"/.exec(tag)?.[1];
        expect(id && labels.has(id), `${page.raw.req.url}: ${tag}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
