import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, signUp } from '../test/helpers.js';
import { runMaintenance } from './maintenance.js';

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

describe('runMaintenance', () => {
  it('purges old trash, forgets old deletions and idempotent answers, and keeps what is recent', async () => {
    const { app, database } = await buildTestApp();
    const { db } = database;
    const user = await signUp(app);
    const old = await createNote(app, user, { title: 'old trash' });
    const fresh = await createNote(app, user, { title: 'fresh trash' });
    const live = await createNote(app, user, { title: 'live' });
    for (const note of [old, fresh]) {
      await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
    }
    await db
      .updateTable('notes')
      .set({ deleted_at: daysAgo(31) })
      .where('id', '=', old.id)
      .execute();
    await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'idempotency-key': 'k1' },
      payload: { title: 'once' },
    });
    await db
      .updateTable('idempotency_keys')
      .set({ created_at: daysAgo(2) })
      .execute();
    const before = (await app.inject({ method: 'GET', url: '/api/sync', headers: user.headers })).json();

    await runMaintenance(db, { trashDays: 30, syncRetentionDays: 90 });
    const trash = (
      await app.inject({ method: 'GET', url: '/api/notes?deleted=true', headers: user.headers })
    ).json();
    expect(trash.data.map((n: { id: number }) => n.id)).toEqual([fresh.id]);
    expect(await db.selectFrom('idempotency_keys').selectAll().execute()).toEqual([]);
    // The purge left a tombstone, recent, so the feed still holds it.
    const cursor = before.changes[0].cursor;
    const after = await app.inject({
      method: 'GET',
      url: `/api/sync?since=${cursor}`,
      headers: user.headers,
    });
    expect(after.statusCode).toBe(200);
    expect(after.json().changes).toContainEqual(expect.objectContaining({ op: 'delete', id: old.id }));

    // Once that tombstone is past the retention window, the cursor before it must resync.
    await db
      .updateTable('changes')
      .set({ changed_at: daysAgo(91) })
      .where('note_id', '=', old.id)
      .execute();
    await runMaintenance(db, { trashDays: 30, syncRetentionDays: 90 });
    const stale = await app.inject({
      method: 'GET',
      url: `/api/sync?since=${cursor}`,
      headers: user.headers,
    });
    expect(stale.statusCode).toBe(410);
    expect(stale.json().code).toBe('resync_required');
    const live2 = await app.inject({ method: 'GET', url: `/api/notes/${live.id}`, headers: user.headers });
    expect(live2.statusCode).toBe(200);
  });
});
