import { describe, it, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { clockPast, createInTimeOrder, list, setup, titles } from '../../test/notes-helpers.js';

// Behaviour of filtering notes, and of the tag list.

describe('GET /api/notes', () => {
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

    it('finds a note by its tag however the tag’s accents are encoded (NFC or not)', async () => {
      const { app, user } = await setup();
      // Stored as NFC "café"; asked for as "cafe" + combining acute, and the other way round.
      await createNote(app, user, { title: 'decomposed', tags: ['Cafe\u0301'] });
      await createNote(app, user, { title: 'compatibility', tags: ['\u{2f800}'] });
      expect(titles((await list(app, user, 'tag=caf%C3%A9')).body)).toEqual(['decomposed']);
      expect(titles((await list(app, user, 'tag=Cafe%CC%81')).body)).toEqual(['decomposed']);
      expect(titles((await list(app, user, `tag=${encodeURIComponent('\u{2f800}')}`)).body)).toEqual([
        'compatibility',
      ]);
    });

    it('answers an empty list for a tag with a control character, which no note can have', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'tagged', tags: ['a'] });
      for (const tag of ['%00', 'a%00', '%07']) {
        const { body } = await list(app, user, `tag=${tag}`);
        expect(body.data, tag).toEqual([]);
        expect(body.meta.total).toBe(0);
      }
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
