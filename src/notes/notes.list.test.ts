import { describe, it, expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';

// Behaviour of listing, filtering, searching and paging notes, and of the tag list.

interface ListedNote {
  id: number;
  title: string;
  content: string;
  tags: string[];
  pinned: boolean;
  archived: boolean;
  version: number;
  created_at: string;
  updated_at: string;
  snippet?: string;
}

interface ListBody {
  data: ListedNote[];
  meta: { limit: number; page?: number; total?: number; total_pages?: number; next_cursor: string | null };
  links: Record<string, string | null>;
}

interface Listed {
  response: LightMyRequestResponse;
  body: ListBody;
}

async function setup(): Promise<{ app: FastifyInstance; user: SignedUp }> {
  const { app } = await buildTestApp();
  return { app, user: await signUp(app) };
}

async function list(app: FastifyInstance, user: SignedUp, query = ''): Promise<Listed> {
  const response = await app.inject({ url: `/api/notes${query ? `?${query}` : ''}`, headers: user.headers });
  expect(response.statusCode, response.body).toBe(200);
  return { response, body: response.json<ListBody>() };
}

function titles(body: ListBody): string[] {
  return body.data.map((note) => note.title);
}

function ids(body: ListBody): number[] {
  return body.data.map((note) => note.id);
}

function fieldsOf(problem: { errors?: { field: string }[] }): string[] {
  return (problem.errors ?? []).map((error) => error.field);
}

/** The `Link` header as rel → URL. */
function linkHeader(response: LightMyRequestResponse): Record<string, string> {
  const header = String(response.headers.link ?? '');
  return Object.fromEntries(
    [...header.matchAll(/<([^>]*)>;\s*rel="([^"]+)"/g)].map(([, url, rel]) => [rel!, url!]),
  );
}

/** The `Link` header must repeat every non-null link of the body, and nothing else. */
function expectLinkHeaderRepeatsLinks({ response, body }: Listed): void {
  const present = Object.fromEntries(Object.entries(body.links).filter(([, url]) => url !== null));
  expect(linkHeader(response)).toEqual(present);
  expect(present.self).toBeDefined();
}

function pageOf(url: string | null | undefined): string | null {
  return url ? new URL(url).searchParams.get('page') : null;
}

/** Waits until the clock has passed `iso`, so the next write gets a strictly later time. */
async function clockPast(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso) + 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Creates notes one after another, each with a strictly later time than the one before. */
async function createInTimeOrder(app: FastifyInstance, user: SignedUp, notes: Record<string, unknown>[]) {
  const created = [];
  for (const note of notes) {
    if (created.length > 0) await clockPast(created.at(-1)!.updated_at);
    created.push(await createNote(app, user, note));
  }
  return created;
}

/** `count` notes titled "note 01", "note 02", … so that sort=title gives a known order. */
async function createNumbered(app: FastifyInstance, user: SignedUp, count: number): Promise<void> {
  for (let i = 1; i <= count; i++)
    await createNote(app, user, { title: `note ${String(i).padStart(3, '0')}` });
}

function numbered(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `note ${String(from + i).padStart(3, '0')}`);
}

describe('GET /api/notes', () => {
  describe('paging', () => {
    it('answers an empty list with zero totals, self/first/last links and a matching Link header', async () => {
      const { app, user } = await setup();
      const listed = await list(app, user);
      expect(listed.body.data).toEqual([]);
      expect(listed.body.meta).toEqual({ limit: 20, page: 1, total: 0, total_pages: 0, next_cursor: null });
      expect(listed.body.links.prev).toBeNull();
      expect(listed.body.links.next).toBeNull();
      for (const rel of ['self', 'first', 'last']) expect(pageOf(listed.body.links[rel])).toBe('1');
      expectLinkHeaderRepeatsLinks(listed);
    });

    it('answers pages of 20, 20 and 5 over 45 notes with totals and prev/next/last links', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 45);

      const first = await list(app, user, 'sort=title&limit=20&page=1');
      expect(titles(first.body)).toEqual(numbered(1, 20));
      expect(first.body.meta).toMatchObject({ limit: 20, page: 1, total: 45, total_pages: 3 });
      expect(first.body.meta.next_cursor).toEqual(expect.any(String));
      expect(first.body.links.prev).toBeNull();
      expect(
        [first.body.links.self, first.body.links.first, first.body.links.next, first.body.links.last].map(
          pageOf,
        ),
      ).toEqual(['1', '1', '2', '3']);
      expectLinkHeaderRepeatsLinks(first);

      const second = await list(app, user, 'sort=title&limit=20&page=2');
      expect(titles(second.body)).toEqual(numbered(21, 40));
      expect(second.body.meta).toMatchObject({ limit: 20, page: 2, total: 45, total_pages: 3 });
      expect(['self', 'first', 'prev', 'next', 'last'].map((rel) => pageOf(second.body.links[rel]))).toEqual([
        '2',
        '1',
        '1',
        '3',
        '3',
      ]);
      expectLinkHeaderRepeatsLinks(second);

      const third = await list(app, user, 'sort=title&limit=20&page=3');
      expect(titles(third.body)).toEqual(numbered(41, 45));
      expect(third.body.meta).toEqual({ limit: 20, page: 3, total: 45, total_pages: 3, next_cursor: null });
      expect(third.body.links.next).toBeNull();
      expect(pageOf(third.body.links.prev)).toBe('2');
      expect(pageOf(third.body.links.last)).toBe('3');
      expectLinkHeaderRepeatsLinks(third);
    });

    it('keeps the other query parameters in its links', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 3);
      const { body } = await list(app, user, 'sort=title&limit=1&page=2');
      const next = new URL(body.links.next!);
      expect(next.pathname).toBe('/api/notes');
      expect(Object.fromEntries(next.searchParams)).toEqual({ sort: 'title', limit: '1', page: '3' });
    });

    it('answers an empty 200 for a page past the end', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 45);
      const listed = await list(app, user, 'sort=title&limit=20&page=4');
      expect(listed.body.data).toEqual([]);
      expect(listed.body.meta).toEqual({ limit: 20, page: 4, total: 45, total_pages: 3, next_cursor: null });
      expect(listed.body.links.next).toBeNull();
      expectLinkHeaderRepeatsLinks(listed);
    });

    it('accepts limit=1 and limit=100', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 3);
      expect((await list(app, user, 'limit=1')).body.data).toHaveLength(1);
      expect((await list(app, user, 'limit=100')).body.meta).toMatchObject({
        limit: 100,
        total: 3,
        total_pages: 1,
      });
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=two', 'page'],
      ['sort=colour', 'sort'],
      ['pinned=perhaps', 'pinned'],
      ['updated_since=yesterday', 'updated_since'],
    ])('answers 400 validation_failed for %s naming %s', async (query, field) => {
      const { app, user } = await setup();
      const response = await app.inject({ url: `/api/notes?${query}`, headers: user.headers });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual([field]);
    });

    it('answers 400 validation_failed naming an unknown query parameter', async () => {
      const { app, user } = await setup();
      const response = await app.inject({ url: '/api/notes?colour=red', headers: user.headers });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['colour']);
    });

    it('answers 400 naming each bad parameter once when several are bad', async () => {
      const { app, user } = await setup();
      const response = await app.inject({
        url: '/api/notes?limit=abc&page=0&colour=red',
        headers: user.headers,
      });
      const fields = fieldsOf(expectProblem(response, 400, 'validation_failed'));
      expect([...fields].sort()).toEqual(['colour', 'limit', 'page']);
    });

    it('answers 401 with WWW-Authenticate when no token is sent', async () => {
      const { app } = await buildTestApp();
      const response = await app.inject({ url: '/api/notes' });
      expectProblem(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    });
  });

  describe('sorting', () => {
    it('sorts by -updated_at by default: the most recently changed note first', async () => {
      const { app, user } = await setup();
      const [a, , c] = await createInTimeOrder(app, user, [{ title: 'A' }, { title: 'B' }, { title: 'C' }]);
      expect(titles((await list(app, user)).body)).toEqual(['C', 'B', 'A']);
      await clockPast(c!.updated_at);
      await app.inject({
        method: 'PATCH',
        url: `/api/notes/${a!.id}`,
        headers: user.headers,
        payload: { content: 'edited' },
      });
      expect(titles((await list(app, user)).body)).toEqual(['A', 'C', 'B']);
      expect(titles((await list(app, user, 'sort=updated_at')).body)).toEqual(['B', 'C', 'A']);
    });

    it('sorts by created_at and -created_at, unmoved by later edits', async () => {
      const { app, user } = await setup();
      const [a, , c] = await createInTimeOrder(app, user, [{ title: 'A' }, { title: 'B' }, { title: 'C' }]);
      await clockPast(c!.updated_at);
      await app.inject({
        method: 'PATCH',
        url: `/api/notes/${a!.id}`,
        headers: user.headers,
        payload: { content: 'edited' },
      });
      expect(titles((await list(app, user, 'sort=created_at')).body)).toEqual(['A', 'B', 'C']);
      expect(titles((await list(app, user, 'sort=-created_at')).body)).toEqual(['C', 'B', 'A']);
    });

    it('sorts by title without regard to case, and by -title in reverse', async () => {
      const { app, user } = await setup();
      for (const title of ['Banana', 'apple', 'Cherry', 'avocado']) await createNote(app, user, { title });
      expect(titles((await list(app, user, 'sort=title')).body)).toEqual([
        'apple',
        'avocado',
        'Banana',
        'Cherry',
      ]);
      expect(titles((await list(app, user, 'sort=-title')).body)).toEqual([
        'Cherry',
        'Banana',
        'avocado',
        'apple',
      ]);
    });
  });

  describe('keyset paging', () => {
    it('continues from meta.next_cursor as after until it is null, with keyset meta and links', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 45);
      const first = await list(app, user, 'sort=title&limit=20');
      const seen = titles(first.body);
      let cursor = first.body.meta.next_cursor;
      let pages = 0;
      while (cursor !== null) {
        const listed = await list(app, user, `sort=title&limit=20&after=${encodeURIComponent(cursor)}`);
        pages += 1;
        expect(Object.keys(listed.body.meta).sort()).toEqual(['limit', 'next_cursor']);
        expect(listed.body.meta.limit).toBe(20);
        expect(Object.keys(listed.body.links).sort()).toEqual(['next', 'self']);
        expect(new URL(listed.body.links.self!).searchParams.get('after')).toBe(cursor);
        expectLinkHeaderRepeatsLinks(listed);
        if (listed.body.meta.next_cursor === null) {
          expect(listed.body.links.next).toBeNull();
        } else {
          expect(new URL(listed.body.links.next!).searchParams.get('after')).toBe(
            listed.body.meta.next_cursor,
          );
        }
        seen.push(...titles(listed.body));
        cursor = listed.body.meta.next_cursor;
      }
      expect(pages).toBe(2);
      expect(seen).toEqual(numbered(1, 45));
    });

    it('answers the same page when its links.next is followed as when after is sent by hand', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 5);
      const first = await list(app, user, 'sort=title&limit=2');
      const next = new URL(first.body.links.next!);
      const viaLink = await app.inject({ url: `${next.pathname}${next.search}`, headers: user.headers });
      const viaAfter = await list(
        app,
        user,
        `sort=title&limit=2&after=${encodeURIComponent(first.body.meta.next_cursor!)}`,
      );
      // Page mode links to page 2; the cursor continues in keyset mode. Both are the same notes.
      expect(viaLink.json<ListBody>().data).toEqual(viaAfter.body.data);
      expect(titles(viaAfter.body)).toEqual(numbered(3, 4));
    });

    it('continues the sort the cursor belongs to when sort is left out', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 4);
      const first = await list(app, user, 'sort=-title&limit=2');
      const rest = await list(app, user, `limit=2&after=${encodeURIComponent(first.body.meta.next_cursor!)}`);
      expect(titles(rest.body)).toEqual(['note 002', 'note 001']);
    });

    it('answers 400 validation_failed naming page when page and after come together', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 3);
      const cursor = (await list(app, user, 'limit=1')).body.meta.next_cursor!;
      const response = await app.inject({
        url: `/api/notes?page=2&after=${encodeURIComponent(cursor)}`,
        headers: user.headers,
      });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['page']);
    });

    it.each([
      { name: 'garbage', after: 'not-a-cursor' },
      { name: 'a cursor with a missing member', after: Buffer.from('["title","x"]').toString('base64url') },
      {
        name: 'a cursor of an unknown sort',
        after: Buffer.from('["shoe_size","x",1]').toString('base64url'),
      },
      { name: 'a cursor with a bad id', after: Buffer.from('["title","x",-1]').toString('base64url') },
    ])('answers 400 validation_failed naming after for $name', async ({ after }) => {
      const { app, user } = await setup();
      const response = await app.inject({
        url: `/api/notes?after=${encodeURIComponent(after)}`,
        headers: user.headers,
      });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['after']);
    });

    it('answers 400 naming after when a sort=title cursor is sent with sort=-updated_at', async () => {
      const { app, user } = await setup();
      await createNumbered(app, user, 3);
      const cursor = (await list(app, user, 'sort=title&limit=1')).body.meta.next_cursor!;
      const response = await app.inject({
        url: `/api/notes?sort=-updated_at&after=${encodeURIComponent(cursor)}`,
        headers: user.headers,
      });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['after']);
    });

    it.each([
      ['the default sort', ''],
      ['sort=created_at', 'sort=created_at&'],
    ])(
      'sees each of 250 notes exactly once walking with %s while notes are created between and during pages',
      async (_name, sortQuery) => {
        const { app, user } = await setup();
        const original = new Set<number>();
        for (let i = 0; i < 250; i++) original.add((await createNote(app, user, { title: `walk ${i}` })).id);

        let extra = 0;
        const createExtra = () => createNote(app, user, { title: `extra ${++extra}` });
        const seen = new Map<number, number>();
        let cursor: string | null = null;
        let requests = 0;
        do {
          const url: string = `/api/notes?${sortQuery}limit=20${cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`}`;
          // Creates race the page request itself, and more land before the next one.
          const [response] = await Promise.all([
            app.inject({ url, headers: user.headers }),
            createExtra(),
            createExtra(),
            createExtra(),
          ]);
          await createExtra();
          expect(response.statusCode, response.body).toBe(200);
          const body = response.json<ListBody>();
          for (const id of ids(body)) seen.set(id, (seen.get(id) ?? 0) + 1);
          cursor = body.meta.next_cursor;
          requests += 1;
          expect(requests).toBeLessThan(100);
        } while (cursor !== null);

        const duplicates = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
        const missing = [...original].filter((id) => !seen.has(id));
        expect(duplicates).toEqual([]);
        expect(missing).toEqual([]);
      },
    );
  });

  describe('filters', () => {
    it('filters by tag, where tag=work also matches work/projects but not workshop', async () => {
      const { app, user } = await setup();
      for (const [title, tags] of [
        ['plain work', ['work']],
        ['project', ['work/projects']],
        ['workshop', ['workshop']],
        ['urgent work', ['Work', 'urgent']],
        ['urgent only', ['urgent']],
        ['untagged', []],
      ] as const) {
        await createNote(app, user, { title, tags });
      }
      expect(titles((await list(app, user, 'tag=work&sort=title')).body)).toEqual([
        'plain work',
        'project',
        'urgent work',
      ]);
      expect(titles((await list(app, user, 'tag=WORK&sort=title')).body)).toEqual([
        'plain work',
        'project',
        'urgent work',
      ]);
      expect(titles((await list(app, user, 'tag=work/projects')).body)).toEqual(['project']);
      expect(titles((await list(app, user, 'tag=workshop')).body)).toEqual(['workshop']);
      expect(titles((await list(app, user, 'tag=nothing')).body)).toEqual([]);
    });

    it('keeps only notes with all the tags when tag is repeated', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'both', tags: ['work', 'urgent'] });
      await createNote(app, user, { title: 'nested and urgent', tags: ['work/projects', 'urgent'] });
      await createNote(app, user, { title: 'work only', tags: ['work'] });
      await createNote(app, user, { title: 'urgent only', tags: ['urgent'] });
      const { body } = await list(app, user, 'tag=work&tag=urgent&sort=title');
      expect(titles(body)).toEqual(['both', 'nested and urgent']);
      expect(body.meta.total).toBe(2);
    });

    it('filters by pinned=true and pinned=false', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'pinned', pinned: true });
      await createNote(app, user, { title: 'loose' });
      expect(titles((await list(app, user, 'pinned=true')).body)).toEqual(['pinned']);
      expect(titles((await list(app, user, 'pinned=false')).body)).toEqual(['loose']);
    });

    it('hides archived notes by default and with archived=false, and shows them with archived=true', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'current' });
      await createNote(app, user, { title: 'old', archived: true });
      const hidden = await list(app, user);
      expect(titles(hidden.body)).toEqual(['current']);
      expect(hidden.body.meta.total).toBe(1);
      expect(titles((await list(app, user, 'archived=false')).body)).toEqual(['current']);
      expect(titles((await list(app, user, 'archived=true')).body)).toContain('old');
    });

    it('keeps only notes changed at or after updated_since', async () => {
      const { app, user } = await setup();
      const [a, b] = await createInTimeOrder(app, user, [{ title: 'A' }, { title: 'B' }]);
      const since = (iso: string) => `updated_since=${encodeURIComponent(iso)}&sort=title`;
      expect(titles((await list(app, user, since(a!.updated_at))).body)).toEqual(['A', 'B']);
      expect(titles((await list(app, user, since(b!.updated_at))).body)).toEqual(['B']);
      expect(titles((await list(app, user, since('2999-01-01T00:00:00Z'))).body)).toEqual([]);

      // The same instant written with another offset.
      const bTime = new Date(b!.updated_at);
      const plusTwo = new Date(bTime.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      expect(titles((await list(app, user, since(plusTwo))).body)).toEqual(['B']);

      await clockPast(b!.updated_at);
      await app.inject({
        method: 'PATCH',
        url: `/api/notes/${a!.id}`,
        headers: user.headers,
        payload: { pinned: true },
      });
      expect(titles((await list(app, user, since(b!.updated_at))).body)).toEqual(['A', 'B']);
    });

    it('never shows another user’s notes, whatever the filter', async () => {
      const { app, user } = await setup();
      const other = await signUp(app);
      await createNote(app, user, { title: 'apple of mine', tags: ['shared'], pinned: true });
      await createNote(app, other, { title: 'apple of theirs', tags: ['shared'], pinned: true });
      for (const query of ['', 'tag=shared', 'pinned=true', 'q=apple', 'sort=title', 'archived=true']) {
        const { body } = await list(app, other, query);
        expect(titles(body), query).not.toContain('apple of mine');
      }
      const { body } = await list(app, other);
      expect(titles(body)).toEqual(['apple of theirs']);
      expect(body.meta.total).toBe(1);
    });
  });

  describe('search', () => {
    it('keeps only notes that match all the words of q', async () => {
      const { app, user } = await setup();
      for (const title of ['red apple', 'green apple', 'red car', 'blue sky'])
        await createNote(app, user, { title });
      expect(titles((await list(app, user, 'q=red%20apple')).body)).toEqual(['red apple']);
      expect(titles((await list(app, user, 'q=apple&sort=title')).body)).toEqual([
        'green apple',
        'red apple',
      ]);
      expect(titles((await list(app, user, 'q=red%20sky')).body)).toEqual([]);
    });

    it('matches words by their beginning', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Gardening tips', content: 'apples and pears' });
      await createNote(app, user, { title: 'Other', content: 'nothing here' });
      for (const q of ['gard', 'garde', 'app', 'pea', 'ti']) {
        expect(titles((await list(app, user, `q=${q}`)).body), q).toEqual(['Gardening tips']);
      }
    });

    it('matches a word by any beginning, even one longer than its stem (runni finds running)', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Gardening tips', content: 'running every morning' });
      for (const q of ['gardeni', 'runn', 'runni', 'mornin', 'running']) {
        expect(titles((await list(app, user, `q=${q}`)).body), q).toEqual(['Gardening tips']);
      }
    });

    it('gives each hit a snippet with the matched term in <mark>, and no snippet outside search', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Pets', content: 'the cats sleep all day' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet).toContain('<mark>cats</mark>');
      const [prefixHit] = (await list(app, user, 'q=cat')).body.data;
      expect(prefixHit!.snippet).toContain('<mark>cats</mark>');
      const [plain] = (await list(app, user)).body.data;
      expect(plain).not.toHaveProperty('snippet');
    });

    it('escapes HTML from the note in the snippet', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Pets', content: '<script>x</script> cats & "dogs"' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet).toContain('&lt;script&gt;');
      expect(hit!.snippet).not.toContain('<script>');
      expect(hit!.snippet).toContain('<mark>cats</mark>');
      expect(hit!.snippet).toContain('&amp;');
      expect(hit!.content).toBe('<script>x</script> cats & "dogs"');
    });

    it('puts <mark> only around matched terms: notes cannot hold the control characters it marks with', async () => {
      const { app, user } = await setup();
      const rejected = await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: user.headers,
        payload: { title: 'Pets', content: 'a\u0002b\u0003 and cats' },
      });
      expect(rejected.statusCode).toBe(400);
      expect(rejected.json().errors).toEqual([
        { field: 'content', message: 'must not contain control characters other than tab and line breaks' },
      ]);
      await createNote(app, user, { title: 'Pets', content: 'a\tb\r\nand cats' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet!.match(/<mark>/g)).toHaveLength(1);
      expect(hit!.snippet!.match(/<\/mark>/g)).toHaveLength(1);
      expect(hit!.snippet).toContain('<mark>cats</mark>');
    });

    it('ranks a note whose title matches above notes where only the body matches', async () => {
      const { app, user } = await setup();
      // Body-only matches both before (lower id) and after (more recent) the title match, so
      // neither id order nor recency could put the title match first by chance.
      await createNote(app, user, { title: 'Misc', content: 'the quarterly report is late again' });
      await createNote(app, user, { title: 'Quarterly report', content: 'numbers' });
      await createNote(app, user, { title: 'Other', content: 'send the report to finance' });
      for (const title of ['alpha', 'beta', 'gamma', 'delta'])
        await createNote(app, user, { title, content: 'unrelated' });
      const { body } = await list(app, user, 'q=report');
      expect(titles(body)[0]).toBe('Quarterly report');
      expect([...titles(body)].sort()).toEqual(['Misc', 'Other', 'Quarterly report']);
      expect(body.meta.total).toBe(3);
    });

    it('sorts search hits by title when sort=title is given', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Misc', content: 'the report is late' });
      await createNote(app, user, { title: 'Report', content: 'numbers' });
      await createNote(app, user, { title: 'another', content: 'report again' });
      await createNote(app, user, { title: 'Zebra', content: 'no match' });
      const { body } = await list(app, user, 'q=report&sort=title');
      expect(titles(body)).toEqual(['another', 'Misc', 'Report']);
      expect(body.data.every((note) => typeof note.snippet === 'string')).toBe(true);
    });

    it('continues a search in keyset mode with the same q, in relevance order', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Misc', content: 'the report is late' });
      await createNote(app, user, { title: 'Report', content: 'numbers' });
      await createNote(app, user, { title: 'another', content: 'report again' });
      const all = titles((await list(app, user, 'q=report')).body);
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const after: string = cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`;
        const { body } = await list(app, user, `q=report&limit=1${after}`);
        walked.push(...titles(body));
        cursor = body.meta.next_cursor;
      } while (cursor !== null && walked.length < 10);
      expect(walked).toEqual(all);
    });

    it('answers 400 naming after when a search cursor is sent without q', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'report one' });
      await createNote(app, user, { title: 'report two' });
      const cursor = (await list(app, user, 'q=report&limit=1')).body.meta.next_cursor!;
      const response = await app.inject({
        url: `/api/notes?after=${encodeURIComponent(cursor)}`,
        headers: user.headers,
      });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['after']);
    });

    it('sees each hit exactly once walking a search by cursor with a sort while matching notes are created', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple apple apple', content: 'x' });
      await createNote(app, user, { title: 'apple pie', content: 'apple' });
      await createNote(app, user, { title: 'an apple', content: 'y' });
      for (let i = 0; i < 5; i++) await createNote(app, user, { title: `other ${i}` });
      const original = ids((await list(app, user, 'q=apple')).body);
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const after: string = cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`;
        const { body } = await list(app, user, `q=apple&sort=-created_at&limit=1${after}`);
        seen.push(...ids(body));
        cursor = body.meta.next_cursor;
        for (let i = 0; i < 3; i++) await createNote(app, user, { title: `filler ${i}`, content: 'apple' });
      } while (cursor !== null && seen.length < 100);
      expect(seen.length).toBe(new Set(seen).size);
      expect([...seen].sort()).toEqual([...original].sort());
    });

    it('reads only words from q, so search syntax characters are plain text', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple crumble' });
      for (const q of ['"apple', 'apple*', '(apple)', 'apple:', 'title:apple', '^apple']) {
        const response = await app.inject({
          url: `/api/notes?q=${encodeURIComponent(q)}`,
          headers: user.headers,
        });
        expect(response.statusCode, `${q}: ${response.body}`).toBe(200);
      }
      expect(titles((await list(app, user, `q=${encodeURIComponent('"apple*')}`)).body)).toEqual([
        'apple crumble',
      ]);
    });

    it.each(['', '?!', ' -- ... ', '"*()'])('answers as if there were no q when q is %j', async (q) => {
      const { app, user } = await setup();
      await createInTimeOrder(app, user, [
        { title: 'first' },
        { title: 'second' },
        { title: 'third', archived: true },
      ]);
      const plain = await list(app, user);
      const searched = await list(app, user, `q=${encodeURIComponent(q)}`);
      expect(ids(searched.body)).toEqual(ids(plain.body));
      expect(titles(searched.body)).toEqual(['second', 'first']);
      expect(searched.body.meta.total).toBe(2);
      expect(searched.body.data.some((note) => 'snippet' in note)).toBe(false);
    });

    it('finds a note by its new words and not its old ones after an update', async () => {
      const { app, user } = await setup();
      const note = await createNote(app, user, { title: 'Dessert', content: 'apple crumble with cream' });
      expect(ids((await list(app, user, 'q=cream')).body)).toEqual([note.id]);
      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/notes/${note.id}`,
        headers: user.headers,
        payload: { title: 'Pudding', content: 'with custard' },
      });
      expect(patch.statusCode).toBe(200);
      expect(ids((await list(app, user, 'q=cream')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=dessert')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=custard')).body)).toEqual([note.id]);
      expect(ids((await list(app, user, 'q=pudding')).body)).toEqual([note.id]);
      const put = await app.inject({
        method: 'PUT',
        url: `/api/notes/${note.id}`,
        headers: user.headers,
        payload: { title: 'Soup' },
      });
      expect(put.statusCode).toBe(200);
      expect(ids((await list(app, user, 'q=custard')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=soup')).body)).toEqual([note.id]);
    });

    it('no longer finds a deleted note', async () => {
      const { app, user } = await setup();
      const note = await createNote(app, user, { title: 'Ephemeral', content: 'quince' });
      const kept = await createNote(app, user, { title: 'Kept', content: 'quince' });
      await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
      expect(ids((await list(app, user, 'q=quince')).body)).toEqual([kept.id]);
      expect(ids((await list(app, user, 'q=ephemeral')).body)).toEqual([]);
    });

    it('finds only the caller’s own notes', async () => {
      const { app, user } = await setup();
      const other = await signUp(app);
      const mine = await createNote(app, user, { title: 'apple mine' });
      await createNote(app, other, { title: 'apple theirs' });
      const { body } = await list(app, user, 'q=apple');
      expect(ids(body)).toEqual([mine.id]);
      expect(body.meta.total).toBe(1);
      expect(ids((await list(app, user, 'q=theirs')).body)).toEqual([]);
    });

    it('combines q with tag and pinned filters', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple work', tags: ['work'], pinned: true });
      await createNote(app, user, { title: 'apple home', tags: ['home'], pinned: true });
      await createNote(app, user, { title: 'apple loose', tags: ['work'] });
      expect(titles((await list(app, user, 'q=apple&tag=work&pinned=true')).body)).toEqual(['apple work']);
    });
  });
});

describe('GET /api/tags', () => {
  async function tags(app: FastifyInstance, user: SignedUp) {
    const response = await app.inject({ url: '/api/tags', headers: user.headers });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ data: { name: string; count: number }[] }>();
  }

  it('answers an empty list when the user has no tags', async () => {
    const { app, user } = await setup();
    await createNote(app, user, { title: 'untagged' });
    expect(await tags(app, user)).toEqual({ data: [] });
  });

  it('answers the caller’s tags sorted by name with how many notes carry each', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    await createNote(app, user, { title: 'one', tags: ['work', 'Ideas'] });
    await createNote(app, user, { title: 'two', tags: ['work', 'work/projects'] });
    await createNote(app, user, { title: 'three', tags: ['home', 'WORK'] });
    await createNote(app, user, { title: 'four', tags: ['work'], archived: true });
    await createNote(app, other, { title: 'theirs', tags: ['secret', 'work'] });
    expect(await tags(app, user)).toEqual({
      data: [
        { name: 'home', count: 1 },
        { name: 'ideas', count: 1 },
        { name: 'work', count: 4 },
        { name: 'work/projects', count: 1 },
      ],
    });
    expect(await tags(app, other)).toEqual({
      data: [
        { name: 'secret', count: 1 },
        { name: 'work', count: 1 },
      ],
    });
  });

  it('changes its counts when notes are deleted or their tags change', async () => {
    const { app, user } = await setup();
    const a = await createNote(app, user, { title: 'a', tags: ['work', 'home'] });
    const b = await createNote(app, user, { title: 'b', tags: ['work'] });
    await createNote(app, user, { title: 'c', tags: ['work'] });
    expect((await tags(app, user)).data).toEqual([
      { name: 'home', count: 1 },
      { name: 'work', count: 3 },
    ]);
    await app.inject({ method: 'DELETE', url: `/api/notes/${a.id}`, headers: user.headers });
    expect((await tags(app, user)).data).toEqual([{ name: 'work', count: 2 }]);
    await app.inject({
      method: 'PATCH',
      url: `/api/notes/${b.id}`,
      headers: user.headers,
      payload: { tags: ['later'] },
    });
    expect((await tags(app, user)).data).toEqual([
      { name: 'later', count: 1 },
      { name: 'work', count: 1 },
    ]);
  });

  it('answers 401 with WWW-Authenticate when no token is sent', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ url: '/api/tags' });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});
