import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildApp } from '../src/app.js';
import { userForIdentity } from '../src/auth/identities.store.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest, migrator } from '../src/db/migrate.js';
import type { DB } from '../src/db/tables.js';
import { createNote, signUp, tempDir, TEST_DIALECT, TEST_SECRET, type SignedUp } from './helpers.js';
import { eventually, startReceiver } from './webhook-receiver.js';

// Runs in both vitest projects: the target is a database of the dialect under test, so the
// sqlite project copies SQLite → SQLite and the postgres project SQLite → PostgreSQL (and back
// from PostgreSQL into SQLite). Checks of the command line alone run once, in the sqlite project.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const POSTGRES_URL = process.env.FOLIO_TEST_POSTGRES_URL;
const PASSWORD = 'correct horse battery';

if (TEST_DIALECT === 'sqlite' && !POSTGRES_URL) {
  console.log(
    'migrate-data: the PostgreSQL cases are skipped (SQLite → SQLite only): set FOLIO_TEST_POSTGRES_URL',
  );
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `folio` command line, without the test's own FOLIO_* variables. */
function folio(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOLIO_')));
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: tempDir(),
    env: { ...env, FOLIO_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

let admin: pg.Pool | undefined;

/** A database URL with nothing in it yet: a new SQLite file, or a new PostgreSQL schema dropped after the test. */
async function emptyDatabase(dialect: 'sqlite' | 'postgres'): Promise<{ url: string; schema?: string }> {
  if (dialect === 'sqlite') return { url: `sqlite:${path.join(tempDir(), 'folio.db')}` };
  if (!POSTGRES_URL) throw new Error('the PostgreSQL cases need FOLIO_TEST_POSTGRES_URL');
  admin ??= new pg.Pool({ connectionString: POSTGRES_URL, max: 2, allowExitOnIdle: true });
  const schema = `test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  // Registered first, so it runs last: after every app and connection on the schema has closed.
  onTestFinished(async () => {
    await admin!.query(`drop schema ${schema} cascade`);
  });
  const options = encodeURIComponent(`-c search_path=${schema}`);
  return { url: `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}options=${options}`, schema };
}

/** Opens a database URL for the test, closed when it ends. */
function opened(url: string): Database {
  const database = openDatabase(url, { poolSize: 2 });
  onTestFinished(() => database.close());
  return database;
}

/** Folio on a database URL, as buildTestApp builds it but on the database given; closed when the test ends. */
async function appOn(
  database: Database,
  url: string,
): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const config = {
    ...loadConfig({}),
    databaseUrl: url,
    logLevel: 'silent' as const,
    webhooksAllowPrivate: true,
    secret: TEST_SECRET,
  };
  const app = await buildApp({ config, database });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= app.close());
  onTestFinished(close);
  return { app, close };
}

interface Populated {
  ada: SignedUp;
  apiKey: string;
  /** Ada's refresh token, after one rotation (so refresh_tokens holds a spent one too). */
  refreshToken: string;
  /** Bob's access token, revoked by logging out. */
  loggedOut: string;
  /** A sync cursor taken half way through. */
  cursor: string;
  /** What the source answered to /api/sync?since=cursor. */
  sync: { changes: unknown[]; next_cursor: string; has_more: boolean };
  /** What the source listed at GET /api/notes and ?deleted=true. */
  notes: unknown[];
  trash: unknown[];
  idempotent: { payload: object; body: string };
  /** The highest note id the source ever gave out: a purged note's. */
  purgedId: number;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
}

/**
 * Fills a Folio through its API: two users, notes with tags, one in the trash, one purged (its
 * tombstone in the change feed), an API key, a rotated refresh token, a revoked access token, a
 * webhook with its deliveries, an Idempotency-Key create, and an account of an identity provider.
 */
async function populate(app: FastifyInstance, db: Kysely<DB>): Promise<Populated> {
  const receiver = await startReceiver();
  const ada = await signUp(app, `ada${randomBytes(3).toString('hex')}`);
  const bob = await signUp(app, `bob${randomBytes(3).toString('hex')}`);
  const inject = async (options: InjectOptions, status: number) => {
    const response = await app.inject(options);
    expect(response.statusCode, response.body).toBe(status);
    return response;
  };

  const hook = (
    await inject(
      { method: 'POST', url: '/api/webhooks', headers: ada.headers, payload: { url: receiver.url } },
      201,
    )
  ).json<{ id: number }>();
  const key = (
    await inject(
      { method: 'POST', url: '/api/keys', headers: ada.headers, payload: { name: 'sync script' } },
      201,
    )
  ).json<{ key: string }>();

  await createNote(app, ada, {
    title: 'Café plans',
    content: 'buy croissants for the team',
    tags: ['Food', 'Éclair'],
  });
  const draft = await createNote(app, ada, {
    title: 'Draft',
    content: 'first words',
    tags: ['b-side', 'Zebra'],
  });
  await createNote(app, bob, { title: "Bob's list", content: 'milk, eggs', tags: ['apple'] });
  // More than one batch of 500 rows in note_tags, whose key holds text: the copy pages through it.
  for (let n = 0; n < 26; n++) {
    const tags = Array.from(
      { length: 20 },
      (_, i) => ['Zoo', 'ärger', 'a_b', 'A-b', 'é'][i % 5] + `${n}.${i}`,
    );
    await createNote(app, bob, { title: `Bulk ${n}`, tags });
  }
  const cursor = (await inject({ url: '/api/sync', headers: ada.headers }, 200)).json<{
    next_cursor: string;
  }>().next_cursor;

  await inject(
    { method: 'PATCH', url: `/api/notes/${draft.id}`, headers: ada.headers, payload: { pinned: true } },
    200,
  );
  const trashed = await createNote(app, ada, { title: 'Old idea', content: 'never mind', tags: ['Zebra'] });
  await inject({ method: 'DELETE', url: `/api/notes/${trashed.id}`, headers: ada.headers }, 204);
  const idempotentPayload = { title: 'Sent twice', tags: ['retry'] };
  const first = await inject(
    {
      method: 'POST',
      url: '/api/notes',
      headers: { ...ada.headers, 'idempotency-key': 'Key-B' },
      payload: idempotentPayload,
    },
    201,
  );
  await inject(
    {
      method: 'POST',
      url: '/api/notes',
      headers: { ...ada.headers, 'idempotency-key': 'a-key' },
      payload: { title: 'Once' },
    },
    201,
  );
  const purged = await createNote(app, ada, { title: 'Secret', content: 'gone for good' });
  await inject({ method: 'DELETE', url: `/api/notes/${purged.id}?purge=true`, headers: ada.headers }, 204);

  const login = (
    await inject(
      { method: 'POST', url: '/api/auth/login', payload: { username: ada.username, password: PASSWORD } },
      200,
    )
  ).json<{ refresh_token: string }>();
  const rotated = (
    await inject(
      { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: login.refresh_token } },
      200,
    )
  ).json<{ refresh_token: string }>();
  await inject({ method: 'POST', url: '/api/auth/logout', headers: bob.headers }, 204);
  await userForIdentity(db, 'https://Login.Example.com/', { sub: 'Zed|42', preferred_username: 'zed' });

  // Every delivery answered, so nothing is left for the target's worker to send again.
  await eventually(
    async () =>
      (await inject({ url: `/api/webhooks/${hook.id}/deliveries`, headers: ada.headers }, 200)).json<{
        data: { state: string }[];
      }>().data,
    (deliveries) => deliveries.length >= 6 && deliveries.every((delivery) => delivery.state === 'succeeded'),
  );
  const list = async (url: string) =>
    (await inject({ url, headers: ada.headers }, 200)).json<{ data: unknown[] }>().data;
  return {
    ada,
    apiKey: key.key,
    refreshToken: rotated.refresh_token,
    loggedOut: bob.token,
    cursor,
    sync: (await inject({ url: `/api/sync?since=${cursor}`, headers: ada.headers }, 200)).json(),
    notes: await list('/api/notes'),
    trash: await list('/api/notes?deleted=true'),
    idempotent: { payload: idempotentPayload, body: first.body },
    purgedId: purged.id,
    receiver,
  };
}

type Row = Record<string, unknown>;

/** The Folio tables and their columns, read from a SQLite database (the generated search vector aside). */
async function folioTables(sqlite: Kysely<DB>): Promise<{ name: string; columns: string[] }[]> {
  return (await sqlite.introspection.getTables())
    .filter((table) => !/^(kysely_|notes_fts)/.test(table.name))
    .map((table) => ({ name: table.name, columns: table.columns.map((column) => column.name) }));
}

/** Every row of a table, in one order whatever the database's collation. */
async function rowsOf(db: Kysely<DB>, table: { name: string; columns: string[] }): Promise<Row[]> {
  const { rows } = await sql<Row>`select ${sql.join(table.columns.map((c) => sql.ref(c)))} from ${sql.table(
    table.name,
  )}`.execute(db);
  const line = (row: Row) => JSON.stringify(table.columns.map((c) => row[c]));
  return rows.sort((a, b) => (line(a) < line(b) ? -1 : line(a) > line(b) ? 1 : 0));
}

/** Asserts that both databases hold the same rows in every Folio table, and returns how many. */
async function expectSameRows(sqlite: Kysely<DB>, other: Kysely<DB>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const tables = await folioTables(sqlite);
  expect(tables.map((table) => table.name).sort()).toEqual([
    'api_keys',
    'changes',
    'idempotency_keys',
    'identities',
    'note_tags',
    'notes',
    'refresh_tokens',
    'revoked_tokens',
    'sessions',
    'users',
    'webhook_deliveries',
    'webhooks',
  ]);
  for (const table of tables) {
    const rows = await rowsOf(sqlite, table);
    expect(await rowsOf(other, table), table.name).toEqual(rows);
    counts[table.name] = rows.length;
  }
  return counts;
}

/**
 * Copies a populated Folio at `source` into the empty `target` with the real command line, then
 * compares every row and checks that Folio on the target carries on where the source stopped.
 */
async function copyAndCheck(
  source: { url: string; schema?: string },
  target: { url: string },
  dialects: { source: 'sqlite' | 'postgres'; target: 'sqlite' | 'postgres' },
): Promise<void> {
  const sourceDb = opened(source.url);
  await migrateToLatest(sourceDb.db, source.schema);
  const sourceApp = await appOn(sourceDb, source.url);
  const populated = await populate(sourceApp.app, sourceDb.db);
  await sourceApp.close();

  const copied = await folio(['migrate-data', '--from', source.url, '--to', target.url]);
  expect(copied.code, copied.stderr).toBe(0);
  // Not a terminal: one progress line per table, then the summary on stdout.
  expect(copied.stderr).toMatch(/^users +\[#{30}\] 3\/3 100%$/m);
  expect(copied.stderr).toMatch(/^webhook_deliveries +\[#{30}\] +\d+\/\d+ 100%$/m);
  expect(copied.stdout).toMatch(/^notes +32 +ok$/m);
  expect(copied.stdout).toMatch(/^note_tags +52\d +ok$/m);
  expect(copied.stdout).not.toContain('MISMATCH');
  expect(copied.stdout).toContain('every count and checksum matches');

  const targetDb = opened(target.url);
  const sqlite = dialects.source === 'sqlite' ? sourceDb.db : targetDb.db;
  const other = sqlite === sourceDb.db ? targetDb.db : sourceDb.db;
  const counts = await expectSameRows(sqlite, other);
  for (const [table, rows] of Object.entries(counts)) expect(rows, table).toBeGreaterThan(0);
  if (dialects.source === 'sqlite' && dialects.target === 'sqlite') {
    // The search index is rebuilt on a SQLite target: the same entries as the source's.
    const index = sql<Row>`select rowid, title, content, tags from notes_fts order by rowid`;
    expect((await index.execute(targetDb.db)).rows).toEqual((await index.execute(sourceDb.db)).rows);
  }

  // A second copy into the now non-empty target is refused and writes nothing.
  const again = await folio(['migrate-data', '--from', source.url, '--to', target.url]);
  expect(again.code).toBe(1);
  expect(again.stderr.trim().split('\n')).toHaveLength(1);
  expect(again.stderr).toContain('not empty');
  await expectSameRows(sqlite, other);

  const { app } = await appOn(targetDb, target.url);
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username: populated.ada.username, password: PASSWORD },
  });
  expect(login.statusCode).toBe(200);
  const ada = { authorization: `Bearer ${login.json<{ access_token: string }>().access_token}` };
  const byKey = await app.inject({
    url: '/api/notes',
    headers: { authorization: `Bearer ${populated.apiKey}` },
  });
  expect(byKey.statusCode).toBe(200);
  expect(byKey.json<{ data: unknown[] }>().data).toEqual(populated.notes);
  expect((await app.inject({ url: '/api/notes', headers: ada })).json<{ data: unknown[] }>().data).toEqual(
    populated.notes,
  );
  expect(
    (await app.inject({ url: '/api/notes?deleted=true', headers: ada })).json<{ data: unknown[] }>().data,
  ).toEqual(populated.trash);
  const found = await app.inject({ url: '/api/notes?q=croiss', headers: ada });
  expect(found.json<{ data: { title: string }[] }>().data.map((note) => note.title)).toEqual(['Café plans']);
  const refreshed = await app.inject({
    method: 'POST',
    url: '/api/auth/refresh',
    payload: { refresh_token: populated.refreshToken },
  });
  expect(refreshed.statusCode).toBe(200);
  const revoked = await app.inject({
    url: '/api/notes',
    headers: { authorization: `Bearer ${populated.loggedOut}` },
  });
  expect(revoked.statusCode).toBe(401);
  const replay = await app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: { ...ada, 'idempotency-key': 'Key-B' },
    payload: populated.idempotent.payload,
  });
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.body).toBe(populated.idempotent.body);

  // The change feed continues from a cursor the source gave out.
  const sync = await app.inject({ url: `/api/sync?since=${populated.cursor}`, headers: ada });
  expect(sync.json()).toEqual(populated.sync);
  const delivered = populated.receiver.requests.length;
  const created = await app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: ada,
    payload: { title: 'Moved up' },
  });
  expect(created.statusCode).toBe(201);
  // A fresh id: past every id the source gave out, the purged note's included.
  expect(created.json<{ id: number }>().id).toBe(populated.purgedId + 1);
  const next = await app.inject({ url: `/api/sync?since=${populated.sync.next_cursor}`, headers: ada });
  expect(next.json<{ changes: { op: string; note: { title: string } }[] }>().changes).toMatchObject([
    { op: 'upsert', note: { title: 'Moved up' } },
  ]);
  // The webhook carried over too: the new note is delivered.
  await populated.receiver.waitFor(delivered + 1);
}

describe('folio migrate-data', () => {
  it(`copies a populated SQLite database into an empty ${TEST_DIALECT} database, row for row, and Folio carries on there`, async () => {
    const source = await emptyDatabase('sqlite');
    const target = await emptyDatabase(TEST_DIALECT);
    await copyAndCheck(source, target, { source: 'sqlite', target: TEST_DIALECT });
  });

  if (TEST_DIALECT === 'postgres') {
    it('copies a populated PostgreSQL database into a new SQLite file, row for row, and Folio carries on there', async () => {
      const source = await emptyDatabase('postgres');
      const target = await emptyDatabase('sqlite');
      await copyAndCheck(source, target, { source: 'postgres', target: 'sqlite' });
    });
  }

  if (TEST_DIALECT === 'postgres') {
    it('verifies a PostgreSQL target whose text sorts by a language rather than byte-wise', async () => {
      const source = await emptyDatabase('sqlite');
      const sourceDb = opened(source.url);
      await migrateToLatest(sourceDb.db);
      // Case and punctuation order differently by language rules than by bytes, over two batches.
      const jtis = Array.from({ length: 600 }, (_, i) => `${['Zz', 'aa', '_b', 'é', 'A'][i % 5]}${i}`);
      await sourceDb.db
        .insertInto('revoked_tokens')
        .values(jtis.map((jti) => ({ jti, expires_at: '2999-01-01T00:00:00.000Z' })))
        .execute();
      const target = await emptyDatabase('postgres');
      const targetDb = opened(target.url);
      await migrateToLatest(targetDb.db, target.schema);
      await sql`alter table revoked_tokens alter column jti type text collate "und-x-icu"`.execute(
        targetDb.db,
      );

      const copied = await folio(['migrate-data', '--from', source.url, '--to', target.url]);
      expect(copied.code, copied.stderr).toBe(0);
      expect(copied.stdout).toMatch(/^revoked_tokens +600 +ok$/m);
      await expectSameRows(sourceDb.db, targetDb.db);
    });
  }

  it(`refuses a ${TEST_DIALECT} target that holds a row in any Folio table, and writes nothing`, async () => {
    const source = await emptyDatabase('sqlite');
    await migrateToLatest(opened(source.url).db);
    const target = await emptyDatabase(TEST_DIALECT);
    const targetDb = opened(target.url);
    await migrateToLatest(targetDb.db, target.schema);
    await targetDb.db
      .insertInto('revoked_tokens')
      .values({ jti: 'x', expires_at: '2999-01-01T00:00:00.000Z' })
      .execute();

    const refused = await folio(['migrate-data', '--from', source.url, '--to', target.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      'folio: the target database is not empty (rows in revoked_tokens); migrate-data only writes into an empty one',
    );
    expect(refused.stdout).toBe('');
    expect(await targetDb.db.selectFrom('revoked_tokens').selectAll().execute()).toEqual([
      { jti: 'x', expires_at: '2999-01-01T00:00:00.000Z' },
    ]);
  });

  it(`refuses a source behind the latest schema before touching the ${TEST_DIALECT} target`, async () => {
    const source = await emptyDatabase('sqlite');
    await migrator(opened(source.url).db).migrateTo('0002-auth');
    const target = await emptyDatabase(TEST_DIALECT);

    const refused = await folio(['migrate-data', '--from', source.url, '--to', target.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      'folio: the source database is not at the latest schema (0003-sync, 0004-live-notes-index not applied): run folio migrate on the source first',
    );
    if (TEST_DIALECT === 'sqlite') expect(existsSync(target.url.slice('sqlite:'.length))).toBe(false);
    else {
      const tables = await opened(target.url).db.introspection.getTables();
      expect(tables.filter((table) => table.schema === target.schema)).toEqual([]);
    }
  });

  // The command line alone: no database of the dialect under test is involved, so once is enough.
  if (TEST_DIALECT === 'sqlite') {
    it('prints the usage and exits 2 when --from or --to is missing', async () => {
      const missing = await folio(['migrate-data', '--to', 'sqlite:./there.db']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('folio: migrate-data needs --from URL and --to URL');
      expect(missing.stderr).toContain('Usage: folio');
    });

    it('exits 2 with one line for a URL of no known database', async () => {
      const bad = await folio([
        'migrate-data',
        '--from',
        'mysql://localhost/folio',
        '--to',
        'sqlite:./there.db',
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim()).toBe(
        'folio: --from must be sqlite:<path> or postgres://…, not "mysql://localhost/folio"',
      );
    });

    it('exits 1 with one line for a source file that does not exist, and does not create it', async () => {
      const missing = path.join(tempDir(), 'missing.db');
      const target = path.join(tempDir(), 'target.db');
      const result = await folio(['migrate-data', '--from', `sqlite:${missing}`, '--to', `sqlite:${target}`]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`folio: the source database ${missing} does not exist`);
      expect(existsSync(missing)).toBe(false);
      expect(existsSync(target)).toBe(false);
    });

    it('exits 1 with one line, its password masked, for a PostgreSQL server that cannot be reached', async () => {
      const source = await emptyDatabase('sqlite');
      await migrateToLatest(opened(source.url).db);
      const result = await folio([
        'migrate-data',
        '--from',
        source.url,
        '--to',
        'postgres://folio:hunter2@127.0.0.1:1/folio',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(
        'folio: cannot open the target database postgres://folio:***@127.0.0.1:1/folio:',
      );
      expect(result.stderr).not.toContain('hunter2');
    });
  }
});
