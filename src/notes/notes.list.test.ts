import { describe, it, expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { openDatabase } from '../db/database.js';
import { createNote as storeCreateNote } from './notes.store.js';
import {
  clockPast,
  createInTimeOrder,
  fieldsOf,
  ids,
  list,
  setup,
  titles,
  type ListBody,
  type Listed,
} from '../../test/notes-helpers.js';

// Behaviour of listing notes: paging, sorting and keyset paging.

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
      ['limit=Infinity', 'limit'],
      ['page=0', 'page'],
      ['page=1e400', 'page'],
      ['page=-1', 'page'],
      ['page=two', 'page'],
      ['sort=colour', 'sort'],
      ['pinned=perhaps', 'pinned'],
      ['updated_since=yesterday', 'updated_since'],
      ['updated_since=2016-12-31T23:59:60Z', 'updated_since'],
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
      // No title holds a control character; PostgreSQL cannot even compare text with a NUL.
      {
        name: 'a cursor with a NUL in its value',
        after: Buffer.from('["title","a\\u0000",1]').toString('base64url'),
      },
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
});

describe('page totals', () => {
  const total = async (app: FastifyInstance, user: SignedUp, query = '') =>
    (await list(app, user, query)).body.meta.total;

  it('stay right after every kind of write, including one made by another instance', async () => {
    const { app, url } = await buildTestApp();
    const user = await signUp(app);
    const first = await createNote(app, user, { title: 'one', tags: ['work'] });
    await createNote(app, user, { title: 'two' });
    expect(await total(app, user)).toBe(2);
    expect(await total(app, user, 'tag=work')).toBe(1);
    // Asked again, with nothing changed: the same totals.
    expect(await total(app, user)).toBe(2);
    await createNote(app, user, { title: 'three', tags: ['work'] });
    expect(await total(app, user)).toBe(3);
    expect(await total(app, user, 'tag=work')).toBe(2);
    await app.inject({
      method: 'PATCH',
      url: `/api/notes/${first.id}`,
      headers: user.headers,
      payload: { archived: true },
    });
    expect(await total(app, user)).toBe(2);
    expect(await total(app, user, 'archived=true')).toBe(1);
    await app.inject({ method: 'DELETE', url: `/api/notes/${first.id}`, headers: user.headers });
    expect(await total(app, user, 'archived=true')).toBe(0);
    expect(await total(app, user, 'deleted=true')).toBe(1);
    // Another instance (its own connection or pool) writes to the same database.
    const other = openDatabase(url);
    try {
      await storeCreateNote(other.db, user.id, {
        title: 'four',
        content: '',
        tags: [],
        pinned: false,
        archived: false,
      });
    } finally {
      await other.close();
    }
    expect(await total(app, user)).toBe(3);
  });
});
