import { statSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { createNote, findNote } from '../notes/notes.store.js';
import { createUser } from '../users/users.store.js';
import { openDatabase, type Database } from './database.js';
import { migrateToLatest } from './migrate.js';
import { inTransaction } from './transaction.js';

// SQLite only: group commit is how Folio's SQLite connection commits (PostgreSQL commits itself).

async function sqliteDatabase(): Promise<{ database: Database; file: string; ownerId: number }> {
  const file = path.join(tempDir(), 'folio.db');
  const database = openDatabase(`sqlite:${file}`);
  await migrateToLatest(database.db);
  const user = await createUser(database.db, {
    username: 'group',
    email: 'g@example.com',
    passwordHash: 'x',
  });
  return { database, file, ownerId: user.id };
}

/** What another connection (another process) sees: only what has been committed. */
function committedTitles(file: string): string[] {
  const reader = new SQLite(file, { readonly: true });
  try {
    return (reader.prepare('select title from notes order by id').all() as { title: string }[]).map(
      (row) => row.title,
    );
  } finally {
    reader.close();
  }
}

function logBytes(file: string): number {
  return statSync(`${file}-wal`).size;
}

const fields = (title: string) => ({ title, content: 'words', tags: ['t'], pinned: false, archived: false });

describe('group commit (SQLite)', () => {
  it('commits the transactions begun in one turn together, and each is durable when it resolves', async () => {
    const { database, file, ownerId } = await sqliteDatabase();
    const { db } = database;
    await createNote(db, ownerId, fields('warm-up'));
    // From an empty log: what one create appends, then what twenty concurrent ones append.
    const sqlite = new SQLite(file);
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    await createNote(db, ownerId, fields('alone'));
    const one = logBytes(file);
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.close();
    const notes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createNote(db, ownerId, fields(`together ${i}`))),
    );
    // Separate commits would append each touched page twenty times; one commit appends it once.
    expect(logBytes(file)).toBeLessThan(one * 5);
    expect(new Set(notes.map((note) => note.id)).size).toBe(20);
    // Resolved means committed: another connection sees every note at once.
    expect(committedTitles(file)).toHaveLength(22);
    await database.close();
  });

  it('rolls a failing transaction back alone; the rest of its group commits', async () => {
    const { database, file, ownerId } = await sqliteDatabase();
    const { db } = database;
    const results = await Promise.allSettled([
      createNote(db, ownerId, fields('first')),
      inTransaction(db, async (trx) => {
        await createNote(trx, ownerId, fields('doomed'));
        throw new Error('changed my mind');
      }),
      createNote(db, ownerId, fields('third')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(committedTitles(file)).toEqual(['first', 'third']);
    expect(await db.selectFrom('notes').select('title').orderBy('id').execute()).toEqual([
      { title: 'first' },
      { title: 'third' },
    ]);
    await database.close();
  });

  it('commits the open group before a query outside a transaction, so reads see only committed rows', async () => {
    const { database, file } = await sqliteDatabase();
    const { db } = database;
    // Kysely's own transaction() does not wait for the group's commit (inTransaction does).
    await db.transaction().execute((trx) =>
      trx
        .insertInto('users')
        .values({
          username: 'pending',
          email: 'p@example.com',
          password_hash: 'x',
          created_at: 'now',
          updated_at: 'now',
        })
        .execute(),
    );
    const others = () => {
      const reader = new SQLite(file, { readonly: true });
      try {
        return (reader.prepare('select count(*) as n from users').get() as { n: number }).n;
      } finally {
        reader.close();
      }
    };
    expect(others()).toBe(1); // still only in the open group
    const { rows } = await sql<{ n: number }>`select count(*) as n from users`.execute(db);
    expect(rows[0]?.n).toBe(2);
    expect(others()).toBe(2); // the read committed it first
    await database.close();
  });

  it('runs a note read at once only when no transaction holds the connection, and commits the group first', async () => {
    const { database, file, ownerId } = await sqliteDatabase();
    const { db } = database;
    const note = await createNote(db, ownerId, fields('before'));
    // A transaction holds the connection across an await, with a change not yet committed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writing = inTransaction(db, async (trx) => {
      await trx.updateTable('notes').set({ title: 'during' }).where('id', '=', note.id).execute();
      await held;
    });
    await new Promise((resolve) => setImmediate(resolve));
    // The read waits for the connection instead of seeing the uncommitted title.
    const reading = findNote(db, ownerId, note.id);
    const early = await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 50, 'waiting'))]);
    expect(early).toBe('waiting');
    release();
    await writing;
    expect((await reading)?.title).toBe('during');
    // With the connection free, a read in the turn after a write commits that write's group first.
    const pending = db
      .transaction()
      .execute((trx) => trx.updateTable('notes').set({ title: 'after' }).where('id', '=', note.id).execute());
    await pending;
    expect(committedTitles(file)).toEqual(['during']);
    expect((await findNote(db, ownerId, note.id))?.title).toBe('after');
    expect(committedTitles(file)).toEqual(['after']);
    await database.close();
  });
});
