import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildTestApp, signUp } from './helpers.js';

// The pages end to end in a real browser: Debian's Chromium (never a downloaded one; .ci/run installs
// the `chromium` package when it is missing) driven by playwright-core over real HTTP to 127.0.0.1.
// Screenshots go to test-artifacts/screenshots/ (git-ignored).

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless --no-sandbox --disable-gpu --disable-background-networking --disable-quic',
  '--no-first-run --disable-component-update --disable-sync',
].flatMap((args) => args.split(' '));
const SHOTS = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));
const SLOW = 180_000;
const PASSWORD = 'correct horse battery';
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

interface Site {
  app: FastifyInstance;
  base: string;
  browser: Browser;
  /** Server errors and requests that left 127.0.0.1, seen by any page of this site. */
  problems: string[];
}

/** Folio listening on a real port and a headless Chromium; both closed when the test ends, pass or fail. */
async function startSite(): Promise<Site> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM}: install it with ` +
        '`apt-get install -y chromium` (.ci/run does so). Never run `npx playwright install`.',
    );
  }
  const { app } = await buildTestApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  // Registered after buildTestApp's hook, so (hooks run as a stack) the browser closes before the server.
  onTestFinished(() => browser.close());
  return { app, browser, base: `http://127.0.0.1:${port}`, problems: [] };
}

async function open(site: Site, options: BrowserContextOptions): Promise<Page> {
  const context = await site.browser.newContext(options);
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  page.on('request', (request) => {
    if (!request.url().startsWith(`${site.base}/`)) site.problems.push(`request to ${request.url()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) site.problems.push(`${response.status()} from ${response.url()}`);
  });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Called on each page a helper passes through, before it moves on (screenshots, checks). */
type OnPage = (page: Page, name: string) => Promise<void>;
const nothing: OnPage = async () => {};

/** Clicks a form's button and waits for the page it leads to. */
async function submit(page: Page, button: string, to: string | RegExp): Promise<void> {
  await Promise.all([page.waitForURL(to), page.getByRole('button', { name: button, exact: true }).click()]);
}

async function register(page: Page, base: string, username: string, onPage = nothing): Promise<void> {
  await page.goto(`${base}/register`);
  await onPage(page, 'register');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await submit(page, 'Create account', `${base}/`);
  expect(await page.getByRole('link', { name: `Sign out (${username})` }).count()).toBe(1);
}

/** Writes a note through /notes/new; returns its id, on its page. */
async function writeNote(
  page: Page,
  base: string,
  note: { title: string; content: string; tags: string },
  onPage = nothing,
): Promise<number> {
  await page.goto(`${base}/notes/new`);
  await onPage(page, 'new-note');
  await page.getByLabel('Title').fill(note.title);
  await page.getByLabel('Content').fill(note.content);
  await page.getByLabel('Tags').fill(note.tags);
  await submit(page, 'Save', /\/notes\/\d+$/);
  expect(await heading(page)).toBe(note.title);
  return Number(new URL(page.url()).pathname.split('/').pop());
}

/** Follows a link (by its accessible name) and waits for the page it leads to. */
async function follow(page: Page, link: string, to: string): Promise<void> {
  await Promise.all([page.waitForURL(to), page.getByRole('link', { name: link, exact: true }).click()]);
}

const heading = (page: Page) => page.locator('main > h1').textContent();

/** The links to a note in the page's list. */
const linksTo = (page: Page, id: number) => page.locator(`main ul.notes a.title[href="/notes/${id}"]`);

async function noHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  );
  // Mobile Chromium widens the layout viewport (innerWidth) to fit wide content, so pin it as well.
  expect(innerWidth, `layout viewport of ${page.url()}`).toBe(390);
  expect(scrollWidth, `scroll width of ${page.url()}`).toBeLessThanOrEqual(innerWidth + 1);
}

const browserProject = (process.env.FOLIO_TEST_DIALECT ?? 'sqlite') === 'sqlite';

describe('pages in a browser', () => {
  if (!browserProject) {
    // Registered, not skipped: the other project says where the browser tests run.
    it('run in the sqlite project only (the pages sit on the same stores)', () => {
      expect(process.env.FOLIO_TEST_DIALECT).toBe('postgres');
    });
    return;
  }

  it('register, Markdown, search, edit, delete, restore, sign out (desktop)', { timeout: SLOW }, async () => {
    const site = await startSite();
    const { base } = site;
    const page = await open(site, DESKTOP);
    await register(page, base, 'dana', shot);
    expect(page.url()).toBe(`${base}/`);

    const content =
      '# Heading\n\nSome **bold** words about the zephyr.\n\n- first item\n- second item\n\n' +
      'See [the example](https://example.com/).';
    const id = await writeNote(page, base, { title: 'Plans for the week', content, tags: 'work, ideas' });
    const markdown = page.locator('main .markdown');
    // Markdown headings sit one level below the note's title, the page's h1.
    expect(await markdown.locator('h2').textContent()).toBe('Heading');
    expect(await markdown.locator('strong').textContent()).toBe('bold');
    expect(await markdown.locator('li').allTextContents()).toEqual(['first item', 'second item']);
    expect(await markdown.getByRole('link', { name: 'the example' }).getAttribute('href')).toBe(
      'https://example.com/',
    );
    expect((await page.locator('main > ul.tags li').allTextContents()).sort()).toEqual(['ideas', 'work']);
    await shot(page, 'note');

    await follow(page, 'Folio', `${base}/`);
    expect(await linksTo(page, id).textContent()).toBe('Plans for the week');
    await shot(page, 'list');

    await page.getByRole('searchbox', { name: 'Search' }).fill('zephyr');
    await submit(page, 'Search', `${base}/?q=zephyr`);
    expect(await page.locator('main ul.notes > li').count()).toBe(1);
    expect(await linksTo(page, id).count()).toBe(1);
    const marked = await page.locator('main ul.notes mark').allTextContents();
    expect(marked.map((word) => word.toLowerCase())).toContain('zephyr');
    await shot(page, 'search');

    await Promise.all([page.waitForURL(`${base}/notes/${id}`), linksTo(page, id).click()]);
    await follow(page, 'Edit', `${base}/notes/${id}/edit`);
    expect(await page.getByLabel('Title').inputValue()).toBe('Plans for the week');
    await shot(page, 'edit');
    await page.getByLabel('Title').fill('Plans for next week');
    await submit(page, 'Save', `${base}/notes/${id}`);
    expect(await heading(page)).toBe('Plans for next week');

    await follow(page, 'Delete', `${base}/notes/${id}/delete`);
    expect(await heading(page)).toBe('Delete “Plans for next week”?');
    await submit(page, 'Delete', `${base}/`);
    expect(await linksTo(page, id).count()).toBe(0);

    await follow(page, 'Trash', `${base}/trash`);
    expect(await linksTo(page, id).textContent()).toBe('Plans for next week');
    await shot(page, 'trash');
    await submit(page, 'Restore', `${base}/notes/${id}`);
    await page.goto(`${base}/`);
    expect(await linksTo(page, id).count()).toBe(1);
    await page.goto(`${base}/trash`);
    expect(await linksTo(page, id).count()).toBe(0);

    await follow(page, 'Sign out (dana)', `${base}/logout`);
    await submit(page, 'Sign out', `${base}/login`);
    expect(await heading(page)).toBe('Sign in');
    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/login?next=%2F`);
    expect(site.problems).toEqual([]);
  });

  it('signs in and writes a note on a phone, nothing wider than the screen', { timeout: SLOW }, async () => {
    const site = await startSite();
    const { base } = site;
    await signUp(site.app, 'pat');
    const page = await open(site, PHONE);

    // Signed out, a page sends you to sign in, and back to it afterwards.
    await page.goto(`${base}/notes/new`);
    expect(page.url()).toBe(`${base}/login?next=%2Fnotes%2Fnew`);
    await shot(page, 'phone-login');
    await page.getByLabel('Username or email').fill('pat');
    await page.getByLabel('Password').fill(PASSWORD);
    await submit(page, 'Sign in', `${base}/notes/new`);

    // Long words, a long link and a code line: none may widen the page.
    const content = [
      '## Shopping on the way home from the station',
      'A link: https://example.com/a/very/long/path/that/does/not/break/anywhere/at/all/on/a/small/screen',
      'Averyveryveryverylongwordwithoutanyspacesthatmightpushthepagewiderthanthephonescreen.',
      '```\nconst code = "a code line long enough to need its own horizontal scrolling on a phone";\n```',
    ].join('\n\n');
    const title = 'Groceries and other errands for the long weekend';
    const id = await writeNote(page, base, { title, content, tags: 'errands, home, a-rather-long-tag-name' });
    await noHorizontalScroll(page);
    await shot(page, 'phone-note');

    await Promise.all([page.waitForURL(`${base}/`), page.getByRole('link', { name: 'Folio' }).tap()]);
    expect(await linksTo(page, id).textContent()).toBe(title);
    await noHorizontalScroll(page);
    await shot(page, 'phone-list');

    await follow(page, title, `${base}/notes/${id}`);
    await follow(page, 'Edit', `${base}/notes/${id}/edit`);
    await noHorizontalScroll(page);
    await shot(page, 'phone-edit');
    expect(site.problems).toEqual([]);
  });

  it('works with JavaScript disabled, and no page has a script', { timeout: SLOW }, async () => {
    const site = await startSite();
    const { base } = site;
    const page = await open(site, { ...DESKTOP, javaScriptEnabled: false });
    const visited: string[] = [];
    const noScript: OnPage = async (p) => {
      visited.push(new URL(p.url()).pathname);
      expect(await p.$$('script'), `scripts on ${p.url()}`).toHaveLength(0);
    };

    await register(page, base, 'noam', noScript);
    await noScript(page, 'list');
    const note = { title: 'Plain', content: 'No *script* needed.', tags: 'quiet' };
    const id = await writeNote(page, base, note, noScript);
    await noScript(page, 'note');
    expect(await page.locator('main .markdown em').textContent()).toBe('script');

    await follow(page, 'Edit', `${base}/notes/${id}/edit`);
    await noScript(page, 'edit');
    await page.getByLabel('Title').fill('Plain and simple');
    await submit(page, 'Save', `${base}/notes/${id}`);
    await noScript(page, 'note');
    expect(await heading(page)).toBe('Plain and simple');

    await follow(page, 'Delete', `${base}/notes/${id}/delete`);
    await noScript(page, 'delete');
    await submit(page, 'Delete', `${base}/`);
    await noScript(page, 'list');
    expect(await linksTo(page, id).count()).toBe(0);
    await follow(page, 'Trash', `${base}/trash`);
    await noScript(page, 'trash');
    expect(await linksTo(page, id).count()).toBe(1);
    const note1 = `/notes/${id}`;
    const pages = [`${note1}/edit`, note1, `${note1}/delete`, '/', '/trash'];
    expect(visited).toEqual(['/register', '/', '/notes/new', note1, ...pages]);
    expect(site.problems).toEqual([]);
  });

  it('runs nothing from a hostile title or note, even without the CSP', { timeout: SLOW }, async () => {
    const site = await startSite();
    const { base } = site;
    // bypassCSP: the Content-Security-Policy would block inline script anyway; this checks that
    // escaping and sanitizing alone keep it out.
    const page = await open(site, { ...DESKTOP, bypassCSP: true });
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const title = '<img src=x onerror="window.__xss=1">';
    const content =
      '<script>window.__xss=2</script>\n\n[x](javascript:window.__xss=3)\n\n' +
      '<img src=x onerror="alert(4)"> <a href="javascript:alert(5)">y</a>';
    /** Nothing ran, and no event-handler attribute or javascript: URL is in the document. */
    const harmless = async () => {
      expect(await page.evaluate<unknown>('window.__xss'), `window.__xss on ${page.url()}`).toBeUndefined();
      const injected = `[...document.querySelectorAll('*')].flatMap((el) => [...el.attributes]
        .filter((a) => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))
        .map((a) => el.tagName + ' ' + a.name + '=' + a.value))`;
      expect(await page.evaluate<string[]>(injected), `on ${page.url()}`).toEqual([]);
    };

    await register(page, base, 'mallory');
    const id = await writeNote(page, base, { title, content, tags: 'hostile' });
    await page.locator('main .markdown a', { hasText: 'x' }).click();
    await page.locator('main .markdown a', { hasText: 'y' }).click();
    expect(page.url()).toBe(`${base}/notes/${id}`);
    expect(await page.locator('script').count()).toBe(0);
    await harmless();
    await shot(page, 'xss-note');

    await page.goto(`${base}/`);
    expect(await linksTo(page, id).textContent()).toBe(title);
    await harmless();

    await page.goto(`${base}/notes/${id}/edit`);
    expect(await page.getByLabel('Title').inputValue()).toBe(title);
    expect(await page.getByLabel('Content').inputValue()).toBe(content);
    await harmless();
    expect(dialogs).toBe(0);
    expect(site.problems).toEqual([]);
  });
});
