import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
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
}

/** A fresh temporary folder, removed when the current test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Folio on its own fresh SQLite file, closed and deleted when the current test ends. */
export async function buildTestApp(
  overrides: Partial<Config> = {},
  options: { logStream?: NodeJS.WritableStream } = {},
): Promise<TestApp> {
  const dir = tempDir();
  const config = {
    ...loadConfig({}),
    databaseUrl: `sqlite:${path.join(dir, 'folio.db')}`,
    logLevel: 'silent' as const,
    ...overrides,
    secret: TEST_SECRET,
  };
  const database = openDatabase(config.databaseUrl);
  await migrateToLatest(database.db);
  const app = await buildApp({ config, database, ...options });
  onTestFinished(async () => {
    await app.close();
    await database.close();
  });
  return { app, database, dir };
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
