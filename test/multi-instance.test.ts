import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from './helpers.js';

// Folio as real server processes: two instances sharing one PostgreSQL database and Redis (issue 5),
// and `folio serve --workers 2` on SQLite. Every process is started here and stopped by its PID
// when its test ends, pass or fail; all traffic stays on 127.0.0.1.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const POSTGRES_URL = process.env.FOLIO_TEST_POSTGRES_URL || undefined;
const REDIS_URL = process.env.FOLIO_TEST_REDIS_URL || undefined;
/** vitest.config.ts runs every file once per project; these process tests run in the sqlite one. */
const PROJECT = process.env.FOLIO_TEST_DIALECT ?? 'sqlite';
const RUNS_HERE = PROJECT === 'sqlite';

const PASSWORD = 'correct horse battery';
const PROCESS_TEST_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// Clean-up: one stack per test, run last-in first-out when the test ends (servers stop before
// their database is dropped), every step attempted even when one fails.

type Cleanup = (step: () => unknown) => void;

function cleanupStack(): Cleanup {
  const steps: (() => unknown)[] = [];
  onTestFinished(async () => {
    const errors: unknown[] = [];
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }, 60_000);
  return (step) => steps.push(step);
}

// ---------------------------------------------------------------------------------------------
// Processes (as in test/cli.test.ts).

/** The environment a child gets: the test's own FOLIO_* variables never leak in. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOLIO_')));
  return { ...env, FOLIO_LOG_LEVEL: 'warn', FOLIO_HOST: '127.0.0.1', ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or an error naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Server {
  name: string;
  base: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<Exit>;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
}

/** Waits for the process to exit, up to `ms`; undefined when it is still running. */
function exitWithin(server: Server, ms: number): Promise<Exit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([server.exited, timeout]).finally(() => clearTimeout(timer));
}

/** SIGTERM by PID, then SIGKILL if it has not exited within `graceMs`. */
async function stop(server: Server, graceMs = 10_000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  process.kill(server.pid, 'SIGTERM');
  if ((await exitWithin(server, graceMs)) !== undefined) return;
  process.kill(server.pid, 'SIGKILL');
  await server.exited;
  throw new Error(`${server.name} ignored SIGTERM for ${graceMs} ms and was killed:\n${server.output()}`);
}

/**
 * Starts `folio <args>` in `cwd` and waits until GET /api/status answers 200; the process is
 * stopped (by PID) when the test ends.
 */
async function startFolio(
  name: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; cleanup: Cleanup },
): Promise<Server & { status: { database: { dialect: string } } }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: options.cwd,
    env: childEnv({ ...options.env, FOLIO_PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const server: Server = {
    name,
    base: `http://127.0.0.1:${port}`,
    child,
    pid: child.pid,
    exited,
    output: () => output,
  };
  options.cleanup(() => stop(server));
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    try {
      const answer = await call(server.base, 'GET', '/api/status');
      if (answer.status === 200) return { ...server, status: answer.json() };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} did not answer /api/status within 45 s:\n${output}`);
}

// ---------------------------------------------------------------------------------------------
// HTTP over a fresh connection per request (agent: false), so a cluster's primary hands each
// one to a worker of its choosing and no idle keep-alive socket outlives a test.

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

function call(
  base: string,
  method: string,
  pathname: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = http.request(
      new URL(pathname, base),
      {
        method,
        agent: false,
        timeout: 15_000,
        headers: {
          connection: 'close',
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...(options.token && { authorization: `Bearer ${options.token}` }),
          ...options.headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${base}${pathname} timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

function expectStatus(answer: Answer, status: number, what: string): void {
  expect(answer.status, `${what}: ${answer.status} ${answer.text}`).toBe(status);
}

interface Account {
  id: number;
  token: string;
  refreshToken: string;
}

async function register(base: string, username: string): Promise<Account> {
  const answer = await call(base, 'POST', '/api/auth/register', {
    body: { username, email: `${username}@example.com`, password: PASSWORD },
  });
  expectStatus(answer, 201, `register ${username}`);
  const body = answer.json<{ user: { id: number }; access_token: string; refresh_token: string }>();
  return { id: body.user.id, token: body.access_token, refreshToken: body.refresh_token };
}

interface Note {
  id: number;
  title: string;
  version: number;
  [key: string]: unknown;
}

async function createNote(base: string, token: string, note: Record<string, unknown>): Promise<Answer> {
  const answer = await call(base, 'POST', '/api/notes', { token, body: note });
  expectStatus(answer, 201, `create ${JSON.stringify(note)} on ${base}`);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events: GET /api/events on one connection, parsed as it arrives.

interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

interface EventStream {
  headers: IncomingHttpHeaders;
  events: SseEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** The first event (already received or still to come) that matches, or an error after `ms`. */
  waitFor(what: string, match: (event: SseEvent) => boolean, ms?: number): Promise<SseEvent>;
  close(): void;
}

function openEvents(base: string, token: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL('/api/events', base), {
      agent: false,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    const opened = setTimeout(() => request.destroy(new Error('the event stream did not open')), 15_000);
    request.on('error', (error) => {
      clearTimeout(opened);
      reject(error);
    });
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        clearTimeout(opened);
        reject(new Error(`GET /api/events: ${response.statusCode}`));
        response.resume();
        return;
      }
      const events: SseEvent[] = [];
      let buffer = '';
      let ready = false;
      let ended = false;
      const endedPromise = new Promise<void>((done) =>
        response.on('close', () => {
          ended = true;
          done();
        }),
      );
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string[]>();
          for (const line of block.split('\n')) {
            if (line === '' || line.startsWith(':')) continue; // heartbeat comment
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            fields.set(field, [...(fields.get(field) ?? []), value]);
          }
          if (fields.has('retry') && !ready) {
            // Written right after the route subscribed to the change bus: from here on nothing is missed.
            ready = true;
            clearTimeout(opened);
            resolve(stream);
          }
          if (fields.has('data')) {
            events.push({
              event: fields.get('event')?.at(-1) ?? 'message',
              id: fields.get('id')?.at(-1),
              data: fields.get('data')!.join('\n'),
            });
          }
        }
      });
      const stream: EventStream = {
        headers: response.headers,
        events,
        ended: endedPromise,
        async waitFor(what, match, ms = 5_000) {
          const deadline = Date.now() + ms;
          for (;;) {
            const found = events.find(match);
            if (found) return found;
            if (ended) throw new Error(`the event stream ended before ${what}`);
            if (Date.now() > deadline) {
              throw new Error(`no event for ${what} within ${ms} ms; got ${JSON.stringify(events)}`);
            }
            await sleep(20);
          }
        },
        close: () => request.destroy(),
      };
    });
    request.end();
  });
}

interface ChangeData {
  cursor: string;
  op: 'upsert' | 'delete';
  note?: Note;
  id?: number;
}

const changeOf = (event: SseEvent) => JSON.parse(event.data) as ChangeData;

function isChangeOf(id: number, check: (change: ChangeData) => boolean = () => true) {
  return (event: SseEvent) => {
    if (event.event !== 'change') return false;
    const change = changeOf(event);
    return (change.note?.id ?? change.id) === id && check(change);
  };
}

// ---------------------------------------------------------------------------------------------
// Processes of the operating system (Linux /proc), to see a cluster's workers come and go.

const HAS_PROC = existsSync('/proc/self/stat');

/** `[state, ppid]` of a process from /proc/<pid>/stat; undefined when it does not exist. */
function procStat(pid: number): [string, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '?', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [state, Number(ppid)];
  } catch {
    return undefined;
  }
}

/** The `folio` processes whose parent is `parent` (a cluster's workers). */
function folioChildren(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (procStat(pid)?.[1] !== parent) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(CLI)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
}

/** Running: it exists and is not a zombie (an exited process its parent has not reaped yet). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!HAS_PROC) return true;
  const stat = procStat(pid);
  return stat !== undefined && stat[0] !== 'Z';
}

/** Kills a leftover worker by PID, only while it still is a folio process. */
function killLeftover(pid: number): void {
  if (!HAS_PROC || !isRunning(pid)) return;
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(CLI)) process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

// ---------------------------------------------------------------------------------------------
// Two instances on one PostgreSQL database and one Redis.

/** The Redis database these tests use: the URL's own, else 5, away from a development server's 0. */
function testRedisUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = '/5';
  return parsed.toString();
}

const RATE_LIMIT_KEYS = 'folio-rate-limit:*';

async function deleteRateLimitKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', RATE_LIMIT_KEYS, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}

/** Drops a test database; WITH (FORCE) (PostgreSQL 13+) also ends connections a killed server left. */
async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42601') throw error; // older: no WITH (FORCE)
    await admin.query(`drop database if exists ${name}`);
  }
}

interface Pair {
  a: Server;
  b: Server;
  redis: Redis;
}

/**
 * A fresh database and Redis counters, then instance A (which migrates it) and, once A answers,
 * instance B: same database, Redis and secret, another port.
 *
 * A database of its own rather than a schema (search_path) in the shared one: `folio serve`
 * migrates without naming a schema, and Kysely's migrator then takes its bookkeeping tables in
 * *any* schema of the database (another test's, a leftover) for the search_path's own, so A would
 * fail with `relation "kysely_migration_lock" does not exist` whenever another schema has them
 * (a bug in src/main.ts, not tested here). In its own database A migrates as a deployment does.
 */
async function twoInstances(cleanup: Cleanup, options: { rateLimit: number }): Promise<Pair> {
  const redisUrl = testRedisUrl(REDIS_URL!);

  const admin = new pg.Client({ connectionString: POSTGRES_URL! });
  await admin.connect();
  cleanup(() => admin.end());
  const name = `folio_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create database ${name}`);
  cleanup(() => dropDatabase(admin, name));
  const database = new URL(POSTGRES_URL!);
  database.pathname = `/${name}`;

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  await redis.connect();
  cleanup(() => redis.quit());
  // Ids start at 1 in every fresh database: counters of an earlier test must not count here.
  await deleteRateLimitKeys(redis);
  cleanup(() => deleteRateLimitKeys(redis));

  const env = {
    FOLIO_DATABASE_URL: database.toString(),
    FOLIO_REDIS_URL: redisUrl,
    FOLIO_SECRET: randomBytes(32).toString('base64url'),
    FOLIO_RATE_LIMIT: String(options.rateLimit),
    FOLIO_DB_POOL_SIZE: '4',
  };
  const cwd = tempDir();
  const a = await startFolio('instance A', ['serve'], { cwd, env, cleanup });
  expect(a.status.database.dialect).toBe('postgres');
  const b = await startFolio('instance B', ['serve'], { cwd, env, cleanup });
  expect(b.status.database.dialect).toBe('postgres');
  return { a, b, redis };
}

describe('two instances on one PostgreSQL database and Redis', () => {
  if (!RUNS_HERE) {
    it('runs once, in the sqlite project', () => {
      console.log(
        'multi-instance tests run in the sqlite project (they bring their own PostgreSQL database)',
      );
      expect(PROJECT).toBe('postgres');
    });
    return;
  }
  if (!POSTGRES_URL || !REDIS_URL) {
    it('is skipped without FOLIO_TEST_POSTGRES_URL and FOLIO_TEST_REDIS_URL', () => {
      const missing = [!POSTGRES_URL && 'FOLIO_TEST_POSTGRES_URL', !REDIS_URL && 'FOLIO_TEST_REDIS_URL'];
      console.log(
        `multi-instance tests skipped: set FOLIO_TEST_POSTGRES_URL and FOLIO_TEST_REDIS_URL ` +
          `(unset: ${missing.filter(Boolean).join(', ')})`,
      );
      expect(POSTGRES_URL === undefined || REDIS_URL === undefined).toBe(true);
    });
    return;
  }

  it(
    'a note created on A is read on B',
    async () => {
      const { a, b } = await twoInstances(cleanupStack(), { rateLimit: 0 });
      const ada = await register(a.base, 'ada');
      const created = await createNote(a.base, ada.token, {
        title: 'Written on A',
        content: 'read on B',
        tags: ['scale'],
      });
      const note = created.json<Note>();

      const read = await call(b.base, 'GET', `/api/notes/${note.id}`, { token: ada.token });
      expectStatus(read, 200, 'GET on B');
      expect(read.json()).toEqual(note);
      expect(read.headers.etag).toBe(created.headers.etag);

      const list = await call(b.base, 'GET', '/api/notes', { token: ada.token });
      expect(list.json<{ data: Note[] }>().data.map((n) => n.id)).toEqual([note.id]);
    },
    PROCESS_TEST_MS,
  );

  it(
    'logout on A rejects the same token on B',
    async () => {
      const { a, b } = await twoInstances(cleanupStack(), { rateLimit: 0 });
      const ada = await register(a.base, 'ada');
      expectStatus(await call(b.base, 'GET', '/api/notes', { token: ada.token }), 200, 'B before logout');

      expectStatus(await call(a.base, 'POST', '/api/auth/logout', { token: ada.token }), 204, 'logout on A');

      const afterOnB = await call(b.base, 'GET', '/api/notes', { token: ada.token });
      expectStatus(afterOnB, 401, 'B after logout');
      expect(afterOnB.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectStatus(await call(a.base, 'GET', '/api/notes', { token: ada.token }), 401, 'A after logout');
      // The session is gone for both: its refresh token buys nothing on B either.
      const refresh = await call(b.base, 'POST', '/api/auth/refresh', {
        body: { refresh_token: ada.refreshToken },
      });
      expectStatus(refresh, 401, 'refresh on B after logout');
    },
    PROCESS_TEST_MS,
  );

  it(
    'shares the rate limit: the 9th request of a user, alternating between A and B, gets 429',
    async () => {
      const limit = 8;
      const { a, b, redis } = await twoInstances(cleanupStack(), { rateLimit: limit });
      const ada = await register(a.base, 'ada'); // public: counted per address, not against ada
      const statuses: string[] = [];
      const remaining: string[] = [];
      for (let i = 0; i < limit + 2; i++) {
        const server = i % 2 === 0 ? a : b;
        const answer = await call(server.base, 'GET', '/api/notes', { token: ada.token });
        statuses.push(`${server.name} ${answer.status}`);
        remaining.push(String(answer.headers['ratelimit-remaining']));
      }
      // Each instance alone would allow 8: only one shared count stops the 9th.
      expect(statuses).toEqual([
        ...Array.from({ length: limit }, (_, i) => `instance ${i % 2 === 0 ? 'A' : 'B'} 200`),
        'instance A 429',
        'instance B 429',
      ]);
      expect(remaining.slice(0, limit)).toEqual(['7', '6', '5', '4', '3', '2', '1', '0']);
      // And the count is in Redis, under the user.
      const counted = Number(await redis.get(`folio-rate-limit:user:${ada.id}`));
      expect(counted).toBeGreaterThanOrEqual(limit + 1);
    },
    PROCESS_TEST_MS,
  );

  it(
    'two conflicting If-Match writes, one on each instance, give exactly one winner (10 rounds)',
    async () => {
      const { a, b } = await twoInstances(cleanupStack(), { rateLimit: 0 });
      const ada = await register(a.base, 'ada');
      const wins = { A: 0, B: 0 };
      for (let round = 0; round < 10; round++) {
        const created = await createNote(round % 2 === 0 ? a.base : b.base, ada.token, {
          title: `round ${round}`,
        });
        const note = created.json<Note>();
        const etag = created.headers.etag!;
        expect(etag).toBe(`"${note.id}-1"`);
        const put = (server: Server, title: string) =>
          call(server.base, 'PUT', `/api/notes/${note.id}`, {
            token: ada.token,
            headers: { 'if-match': etag },
            body: { title },
          });
        // Sent together: neither waits for the other's answer.
        const [onA, onB] = await Promise.all([put(a, `A wins ${round}`), put(b, `B wins ${round}`)]);
        const what = `round ${round}: A ${onA.status} ${onA.text} / B ${onB.status} ${onB.text}`;
        expect([onA.status, onB.status].sort(), what).toEqual([200, 412]);

        const [winner, loser, title] =
          onA.status === 200 ? [onA, onB, `A wins ${round}`] : [onB, onA, `B wins ${round}`];
        wins[onA.status === 200 ? 'A' : 'B']++;
        expect(winner.json<Note>(), what).toMatchObject({ id: note.id, title, version: 2 });
        expect(winner.headers.etag).toBe(`"${note.id}-2"`);
        // The loser is told what it lost to.
        expect(loser.json(), what).toMatchObject({
          status: 412,
          code: 'precondition_failed',
          note: { id: note.id, title, version: 2 },
        });
        for (const server of [a, b]) {
          const now = await call(server.base, 'GET', `/api/notes/${note.id}`, { token: ada.token });
          expect(now.json<Note>(), `${what}; read on ${server.name}`).toMatchObject({ title, version: 2 });
        }
      }
      console.log(`If-Match races won: A ${wins.A}, B ${wins.B}`);
    },
    PROCESS_TEST_MS,
  );

  it(
    'an event stream on B receives the changes written on A',
    async () => {
      const { a, b } = await twoInstances(cleanupStack(), { rateLimit: 0 });
      const ada = await register(a.base, 'ada');
      const stream = await openEvents(b.base, ada.token);
      onTestFinished(() => stream.close());

      const note = (await createNote(a.base, ada.token, { title: 'live from A' })).json<Note>();
      const created = await stream.waitFor(`note ${note.id} created on A`, isChangeOf(note.id));
      expect(changeOf(created)).toEqual({ cursor: created.id, op: 'upsert', note });

      const patched = await call(a.base, 'PATCH', `/api/notes/${note.id}`, {
        token: ada.token,
        body: { title: 'edited on A' },
      });
      expectStatus(patched, 200, 'PATCH on A');
      const updated = await stream.waitFor(
        `note ${note.id} edited on A`,
        isChangeOf(note.id, (change) => change.note?.version === 2),
      );
      expect(changeOf(updated).note).toEqual(patched.json());

      expectStatus(
        await call(a.base, 'DELETE', `/api/notes/${note.id}`, { token: ada.token }),
        204,
        'DELETE on A',
      );
      await stream.waitFor(
        `note ${note.id} trashed on A`,
        isChangeOf(note.id, (change) => change.op === 'delete'),
      );
      // One event per change, in feed order.
      const cursors = stream.events.filter((e) => e.event === 'change').map((e) => Number(e.id));
      expect(cursors).toHaveLength(3);
      expect([...cursors].sort((x, y) => x - y)).toEqual(cursors);
    },
    PROCESS_TEST_MS,
  );
});

// ---------------------------------------------------------------------------------------------
// `folio serve --workers 2` on SQLite.

describe('folio serve --workers 2', () => {
  if (!RUNS_HERE) {
    it('runs once, in the sqlite project', () => {
      console.log('folio serve --workers tests run in the sqlite project');
      expect(PROJECT).toBe('postgres');
    });
    return;
  }

  it(
    'serves from two workers on SQLite, relays changes between them, and stops them all on SIGTERM',
    async () => {
      const cleanup = cleanupStack();
      const workers: number[] = [];
      cleanup(() => workers.forEach(killLeftover)); // after the primary's stop, should it have failed
      const limit = 1000;
      const cwd = tempDir();
      const folio = await startFolio('folio serve --workers 2', ['serve', '--workers', '2'], {
        cwd,
        cleanup,
        // The per-process rate-limit counters (no Redis) show which worker answered; round-robin
        // is Node's default on Linux, pinned here so the distribution does not depend on the OS.
        env: { FOLIO_RATE_LIMIT: String(limit), NODE_CLUSTER_SCHED_POLICY: 'rr' },
      });
      expect(folio.status.database.dialect).toBe('sqlite');
      expect(existsSync(path.join(cwd, 'data/folio.db'))).toBe(true);

      if (HAS_PROC) {
        for (let i = 0; i < 100 && folioChildren(folio.pid).length < 2; i++) await sleep(100);
        workers.push(...folioChildren(folio.pid));
        expect(workers, 'worker processes of the primary').toHaveLength(2);
      }

      // /api/status answers as soon as one worker listens; the primary deals connections only to
      // workers that listen. Each worker counts a user's requests on its own, from limit - 1 down,
      // so a second answer showing limit - 1 came from the other worker: both are serving.
      const probe = await register(folio.base, 'probe');
      const seen: number[] = [];
      for (let i = 0; i < 200 && seen.filter((value) => value === limit - 1).length < 2; i++) {
        const answer = await call(folio.base, 'GET', '/api/notes', { token: probe.token });
        expectStatus(answer, 200, 'probe');
        seen.push(Number(answer.headers['ratelimit-remaining']));
        if (seen.length > 1) await sleep(100);
      }
      expect(
        seen.filter((value) => value === limit - 1),
        'answers from two workers within 20 s',
      ).toHaveLength(2);

      // Writes and reads, each on a fresh connection: the primary deals them out to the workers.
      const ada = await register(folio.base, 'ada');
      const left: number[] = [];
      const ids: number[] = [];
      for (let i = 0; i < 15; i++) {
        const created = await createNote(folio.base, ada.token, { title: `note ${i}`, tags: ['cluster'] });
        left.push(Number(created.headers['ratelimit-remaining']));
        const note = created.json<Note>();
        ids.push(note.id);
        // Most likely served by the other worker: it reads what this one wrote to the file.
        const read = await call(folio.base, 'GET', `/api/notes/${note.id}`, { token: ada.token });
        expectStatus(read, 200, `read note ${i}`);
        expect(read.json()).toEqual(note);
        left.push(Number(read.headers['ratelimit-remaining']));
      }
      expect(new Set(ids).size).toBe(15);
      const list = await call(folio.base, 'GET', '/api/notes?limit=100', { token: ada.token });
      expect(
        list
          .json<{ data: Note[] }>()
          .data.map((n) => n.id)
          .sort((x, y) => x - y),
      ).toEqual(ids);
      // A value seen twice was counted by two processes: both workers answered, and no third.
      const firsts = left.filter((value) => value === limit - 1).length;
      expect(firsts, `RateLimit-Remaining per request: ${left.join(' ')}`).toBe(2);
      expect(Math.min(...left)).toBeGreaterThanOrEqual(limit - 30);

      // A stream on one connection hears about writes on other connections, whichever worker
      // serves them: a second user, whose counts start fresh in both workers.
      const bob = await register(folio.base, 'bob');
      const stream = await openEvents(folio.base, bob.token);
      onTestFinished(() => stream.close());
      expect(Number(stream.headers['ratelimit-remaining'])).toBe(limit - 1);
      const written: { id: number; remaining: number }[] = [];
      // Each change must arrive before the next write: a stream also catches up on the next notice
      // from its own worker, which would hide a notice from the other worker that never came.
      for (let i = 0; i < 8; i++) {
        const created = await createNote(folio.base, bob.token, { title: `live ${i}` });
        const note = created.json<Note>();
        written.push({ id: note.id, remaining: Number(created.headers['ratelimit-remaining']) });
        const event = await stream.waitFor(`note ${note.id} (write ${i})`, isChangeOf(note.id), 5_000);
        expect(changeOf(event).note).toEqual(note);
      }
      expect(stream.events.filter((event) => event.event === 'change')).toHaveLength(written.length);
      // The stream's worker spent bob's first count on the stream itself: a write that shows it
      // again was served by the other worker, and its change still came through the primary.
      expect(
        written.filter((w) => w.remaining === limit - 1),
        `RateLimit-Remaining of the writes: ${written.map((w) => w.remaining).join(' ')}`,
      ).toHaveLength(1);

      // SIGTERM to the primary alone (the stream still open): it stops its workers and exits 0.
      const started = Date.now();
      process.kill(folio.pid, 'SIGTERM');
      const exit = await exitWithin(folio, 10_000);
      const took = Date.now() - started;
      expect(exit, `the primary did not exit within 10 s:\n${folio.output()}`).toEqual({
        code: 0,
        signal: null,
      });
      console.log(`primary and workers stopped in ${took} ms`);
      expect(took).toBeLessThan(5_000);
      await within(stream.ended, 5_000, 'the event stream to end'); // ended, not left hanging
      for (const pid of workers) expect(isRunning(pid), `worker ${pid} after the primary exited`).toBe(false);
      await expect(call(folio.base, 'GET', '/api/status')).rejects.toThrow(/ECONNREFUSED/);
      expect(folio.output()).not.toMatch(/exited \(.*\); starting another/);
    },
    PROCESS_TEST_MS,
  );
});
