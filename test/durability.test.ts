import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import SQLite from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from './helpers.js';
import { signUpOver, startFolio, type ServerProcess } from './server-process.js';

// product.md, "Durability": a write answered 2xx survives the process being killed the next
// instant. A few hundred concurrent creates and updates, some of them bound to fail; SIGKILL
// the moment the last success arrives (or halfway, with writes still in flight); start again on
// the same database: every acknowledged write is there, and no write answered with an error.

interface Write {
  kind: 'create' | 'update' | 'stale' | 'invalid';
  /** The note it targets (updates) or made (a 201's Location). */
  id?: number;
  marker: string;
  status?: number;
}

const NOTES = 60;
const CREATES = 180;

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Sends the writes all at once and SIGKILLs the server when `killAfter` successes have been
 * answered (synchronously, in the callback of the last one), then waits for it to be gone.
 */
async function writeAndKill(server: ServerProcess, killAfter: 'last' | 'half'): Promise<Write[]> {
  const headers = await signUpOver(server.base, 'durable');
  const existing: { id: number; etag: string }[] = [];
  for (let i = 0; i < NOTES; i++) {
    const created = await json<{ id: number }>(
      await fetch(`${server.base}/api/notes`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ title: `note ${i}`, content: 'first' }),
      }),
    );
    const read = await fetch(`${server.base}/api/notes/${created.id}`, { headers });
    existing.push({ id: created.id, etag: read.headers.get('etag')! });
  }
  const writes: Write[] = [];
  for (let i = 0; i < CREATES; i++)
    writes.push({ kind: 'create', marker: `created ${i} ${randomBytes(4).toString('hex')}` });
  for (const [i, note] of existing.entries()) {
    writes.push({ kind: 'update', id: note.id, marker: `updated ${i}` });
    writes.push({ kind: 'stale', id: note.id, marker: `stale ${i}` });
  }
  for (let i = 0; i < 30; i++) writes.push({ kind: 'invalid', marker: `invalid ${i}` });
  const successes = CREATES + NOTES;
  const killAt = killAfter === 'last' ? successes : Math.floor(successes / 2);
  let acknowledged = 0;
  const etags = new Map(existing.map((note) => [note.id, note.etag]));
  await Promise.all(
    writes.map(async (write) => {
      const request =
        write.kind === 'create'
          ? { method: 'POST', url: '/api/notes', body: { title: write.marker, content: write.marker } }
          : write.kind === 'invalid'
            ? { method: 'POST', url: '/api/notes', body: { title: '', content: write.marker } }
            : { method: 'PATCH', url: `/api/notes/${write.id}`, body: { content: write.marker } };
      try {
        const response = await fetch(`${server.base}${request.url}`, {
          method: request.method,
          headers: {
            ...headers,
            ...(write.kind === 'update' && { 'if-match': etags.get(write.id!)! }),
            ...(write.kind === 'stale' && { 'if-match': '"stale"' }),
          },
          body: JSON.stringify(request.body),
        });
        write.status = response.status;
        if (response.status >= 200 && response.status < 300 && ++acknowledged === killAt) {
          server.child.kill('SIGKILL');
        }
        if (write.kind === 'create' && response.status === 201) {
          write.id = Number(response.headers.get('location')!.split('/').pop());
        }
        await response.arrayBuffer().catch(() => undefined);
      } catch {
        // Killed before it answered: the write may or may not have happened.
      }
    }),
  );
  expect(await server.exited).toBe('SIGKILL');
  return writes;
}

/** Everything acknowledged is there; nothing answered with an error is. */
async function checkAfterRestart(server: ServerProcess, writes: Write[]): Promise<void> {
  const headers = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'durable', password: 'correct horse battery' }),
  })
    .then((response) => json<{ access_token: string }>(response))
    .then(({ access_token }) => ({ authorization: `Bearer ${access_token}` }));
  const contents = new Map<number, string>();
  for (let url = '/api/notes?limit=100'; url;) {
    const page = await json<{
      data: { id: number; content: string }[];
      meta: { next_cursor: string | null };
    }>(await fetch(`${server.base}${url}`, { headers }));
    for (const note of page.data) contents.set(note.id, note.content);
    url = page.meta.next_cursor ? `/api/notes?limit=100&after=${page.meta.next_cursor}` : '';
  }
  const present = new Set(contents.values());
  const answered = writes.filter((write) => write.status !== undefined);
  expect(answered.length).toBeGreaterThan(writes.length / 3);
  for (const write of answered) {
    const ok = write.status! >= 200 && write.status! < 300;
    if (write.kind === 'create' && ok) expect(contents.get(write.id!), write.marker).toBe(write.marker);
    if (write.kind === 'update' && ok) expect(contents.get(write.id!), write.marker).toBe(write.marker);
    if (!ok) {
      expect(write.status, write.marker).toBe(write.kind === 'stale' ? 412 : 400);
      expect(present.has(write.marker), write.marker).toBe(false);
    }
  }
  // Every acknowledged write was acknowledged: none of the ones meant to succeed failed.
  for (const write of answered) {
    if (write.kind === 'create') expect(write.status).toBe(201);
    if (write.kind === 'update') expect(write.status).toBe(200);
  }
}

async function killAndRecover(env: Record<string, string>, killAfter: 'last' | 'half'): Promise<void> {
  const dir = tempDir();
  const first = await startFolio(env, dir);
  const writes = await writeAndKill(first, killAfter);
  const again = await startFolio(env, dir);
  await checkAfterRestart(again, writes);
}

describe('durability on SQLite (synchronous=NORMAL, WAL)', () => {
  for (const killAfter of ['last', 'half'] as const) {
    it(`keeps every acknowledged write when killed after the ${killAfter === 'last' ? 'last' : 'first half of the'} 2xx`, async () => {
      const file = path.join(tempDir(), 'folio.db');
      await killAndRecover({ FOLIO_DATABASE_URL: `sqlite:${file}` }, killAfter);
      // The file itself is sound after the crash and the recovery.
      const sqlite = new SQLite(file, { readonly: true });
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      sqlite.close();
    }, 120_000);
  }
});

const postgres = process.env.FOLIO_TEST_POSTGRES_URL;

describe.runIf(postgres)('durability on PostgreSQL', () => {
  for (const killAfter of ['last', 'half'] as const) {
    it(`keeps every acknowledged write when killed after the ${killAfter === 'last' ? 'last' : 'first half of the'} 2xx`, async () => {
      const admin = new pg.Pool({ connectionString: postgres, max: 1 });
      const schema = `durable_${randomBytes(6).toString('hex')}`;
      await admin.query(`create schema ${schema}`);
      onTestFinished(async () => {
        await admin.query(`drop schema ${schema} cascade`);
        await admin.end();
      });
      const url = `${postgres}${postgres!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      await killAndRecover({ FOLIO_DATABASE_URL: url }, killAfter);
    }, 120_000);
  }
});
