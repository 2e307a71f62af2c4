import { describe, it, expect } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, createNote, signUp, type SignedUp } from '../../test/helpers.js';
import type { Database } from '../db/database.js';
import type { NoteBody } from '../../test/notes-helpers.js';
import { pruneChanges } from './changes.store.js';

// GET /api/events over real HTTP: the app listens on a free port and the test reads the stream with fetch.

type Change = { cursor: string; op: 'upsert'; note: NoteBody } | { cursor: string; op: 'delete'; id: number };

/** One block of an event stream: an event with its fields, or only comments. */
interface Block {
  event?: string;
  id?: string;
  data?: string;
  comments: string[];
}

const WAIT_MS = 10_000;

/** An open event stream: read its blocks one at a time; `close` aborts the request. */
interface Stream {
  response: Response;
  next(): Promise<Block | undefined>;
  /** The next `event: change`, parsed, skipping heartbeats and other blocks. */
  nextChange(): Promise<{ id: string; change: Change }>;
  close(): void;
}

async function listen(): Promise<{ app: FastifyInstance; base: string; database: Database }> {
  const { app, database } = await buildTestApp({ sseHeartbeatSeconds: 1 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, database, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

function parse(text: string): Block {
  const block: Block = { comments: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) block.comments.push(line.slice(1).trim());
    const match = /^(event|id|data): ?(.*)$/.exec(line);
    if (match) block[match[1] as 'event' | 'id' | 'data'] = match[2];
  }
  return block;
}

async function open(base: string, headers: Record<string, string>, opened: Stream[]): Promise<Stream> {
  const controller = new AbortController();
  const close = () => controller.abort();
  let response: Response;
  try {
    response = await fetch(`${base}/api/events`, { headers, signal: controller.signal });
  } catch (error) {
    close();
    throw error;
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const next = async (): Promise<Block | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${WAIT_MS} ms; had: ${buffer}`)), WAIT_MS);
    });
    try {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const text = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return parse(text);
        }
        const chunk = await Promise.race([reader.read(), timeout]);
        if (chunk.done) return undefined;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const nextChange = async () => {
    for (;;) {
      const block = await next();
      if (!block) throw new Error('the stream ended');
      if (block.event === undefined) continue;
      expect(block.event).toBe('change');
      return { id: block.id!, change: JSON.parse(block.data!) as Change };
    }
  };
  const stream = { response, next, nextChange, close };
  opened.push(stream);
  return stream;
}

/** Runs `body` with a list that collects the streams it opens, and aborts them all after it. */
async function withStreams(body: (opened: Stream[]) => Promise<void>): Promise<void> {
  const opened: Stream[] = [];
  try {
    await body(opened);
  } finally {
    for (const stream of opened) stream.close();
  }
}

function send(
  app: FastifyInstance,
  user: SignedUp,
  method: 'GET' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) {
  return app.inject({ method, url, headers: user.headers, ...(payload && { payload }) });
}

describe('GET /api/events', () => {
  it('answers 200 text/event-stream and sends a change made after connecting as event: change with the cursor as id', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      await createNote(app, user, { title: 'Before connecting' });
      const stream = await open(base, user.headers, opened);
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);

      const note = await createNote(app, user, { title: 'Live', tags: ['now'] });
      const { id, change } = await stream.nextChange();
      expect(change).toEqual({ cursor: id, op: 'upsert', note });
      const feed = await send(app, user, 'GET', '/api/sync');
      expect(feed.json().changes.at(-1)).toEqual(change);
    }));

  it('sends a note moved to the trash as a delete change', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const note = await createNote(app, user, { title: 'Doomed' });
      const stream = await open(base, user.headers, opened);
      expect((await send(app, user, 'DELETE', `/api/notes/${note.id}`)).statusCode).toBe(204);
      const { id, change } = await stream.nextChange();
      expect(change).toEqual({ cursor: id, op: 'delete', id: note.id });
    }));

  it('sends a : ping heartbeat comment', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const stream = await open(base, user.headers, opened);
      for (;;) {
        const block = await stream.next();
        if (!block) throw new Error('the stream ended');
        if (block.comments.includes('ping')) break;
      }
    }));

  it('resumes after a disconnect from Last-Event-ID with exactly the changes missed, in order', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const first = await open(base, user.headers, opened);
      const a = await createNote(app, user, { title: 'A' });
      const seen = await first.nextChange();
      expect(seen.change).toMatchObject({ op: 'upsert', note: { id: a.id } });
      first.close();

      // Three changes to three notes (the feed keeps one change per note), made while disconnected.
      const b = await createNote(app, user, { title: 'B' });
      const c = await createNote(app, user, { title: 'C' });
      expect((await send(app, user, 'DELETE', `/api/notes/${a.id}`)).statusCode).toBe(204);

      const second = await open(base, { ...user.headers, 'last-event-id': seen.id }, opened);
      expect(second.response.status).toBe(200);
      const missed = [await second.nextChange(), await second.nextChange(), await second.nextChange()];
      expect(missed.map((m) => m.change)).toEqual([
        { cursor: missed[0]!.id, op: 'upsert', note: b },
        { cursor: missed[1]!.id, op: 'upsert', note: c },
        { cursor: missed[2]!.id, op: 'delete', id: a.id },
      ]);
      const ids = [seen.id, ...missed.map((m) => m.id)].map(Number);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(4);

      // Nothing is repeated after the backlog: the next event is the next change.
      const d = await createNote(app, user, { title: 'D' });
      expect((await second.nextChange()).change).toMatchObject({ op: 'upsert', note: d });
    }));

  it('answers 410 resync_required problem+json, not a stream, to a Last-Event-ID older than the feed keeps', async () => {
    const { app, base, database } = await listen();
    const user = await signUp(app);
    const gone = await createNote(app, user, { title: 'Gone' });
    // The cursor a stream would have sent as the id of that change.
    const seen = (await send(app, user, 'GET', '/api/sync')).json().next_cursor as string;
    expect((await send(app, user, 'DELETE', `/api/notes/${gone.id}?purge=true`)).statusCode).toBe(204);
    await database.db.updateTable('changes').set({ changed_at: '2000-01-01T00:00:00.000Z' }).execute();
    await pruneChanges(database.db, 90);

    const response = await fetch(`${base}/api/events`, {
      headers: { ...user.headers, 'last-event-id': seen },
    });
    expect(response.status).toBe(410);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 410, code: 'resync_required' });
  });

  it('answers 400 validation_failed problem+json to a Last-Event-ID this server never issued', async () => {
    const { app, base } = await listen();
    const user = await signUp(app);
    const response = await fetch(`${base}/api/events`, {
      headers: { ...user.headers, 'last-event-id': 'abc' },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('accepts an API key in X-API-Key, like the rest of the API', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const created = await app.inject({
        method: 'POST',
        url: '/api/keys',
        headers: user.headers,
        payload: { name: 'desktop app', scopes: ['notes:read'] },
      });
      const stream = await open(base, { 'x-api-key': created.json().key }, opened);
      expect(stream.response.status).toBe(200);
      const note = await createNote(app, user, { title: 'Seen by the key' });
      expect((await stream.nextChange()).change).toMatchObject({ op: 'upsert', note });
    }));

  it('answers 401 problem+json without a credential', async () => {
    const { base } = await listen();
    const response = await fetch(`${base}/api/events`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await response.json()).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('never sends another user’s changes', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const other = await signUp(app);
      const stream = await open(base, user.headers, opened);
      const theirs = await createNote(app, other, { title: 'Theirs' });
      await send(app, other, 'PATCH', `/api/notes/${theirs.id}`, { title: 'Theirs, edited' });
      await send(app, other, 'DELETE', `/api/notes/${theirs.id}`);
      const mine = await createNote(app, user, { title: 'Mine' });
      expect((await stream.nextChange()).change).toMatchObject({ op: 'upsert', note: mine });
    }));

  it('ends open streams when the app closes', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const stream = await open(base, user.headers, opened);
      const note = await createNote(app, user, { title: 'Last words' });
      expect((await stream.nextChange()).change).toMatchObject({ note: { id: note.id } });
      await app.close();
      for (;;) {
        const block = await stream.next();
        if (block === undefined) break; // the stream ended
      }
    }));
});

describe('GET /api/events while the server stops', () => {
  it('ends streams cleanly while writes keep coming and clients leave (no write after the end)', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const streams = [await open(base, user.headers, opened), await open(base, user.headers, opened)];
      // Writers over HTTP keep the streams reading the feed.
      let writing = true;
      const writer = async () => {
        while (writing) {
          await fetch(`${base}/api/notes`, {
            method: 'POST',
            headers: { ...user.headers, 'content-type': 'application/json' },
            body: '{"title":"in flight"}',
          }).then(
            (response) => response.arrayBuffer(),
            () => undefined,
          );
        }
      };
      const writers = Array.from({ length: 6 }, writer);
      await streams[0]!.nextChange();
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const stream of streams) stream.close(); // the clients leave as the server stops
      await app.close();
      writing = false;
      await Promise.all(writers);
      // A write after the end would be an unhandled 'error' on the response, failing the run.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }));

  it('tells a stream to reconnect when the server stops', () =>
    withStreams(async (opened) => {
      const { app, base } = await listen();
      const user = await signUp(app);
      const stream = await open(base, user.headers, opened);
      const closing = app.close();
      let last: Block | undefined;
      for (let block = await stream.next(); block; block = await stream.next()) last = block;
      await closing;
      expect(last).toMatchObject({ event: 'reconnect', data: '{"reason":"shutting down"}' });
    }));
});
