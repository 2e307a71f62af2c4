import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../src/auth/auth.passwords.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { inTransaction } from '../src/db/transaction.js';
import { createKey } from '../src/keys/keys.store.js';
import { createNote } from '../src/notes/notes.store.js';
import { createUser, findUserByLogin } from '../src/users/users.store.js';
import { seedNote } from './data.js';
import { Progress } from './progress.js';

// Starting, seeding and measuring the two servers the benchmark compares.

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const USERNAME = 'bench';
export const PASSWORD = 'bench-password-1234';
const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';

export interface Running {
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first answered request. */
  startMs: number;
  /** Sends SIGTERM to the process and resolves with its exit code (null when a signal ended it). */
  stop(): Promise<number | null>;
}

/** Builds the production bundle, dist/server/folio.js (what `npm run build` runs). */
export function buildFolio(): void {
  process.stderr.write('building Folio (node scripts/bundle.mjs)\n');
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The resident set size of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

async function waitUntilAnswering(child: ChildProcess, url: string, started: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) throw new Error(`${url}: no answer within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function stopper(child: ChildProcess): () => Promise<number | null> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
}

/**
 * Seeds Folio's database through its own stores (a user, an API key, notes with their tags, search
 * entries and changes), adding notes until there are `count`. Returns the API key.
 */
export async function seedFolio(file: string, count: number, label = 'Folio'): Promise<string> {
  const database = openDatabase(`sqlite:${file}`);
  try {
    const { db } = database;
    await migrateToLatest(db);
    const user =
      (await findUserByLogin(db, USERNAME)) ??
      (await createUser(db, {
        username: USERNAME,
        email: 'bench@example.com',
        passwordHash: await hashPassword(PASSWORD),
      }));
    const { key } = await createKey(db, user.id, {
      name: 'bench',
      scopes: ['notes:read', 'notes:write'],
      expiresAt: null,
    });
    const ownerId = user.id;
    const have = Number(
      (
        await db
          .selectFrom('notes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const progress = new Progress(`seeding ${label}`, count);
    progress.update(have);
    for (let from = have; from < count; from += 1000) {
      const to = Math.min(count, from + 1000);
      // A transaction per thousand notes: createNote joins it (inTransaction composes).
      await inTransaction(db, async (trx) => {
        for (let i = from; i < to; i++)
          await createNote(trx, ownerId, { ...seedNote(i), pinned: false, archived: false });
      });
      progress.update(to);
    }
    progress.done();
    return key;
  } finally {
    await database.close();
  }
}

/** Starts `folio serve` (the built bundle, dist/server/folio.js, as in production) on an existing database. */
export async function startFolio(
  file: string,
  options: { workers?: number; logFile: string; fromSource?: boolean; logLevel?: 'info' | 'warn' },
): Promise<Running> {
  const port = await freePort();
  const log = openSync(options.logFile, 'a');
  // From source (tsx) only where the build is not wanted: the harness's own test.
  const cli = options.fromSource ? ['--import', 'tsx', 'src/cli.ts'] : ['dist/server/folio.js'];
  const args = [...cli, 'serve', ...(options.workers ? ['--workers', String(options.workers)] : [])];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', log, 'inherit'],
    env: {
      PATH: process.env.PATH,
      FOLIO_ENV: 'production',
      FOLIO_SECRET: SECRET,
      FOLIO_PORT: String(port),
      FOLIO_DATABASE_URL: `sqlite:${file}`,
      FOLIO_LOG_LEVEL: options.logLevel ?? 'info',
      // The limiter stays on (its cost is measured) with a ceiling the benchmark never reaches.
      FOLIO_RATE_LIMIT: '1000000000',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const startMs = await waitUntilAnswering(child, `${url}/api/status`, started);
  return { url, pid: child.pid!, startMs, stop: stopper(child) };
}

/** Starts the floor server (bench/floor.ts) on its own database file, seeding it first. */
export async function startFloor(file: string, seed: number): Promise<Running> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/floor.ts'), file, String(port), String(seed)],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const startMs = await waitUntilAnswering(child, `${url}/notes/1`, started);
  return { url, pid: child.pid!, startMs, stop: stopper(child) };
}

/** Signs in to Folio and returns an access token (a JWT). */
export async function accessToken(url: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
