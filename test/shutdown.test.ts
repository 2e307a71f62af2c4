import { existsSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { signUpOver, startFolio } from './server-process.js';

// SIGTERM while requests keep flowing: the server stops accepting, answers every request it has
// accepted (a slow upload that started before the signal included), tells event streams to
// reconnect, closes the database and exits 0.

interface Outcome {
  id: string;
  status?: number;
  error?: string;
}

/** One HTTP request on the shared keep-alive agent; a connection error is an outcome, not a throw. */
function send(
  agent: Agent,
  base: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  id: string,
  body?: string,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${url}`, { method, agent, headers: { ...headers, 'x-request-id': id } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ id, status: res.statusCode }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ id, error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ id, error: error.code ?? error.message }));
    req.end(body);
  });
}

/** A connection the server never took a request from: refused, or closed as the request was sent. */
const NOT_ACCEPTED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up']);

describe('folio serve on SIGTERM', () => {
  it('answers every accepted request, tells event streams to reconnect, closes the database and exits 0', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'folio.db');
    const server = await startFolio(
      { FOLIO_DATABASE_URL: `sqlite:${file}`, FOLIO_LOG_LEVEL: 'info', FOLIO_SHUTDOWN_TIMEOUT: '10' },
      dir,
    );
    const headers = await signUpOver(server.base, 'drain');

    // An event stream, read to its end.
    const stream = await fetch(`${server.base}/api/events`, { headers });
    expect(stream.status).toBe(200);
    const streamText = stream.text();

    // A slow upload: headers and half the body now, the rest after the signal.
    const slowBody = JSON.stringify({ title: 'slow upload', content: 'x'.repeat(20_000) });
    const slow = new Promise<Outcome>((resolve) => {
      const req = httpRequest(`${server.base}/api/notes`, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(slowBody)) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ id: 'slow', status: res.statusCode }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ id: 'slow', error: error.code }));
      req.write(slowBody.slice(0, 10_000));
      setTimeout(() => req.end(slowBody.slice(10_000)), 700);
    });

    // Eight clients on kept-alive connections, each sending reads and writes until it is refused.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes: Outcome[] = [];
    let sent = 0;
    let refused = false;
    const client = async (n: number) => {
      for (let i = 0; !refused && i < 5000; i++) {
        const id = `c${n}-${i}`;
        sent++;
        const outcome =
          i % 3 === 0
            ? await send(agent, server.base, 'POST', '/api/notes', headers, id, JSON.stringify({ title: id }))
            : await send(agent, server.base, 'GET', '/api/notes?limit=5', headers, id);
        outcomes.push(outcome);
        if (outcome.error === 'ECONNREFUSED') refused = true;
      }
    };
    const clients = Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const before = outcomes.length;
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    const stoppedMs = Date.now() - signalled;
    refused = true;
    await clients;
    agent.destroy();

    expect(code).toBe(0);
    expect(stoppedMs).toBeLessThan(10_000);
    expect(await slow).toEqual({ id: 'slow', status: 201 });
    expect(await streamText).toContain('event: reconnect');

    // What the server answered, by its own log (one line per request, with the id it was sent).
    const logged = new Map<string, number>();
    for (const line of server.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { request_id?: string; status?: number; msg: string };
      if (entry.request_id && entry.status !== undefined) logged.set(entry.request_id, entry.status);
    }
    const failures = outcomes.filter((outcome) =>
      outcome.status === undefined
        ? !NOT_ACCEPTED.has(outcome.error ?? '') || logged.has(outcome.id)
        : outcome.status >= 500 || logged.get(outcome.id) !== outcome.status,
    );
    expect(failures).toEqual([]);
    expect(before).toBeGreaterThan(8);
    expect(outcomes.filter((outcome) => outcome.status !== undefined).length).toBeGreaterThan(before);
    expect(sent).toBe(outcomes.length);

    // Closed properly: SQLite folds the write-ahead log back into the file when the last
    // connection closes.
    expect(existsSync(`${file}-wal`)).toBe(false);

    // Every create the server acknowledged is there, and no failed one slipped in.
    const again = await startFolio({ FOLIO_DATABASE_URL: `sqlite:${file}` }, dir);
    const titles = new Set<string>();
    for (let url = '/api/notes?limit=100'; url;) {
      const page = (await (await fetch(`${again.base}${url}`, { headers })).json()) as {
        data: { title: string }[];
        meta: { next_cursor: string | null };
      };
      for (const note of page.data) titles.add(note.title);
      url = page.meta.next_cursor ? `/api/notes?limit=100&after=${page.meta.next_cursor}` : '';
    }
    for (const outcome of outcomes) {
      if (Number(outcome.id.split('-')[1]) % 3 !== 0) continue;
      expect(titles.has(outcome.id), outcome.id).toBe(outcome.status === 201);
    }
    expect(titles.has('slow upload')).toBe(true);
  }, 60_000);
});
