import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { ExportDocument } from '../src/export/export.schemas.js';
import { importNotes } from '../src/export/export.store.js';
import { createNote, trashNote, updateNote } from '../src/notes/notes.store.js';
import { createUser } from '../src/users/users.store.js';
import { run, serve } from './cli-helpers.js';
import { tempDir } from './helpers.js';

// folio backup, export and import, run as a person would on SQLite files (the CLI tests run once).

const PASSWORD = 'correct horse battery';

/** A migrated SQLite database with a user, made in this process; returns the user's id. */
async function seedUser(file: string, username: string): Promise<number> {
  const database = openDatabase(`sqlite:${file}`);
  try {
    await migrateToLatest(database.db);
    const user = await createUser(database.db, {
      username,
      email: `${username}@example.com`,
      passwordHash: 'not used',
    });
    return user.id;
  } finally {
    await database.close();
  }
}

/** Runs `fn` on a database file in this process (another connection, as far as a server can tell). */
async function withDatabase<T>(file: string, fn: (db: ReturnType<typeof openDatabase>['db']) => Promise<T>) {
  const database = openDatabase(`sqlite:${file}`);
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

const NOTE_COLUMNS = 'title, content, tags, pinned, archived, created_at, updated_at';

/** Every note row of a user, as stored, in the order they were made. */
function storedNotes(file: string, username: string): Record<string, unknown>[] {
  const sqlite = new SQLite(file, { readonly: true });
  try {
    return sqlite
      .prepare(
        `select ${NOTE_COLUMNS} from notes where owner_id = (select id from users where username = ?) and deleted_at is null order by created_at, id`,
      )
      .all(username) as Record<string, unknown>[];
  } finally {
    sqlite.close();
  }
}

describe('folio backup', () => {
  it(
    'copies a database that a server is writing to, whole and consistent',
    { timeout: 120_000 },
    async () => {
      const cwd = tempDir();
      const file = path.join(cwd, 'data/folio.db');
      const env = { FOLIO_SECRET: 'k'.repeat(40) };
      const { base } = await serve(cwd, env);
      const registered = await fetch(`${base}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ada', email: 'ada@example.com', password: PASSWORD }),
      });
      const { access_token: token, user } = (await registered.json()) as {
        access_token: string;
        user: { id: number };
      };
      // About 6 MiB of notes, so the copy takes several steps and the server's writes land between them.
      await withDatabase(file, async (db) => {
        const body = 'x'.repeat(2000);
        for (let i = 0; i < 3000; i += 500) {
          const batch = Array.from({ length: 500 }, (_, j) => ({ title: `seed ${i + j}`, content: body }));
          await importNotes(db, user.id, batch);
        }
      });

      let written = 0;
      let stop = false;
      const writer = (async () => {
        while (!stop) {
          const response = await fetch(`${base}/api/notes`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ title: `note ${written + 1}`, tags: ['live'] }),
          });
          if (response.status !== 201) throw new Error(`write failed: ${response.status}`);
          written += 1;
        }
      })();
      while (written < 20) await new Promise((resolve) => setTimeout(resolve, 20));
      const before = written;
      const backup = await run(['backup', 'backup.db'], { cwd, env });
      const during = written;
      stop = true;
      await writer;
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stderr).toBe('');
      expect(backup.stdout).toMatch(
        /^backed up .*folio\.db to .*backup\.db: \d+ pages \(.* MiB\), integrity ok, 1 users, \d+ notes\n$/,
      );
      expect(during).toBeGreaterThan(before); // the server did write while the backup ran

      const copy = new SQLite(path.join(cwd, 'backup.db'));
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const titles = (copy.prepare('select title from notes order by id').pluck().all() as string[]).filter(
          (title) => !title.startsWith('seed '),
        );
        // Every note answered before the backup began, then a prefix of those written during it.
        expect(titles.length).toBeGreaterThanOrEqual(before);
        expect(titles.length).toBeLessThanOrEqual(during);
        expect(titles).toEqual(Array.from({ length: titles.length }, (_, i) => `note ${i + 1}`));
        // Each note with its tags, search entry and change: one moment, not pieces of several.
        const count = (query: string) => copy.prepare(query).pluck().get() as number;
        const notes = count('select count(*) from notes');
        expect(notes).toBe(3000 + titles.length);
        expect(count('select count(*) from changes')).toBe(notes);
        expect(count('select change_seq from users')).toBe(notes);
        expect(count("select count(*) from note_tags where tag = 'live'")).toBe(titles.length);
        expect(count('select count(*) from notes_fts')).toBe(notes);
      } finally {
        copy.close();
      }
    },
  );

  it('refuses to overwrite a file unless --force, and refuses PostgreSQL', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    expect((await run(['migrate'], { cwd })).code).toBe(0);
    const target = path.join(cwd, 'existing.db');
    writeFileSync(target, 'keep me');

    const refused = await run(['backup', 'existing.db'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`folio: ${target} already exists; pass --force to overwrite it\n`);
    expect(readFileSync(target, 'utf8')).toBe('keep me');

    const forced = await run(['backup', '--force', 'existing.db'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(target).subarray(0, 15).toString()).toBe('SQLite format 3');

    const postgres = await run(['backup', 'other.db'], {
      cwd,
      env: { FOLIO_DATABASE_URL: 'postgres://folio@127.0.0.1:1/folio' },
    });
    expect(postgres.code).toBe(1);
    expect(postgres.stderr.trim().split('\n')).toHaveLength(1);
    expect(postgres.stderr).toContain('pg_dump');
    expect(existsSync(path.join(cwd, 'other.db'))).toBe(false);

    const nowhere = await run(['backup', 'x.db'], { cwd, env: { FOLIO_DATABASE_URL: 'sqlite:missing.db' } });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^folio: there is no database at .*missing\.db/);
    expect(existsSync(path.join(cwd, 'missing.db'))).toBe(false);
  });
});

describe('folio export and folio import', () => {
  it('carry notes to another user in another database unchanged', { timeout: 120_000 }, async () => {
    const cwd = tempDir();
    const from = path.join(cwd, 'from.db');
    const to = path.join(cwd, 'to.db');
    const adaId = await seedUser(from, 'ada');
    const tricky = 'Ünïcødé “quotes” \\ 😀 </script>';
    await withDatabase(from, async (db) => {
      await createNote(db, adaId, {
        title: tricky,
        content: 'line one\r\nline two\n\ttabbed "quoted" \\ e\u0301 \u2028',
        tags: ['Reading', 'work/Projects'],
        pinned: true,
        archived: false,
      });
      const edited = await createNote(db, adaId, {
        title: 'edited',
        content: '',
        tags: [],
        pinned: false,
        archived: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await updateNote(db, adaId, edited.id, { content: 'changed later', archived: true });
      const trashed = await createNote(db, adaId, {
        title: 'in the trash',
        content: '',
        tags: [],
        pinned: false,
        archived: false,
      });
      await trashNote(db, adaId, trashed.id);
      await importNotes(db, adaId, [
        { title: 'old', created_at: '2019-05-06T07:08:09.010Z', updated_at: '2021-01-01T00:00:00.000Z' },
      ]);
    });

    const fromEnv = { FOLIO_DATABASE_URL: `sqlite:${from}` };
    const toEnv = { FOLIO_DATABASE_URL: `sqlite:${to}` };
    const exported = await run(['export', '--user', 'ada', '--out', 'ada.json'], { cwd, env: fromEnv });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe('');
    expect(exported.stderr).toBe(`exported 3 notes of ada to ${path.join(cwd, 'ada.json')}\n`);
    const file = readFileSync(path.join(cwd, 'ada.json'), 'utf8');
    const document = JSON.parse(file) as ExportDocument;
    expect(document.notes.map((note) => note.title)).toEqual(['old', tricky, 'edited']);

    // Standard output carries the same document, and nothing else.
    const piped = await run(['export', '--user', 'ada'], { cwd, env: fromEnv });
    expect(piped.code).toBe(0);
    const withoutTime = (text: string) => text.replace(/"exported_at":"[^"]*"/, '');
    expect(withoutTime(piped.stdout)).toBe(withoutTime(file));

    expect(
      (
        await run(['user', 'create', '--username', 'bob', '--email', 'bob@example.com'], {
          cwd,
          env: toEnv,
          input: `${PASSWORD}\n`,
        })
      ).code,
    ).toBe(0);
    const imported = await run(['import', '--user', 'bob', 'ada.json'], { cwd, env: toEnv });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe('imported 3 notes into bob, skipped 0\n');
    expect(imported.stderr).toBe('');

    // Byte for byte, as stored: title, content, tags, pinned, archived and both times.
    expect(storedNotes(to, 'bob')).toEqual(storedNotes(from, 'ada'));
    expect(storedNotes(to, 'bob')).toHaveLength(3);
    const again = await run(['export', '--user', 'bob'], { cwd, env: toEnv });
    expect(JSON.parse(again.stdout).notes).toEqual(document.notes);

    // Through the notes store: each new note is in the change feed and the search index.
    const sqlite = new SQLite(to, { readonly: true });
    try {
      expect(sqlite.prepare("select count(*) from changes where op = 'upsert'").pluck().get()).toBe(3);
      expect(sqlite.prepare('select change_seq from users').pluck().get()).toBe(3);
      expect(
        sqlite.prepare("select count(*) from notes_fts where notes_fts match 'tabbed'").pluck().get(),
      ).toBe(1);
    } finally {
      sqlite.close();
    }
  });

  it(
    'imports a folder of Markdown files, reporting and skipping a bad one',
    { timeout: 60_000 },
    async () => {
      const cwd = tempDir();
      const db = path.join(cwd, 'folio.db');
      await seedUser(db, 'ada');
      const env = { FOLIO_DATABASE_URL: `sqlite:${db}` };
      const notes = path.join(cwd, 'notes');
      mkdirSync(path.join(notes, 'projects/2024'), { recursive: true });
      mkdirSync(path.join(notes, '.obsidian'));
      writeFileSync(
        path.join(notes, 'front.md'),
        '---\ntitle: Read more\ntags: [Reading, "work/Later"]\npinned: true\narchived: false\n' +
          'created: 2024-01-01T09:30:00Z\nupdated: 2024-02-01\n---\n\nfinish the guide\n',
      );
      writeFileSync(path.join(notes, 'projects/2024/plan.md'), '# The plan\n\nstep one\n');
      writeFileSync(path.join(notes, 'projects/untitled idea.md'), 'no heading here');
      writeFileSync(
        path.join(notes, 'too-many-tags.md'),
        `---\ntags: [${Array.from({ length: 21 }, (_, i) => `t${i}`).join(', ')}]\n---\nbody\n`,
      );
      writeFileSync(path.join(notes, '.obsidian/workspace.md'), 'not a note');
      writeFileSync(path.join(notes, 'readme.txt'), 'not Markdown');

      const strict = await run(['import', '--user', 'ada', '--strict', 'notes'], { cwd, env });
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain('too-many-tags.md: tags');
      expect(strict.stderr).toContain('1 of 4 notes are invalid; with --strict nothing was imported');
      expect(storedNotes(db, 'ada')).toEqual([]);

      const result = await run(['import', '--user', 'ada', 'notes'], { cwd, env });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('imported 3 notes into ada, skipped 1\n');
      expect(result.stderr).toBe('folio: skipped too-many-tags.md: tags must NOT have more than 20 items\n');
      const stored = storedNotes(db, 'ada');
      expect(stored[0]).toEqual({
        title: 'Read more',
        content: 'finish the guide\n',
        tags: '["reading","work/later"]',
        pinned: 1,
        archived: 0,
        created_at: '2024-01-01T09:30:00.000Z',
        updated_at: '2024-02-01T00:00:00.000Z',
      });
      expect(stored.slice(1).map((note) => [note.title, note.content])).toEqual([
        ['The plan', '# The plan\n\nstep one\n'],
        ['untitled idea', 'no heading here'],
      ]);
    },
  );

  it('tells an unknown user or a missing --user in one line', { timeout: 60_000 }, async () => {
    const cwd = tempDir();
    const db = path.join(cwd, 'folio.db');
    await seedUser(db, 'ada');
    const env = { FOLIO_DATABASE_URL: `sqlite:${db}` };
    const unknown = await run(['export', '--user', 'nobody'], { cwd, env });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe('folio: there is no user nobody\n');
    const missing = await run(['import', 'notes.json'], { cwd, env });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('--user');
    writeFileSync(path.join(cwd, 'other.json'), '{"format":"something else"}');
    const foreign = await run(['import', '--user', 'ada', 'other.json'], { cwd, env });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toBe(
      `folio: ${path.join(cwd, 'other.json')} is not a folio-export document (format is not "folio-export")\n`,
    );
  });
});
