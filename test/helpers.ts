import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  dir: string;
  /** The database URL, for a second connection (another process, as far as the app can tell). */
  url: string;
}

/** A fresh temporary folder, removed when the current test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The database this run tests on: vitest's `postgres` project sets it (see vitest.config.ts). */
export const TEST_DIALECT: 'sqlite' | 'postgres' =
  process.env.FOLIO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';

let admin: pg.Pool | undefined;

function postgresUrl(): string {
  const url = process.env.FOLIO_TEST_POSTGRES_URL;
  if (!url) throw new Error('FOLIO_TEST_DIALECT=postgres needs FOLIO_TEST_POSTGRES_URL');
  return url;
}

export interface FreshDatabase {
  database: Database;
  /** PostgreSQL: the schema of this test. */
  schema?: string;
  /** The URL to give another process (SQLite: the file; PostgreSQL: add ?options for the schema). */
  url: string;
  /** Closes the database and removes it (file or schema); also run when the test ends. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of the dialect under test: its own SQLite file, or its own
 * PostgreSQL schema in the test database, removed when the current test ends.
 */
export async function freshDatabase(): Promise<FreshDatabase> {
  let fresh: FreshDatabase;
  if (TEST_DIALECT === 'postgres') {
    const url = postgresUrl();
    admin ??= new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 1000, allowExitOnIdle: true });
    const schema = `test_${randomBytes(6).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    const database = openDatabase(url, { schema, poolSize: 4 });
    let dropped: Promise<void> | undefined;
    fresh = {
      database,
      schema,
      url: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      drop: () =>
        (dropped ??= (async () => {
          await database.close();
          await admin!.query(`drop schema ${schema} cascade`);
        })()),
    };
  } else {
    const dir = tempDir();
    const url = `sqlite:${path.join(dir, 'folio.db')}`;
    const database = openDatabase(url);
    fresh = { database, url, drop: () => database.close() };
  }
  onTestFinished(() => fresh.drop());
  await migrateToLatest(fresh.database.db, fresh.schema);
  return fresh;
}

/** Folio on its own fresh database (see freshDatabase), closed and removed when the current test ends. */
export async function buildTestApp(
  overrides: Partial<Config> = {},
  options: { logStream?: NodeJS.WritableStream } = {},
): Promise<TestApp> {
  const dir = tempDir();
  const { database, url, drop } = await freshDatabase();
  const config = {
    ...loadConfig({}),
    databaseUrl: url,
    logLevel: 'silent' as const,
    ...overrides,
    secret: TEST_SECRET,
  };
  const app = await buildApp({ config, database, ...options });
  // The app stops (its workers, its streams) before its database goes.
  onTestFinished(async () => {
    await app.close();
    await drop();
  });
  return { app, database, dir, url };
}

export interface SignedUp {
  id: number;
  username: string;
  token: string;
  headers: { authorization: string };
}

let counter = 0;

/** Registers a user through the API and returns a bearer header for it. */
export async function signUp(app: FastifyInstance, username = `user${++counter}`): Promise<SignedUp> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { username, email: `${username}@example.com`, password: 'correct horse battery' },
  });
  if (response.statusCode !== 201) throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  const body = response.json<{ user: { id: number }; access_token: string }>();
  return {
    id: body.user.id,
    username,
    token: body.access_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/** Creates a note through the API and returns its JSON. */
export async function createNote(
  app: FastifyInstance,
  user: SignedUp,
  note: Record<string, unknown>,
): Promise<{ id: number; version: number; updated_at: string; [key: string]: unknown }> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: user.headers,
    payload: note,
  });
  if (response.statusCode !== 201) throw new Error(`create failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** Asserts the shape every /api error has and returns the problem body. */
export function expectProblem(
  response: LightMyRequestResponse,
  status: number,
  code: string,
): { detail: string; errors?: { field: string; message: string }[]; [key: string]: unknown } {
  const body = response.json();
  const summary = `${response.statusCode} ${response.body}`;
  if (response.statusCode !== status || body.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${summary}`);
  }
  if (!String(response.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${String(response.headers['content-type'])}`);
  }
  if (
    body.status !== status ||
    body.type !== 'about:blank' ||
    typeof body.title !== 'string' ||
    typeof body.detail !== 'string'
  ) {
    throw new Error(`not a problem document: ${summary}`);
  }
  return body;
}
