import { describe, it, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { setup, type NoteBody } from '../../test/notes-helpers.js';
import { pruneChanges } from './changes.store.js';

// GET /api/sync, the change feed, each test on its own fresh database.

type Change = { cursor: string; op: 'upsert'; note: NoteBody } | { cursor: string; op: 'delete'; id: number };
interface SyncPage {
  changes: Change[];
  next_cursor: string;
  has_more: boolean;
}

async function sync(app: FastifyInstance, user: SignedUp, query = ''): Promise<SyncPage> {
  const response = await app.inject({ url: `/api/sync${query ? `?${query}` : ''}`, headers: user.headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<SyncPage>();
}

function write(
  app: FastifyInstance,
  user: SignedUp,
  method: 'PATCH' | 'DELETE' | 'POST',
  url: string,
  payload?: object,
) {
  return app.inject({ method, url, headers: user.headers, ...(payload && { payload }) });
}

/** Every live note of the user, by id, as GET /api/notes answers. */
async function serverState(app: FastifyInstance, user: SignedUp): Promise<Map<number, NoteBody>> {
  const response = await app.inject({ url: '/api/notes?limit=100&sort=created_at', headers: user.headers });
  const body = response.json<{ data: NoteBody[]; meta: { total: number } }>();
  expect(body.meta.total).toBe(body.data.length);
  return new Map(body.data.map((note) => [note.id, note]));
}

/** Applies changes to a client's copy, as a client app would. */
function apply(mirror: Map<number, NoteBody>, changes: Change[]): void {
  for (const change of changes) {
    if (change.op === 'upsert') mirror.set(change.note.id, change.note);
    else mirror.delete(change.id);
  }
}

function summary(changes: Change[]): string[] {
  return changes.map((c) => (c.op === 'upsert' ? `upsert ${c.note.title}` : `delete ${c.id}`));
}

describe('GET /api/sync', () => {
  it('answers every live note as an upsert, oldest change first, when no since is given', async () => {
    const { app, user } = await setup();
    const a = await createNote(app, user, { title: 'A', tags: ['x'] });
    const b = await createNote(app, user, { title: 'B' });
    const c = await createNote(app, user, { title: 'C' });
    const page = await sync(app, user);
    expect(page.changes.map((ch) => ch.op)).toEqual(['upsert', 'upsert', 'upsert']);
    expect(page.changes.map((ch) => (ch.op === 'upsert' ? ch.note : null))).toEqual([a, b, c]);
    const cursors = page.changes.map((ch) => ch.cursor);
    for (const cursor of cursors) expect(cursor).toMatch(/^\S+$/);
    expect(new Set(cursors).size).toBe(3);
    expect(page.next_cursor).toBe(cursors.at(-1));
    expect(page.has_more).toBe(false);
    expect(Object.keys(page).sort()).toEqual(['changes', 'has_more', 'next_cursor']);
  });

  it('answers no changes, has_more false and the same cursor when nothing changed after since', async () => {
    const { app, user } = await setup();
    await createNote(app, user, { title: 'A' });
    const first = await sync(app, user);
    const again = await sync(app, user, `since=${first.next_cursor}`);
    expect(again).toEqual({ changes: [], next_cursor: first.next_cursor, has_more: false });
  });

  it('pages with limit by following next_cursor until has_more is false', async () => {
    const { app, user } = await setup();
    for (const title of ['1', '2', '3', '4', '5']) await createNote(app, user, { title });
    const seen: string[] = [];
    const more: boolean[] = [];
    let since = '';
    for (let page = 0; page < 10; page++) {
      const answer = await sync(app, user, `limit=2${since && `&since=${since}`}`);
      expect(answer.changes.length).toBeLessThanOrEqual(2);
      seen.push(...summary(answer.changes));
      more.push(answer.has_more);
      since = answer.next_cursor;
      if (!answer.has_more) break;
    }
    expect(more).toEqual([true, true, false]);
    expect(seen).toEqual(['upsert 1', 'upsert 2', 'upsert 3', 'upsert 4', 'upsert 5']);
  });

  it('answers each note once, at its latest change and in full, after several updates', async () => {
    const { app, user } = await setup();
    const a = await createNote(app, user, { title: 'A v1' });
    await createNote(app, user, { title: 'B' });
    for (const title of ['A v2', 'A v3', 'A v4']) {
      expect((await write(app, user, 'PATCH', `/api/notes/${a.id}`, { title })).statusCode).toBe(200);
    }
    const page = await sync(app, user);
    expect(summary(page.changes)).toEqual(['upsert B', 'upsert A v4']);
    const latest = await app.inject({ url: `/api/notes/${a.id}`, headers: user.headers });
    expect(page.changes[1]).toMatchObject({ op: 'upsert', note: latest.json() });
  });

  it('answers only the changes made after since, after it', async () => {
    const { app, user } = await setup();
    const a = await createNote(app, user, { title: 'A' });
    await createNote(app, user, { title: 'B' });
    const first = await sync(app, user);
    await write(app, user, 'PATCH', `/api/notes/${a.id}`, { title: 'A edited' });
    await createNote(app, user, { title: 'C' });
    const next = await sync(app, user, `since=${first.next_cursor}`);
    expect(summary(next.changes)).toEqual(['upsert A edited', 'upsert C']);
    expect(Number(next.changes[0]!.cursor)).toBeGreaterThan(Number(first.next_cursor));
    expect(next.has_more).toBe(false);
  });

  it('answers a trashed note as {op: delete, id}, a restored one as an upsert and a purged one as a delete', async () => {
    const { app, user } = await setup();
    const a = await createNote(app, user, { title: 'A' });
    const start = (await sync(app, user)).next_cursor;

    expect((await write(app, user, 'DELETE', `/api/notes/${a.id}`)).statusCode).toBe(204);
    const trashed = await sync(app, user, `since=${start}`);
    expect(trashed.changes).toEqual([{ cursor: trashed.next_cursor, op: 'delete', id: a.id }]);

    const restored = await write(app, user, 'POST', `/api/notes/${a.id}/restore`);
    const back = await sync(app, user, `since=${trashed.next_cursor}`);
    expect(back.changes).toEqual([{ cursor: back.next_cursor, op: 'upsert', note: restored.json() }]);

    expect((await write(app, user, 'DELETE', `/api/notes/${a.id}?purge=true`)).statusCode).toBe(204);
    const purged = await sync(app, user, `since=${back.next_cursor}`);
    expect(purged.changes).toEqual([{ cursor: purged.next_cursor, op: 'delete', id: a.id }]);
  });

  it('never answers another user’s changes', async () => {
    const { app, user } = await setup();
    const other = await signUp(app);
    const mine = await createNote(app, user, { title: 'Mine' });
    const theirs = await createNote(app, other, { title: 'Theirs' });
    await write(app, other, 'PATCH', `/api/notes/${theirs.id}`, { title: 'Theirs edited' });
    await write(app, other, 'DELETE', `/api/notes/${theirs.id}`);
    const page = await sync(app, user);
    expect(page.changes).toEqual([{ cursor: page.next_cursor, op: 'upsert', note: mine }]);
    const theirPage = await sync(app, other);
    expect(theirPage.changes).toEqual([{ cursor: theirPage.next_cursor, op: 'delete', id: theirs.id }]);
  });

  it.each(['limit=0', 'limit=1001', 'since=abc', 'since=-1'])(
    'answers 400 validation_failed for %s',
    async (query) => {
      const { app, user } = await setup();
      const response = await app.inject({ url: `/api/sync?${query}`, headers: user.headers });
      expectProblem(response, 400, 'validation_failed');
    },
  );

  it('answers 401 without a credential', async () => {
    const { app } = await setup();
    expectProblem(await app.inject({ url: '/api/sync' }), 401, 'unauthorized');
  });

  it('gives a reader paging through during many concurrent writes a mirror equal to the server, without gaps or repeats', async () => {
    const { app } = await buildTestApp({ rateLimit: 0 });
    const user = await signUp(app);
    const WRITERS = 8;
    const WRITES = 25;

    // Each writer creates notes and edits, trashes, restores and purges its own, one write at a time.
    const writer = async (w: number) => {
      const mine: { id: number; trashed: boolean }[] = [];
      for (let i = 0; i < WRITES; i++) {
        const target = mine[i % Math.max(mine.length, 1)];
        let response;
        if (target === undefined || i % 5 === 0) {
          response = await write(app, user, 'POST', '/api/notes', { title: `w${w} n${i}` });
          mine.push({ id: response.json<NoteBody>().id, trashed: false });
        } else if (i % 12 === 11) {
          response = await write(app, user, 'DELETE', `/api/notes/${target.id}?purge=true`);
          mine.splice(mine.indexOf(target), 1);
        } else if (target.trashed) {
          response = await write(app, user, 'POST', `/api/notes/${target.id}/restore`);
          target.trashed = false;
        } else if (i % 7 === 3) {
          response = await write(app, user, 'DELETE', `/api/notes/${target.id}`);
          target.trashed = true;
        } else {
          response = await write(app, user, 'PATCH', `/api/notes/${target.id}`, {
            content: `w${w} edit ${i}`,
          });
        }
        expect(response.statusCode, response.body).toBeLessThan(300);
      }
    };

    const mirror = new Map<number, NoteBody>();
    const cursors: number[] = [];
    let since = '';
    let reads = 0;
    const readPage = async (): Promise<boolean> => {
      const page = await sync(app, user, `limit=7${since && `&since=${since}`}`);
      reads++;
      expect(page.changes.length).toBeLessThanOrEqual(7);
      apply(mirror, page.changes);
      cursors.push(...page.changes.map((c) => Number(c.cursor)));
      since = page.next_cursor;
      return page.has_more;
    };

    let writing = true;
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(() => {
      writing = false;
    });
    const reader = (async () => {
      while (writing) {
        if (!(await readPage())) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all([writers, reader]);
    const readsWhileWriting = reads;
    while (await readPage()); // the last read, after every write was answered

    for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBeGreaterThan(cursors[i - 1]!);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(readsWhileWriting).toBeGreaterThan(1); // the reader really did page during the writes
    const server = await serverState(app, user);
    expect(server.size).toBeGreaterThan(WRITERS);
    expect(new Map([...mirror].sort(([a], [b]) => a - b))).toEqual(server);
  });
});

describe('GET /api/sync after the change feed is pruned', () => {
  /** A note created, a sync, then that note deleted for good and its deletion pruned. */
  async function pruned() {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const gone = await createNote(app, user, { title: 'Gone' });
    const kept = await createNote(app, user, { title: 'Kept' });
    const before = (await sync(app, user)).next_cursor;
    expect((await write(app, user, 'DELETE', `/api/notes/${gone.id}?purge=true`)).statusCode).toBe(204);
    const after = (await sync(app, user, `since=${before}`)).next_cursor;
    const longAgo = new Date(Date.now() - 91 * 86_400_000).toISOString();
    await database.db
      .updateTable('changes')
      .set({ changed_at: longAgo })
      .where('op', '=', 'delete')
      .execute();
    await pruneChanges(database.db, 90);
    return { app, user, kept, before, after };
  }

  it('answers 410 resync_required for a cursor older than a pruned deletion', async () => {
    const { app, user, before } = await pruned();
    const response = await app.inject({ url: `/api/sync?since=${before}`, headers: user.headers });
    expectProblem(response, 410, 'resync_required');
  });

  it('answers the full state when no since is given', async () => {
    const { app, user, kept } = await pruned();
    const page = await sync(app, user);
    expect(page.changes).toEqual([{ cursor: page.changes[0]!.cursor, op: 'upsert', note: kept }]);
    expect(page.has_more).toBe(false);
  });

  it('still answers a cursor that saw the pruned deletion', async () => {
    const { app, user, after } = await pruned();
    expect(await sync(app, user, `since=${after}`)).toEqual({
      changes: [],
      next_cursor: after,
      has_more: false,
    });
  });

  it('answers 410 resync_required after pruneChanges with 0 days of retention', async () => {
    const { app, database } = await buildTestApp();
    const user = await signUp(app);
    const gone = await createNote(app, user, { title: 'Gone' });
    const before = (await sync(app, user)).next_cursor;
    await write(app, user, 'DELETE', `/api/notes/${gone.id}?purge=true`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the deletion is strictly older than now
    await pruneChanges(database.db, 0);
    expectProblem(
      await app.inject({ url: `/api/sync?since=${before}`, headers: user.headers }),
      410,
      'resync_required',
    );
    expect((await sync(app, user)).changes).toEqual([]);
  });

  it('keeps another user’s cursors working', async () => {
    const { app, database } = await buildTestApp();
    const [alice, bob] = [await signUp(app), await signUp(app)];
    const gone = await createNote(app, alice, { title: 'Gone' });
    await createNote(app, bob, { title: 'Bob 1' });
    const bobCursor = (await sync(app, bob)).next_cursor;
    await write(app, alice, 'DELETE', `/api/notes/${gone.id}?purge=true`);
    await database.db.updateTable('changes').set({ changed_at: '2000-01-01T00:00:00.000Z' }).execute();
    await pruneChanges(database.db, 90);
    const bob2 = await createNote(app, bob, { title: 'Bob 2' });
    const page = await sync(app, bob, `since=${bobCursor}`);
    expect(page.changes).toEqual([{ cursor: page.next_cursor, op: 'upsert', note: bob2 }]);
  });
});
