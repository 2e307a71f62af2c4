import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp, TEST_DIALECT } from '../../test/helpers.js';

// What an operator relies on: request ids, the log line, metrics, health checks, overload.

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  it('echoes the id a client sends, and logs it on the request line with the user and timing', async () => {
    const log = capture();
    const { app } = await buildTestApp({ logLevel: 'info' }, { logStream: log.stream });
    const user = await signUp(app);
    const response = await app.inject({
      method: 'GET',
      url: '/api/notes',
      headers: { ...user.headers, 'x-request-id': 'trace-abc.123' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('trace-abc.123');
    const line = log.lines().find((entry) => entry.request_id === 'trace-abc.123');
    expect(line).toMatchObject({
      method: 'GET',
      url: '/api/notes',
      status: 200,
      user: user.id,
      msg: 'request',
    });
    expect(typeof line!.ms).toBe('number');
    // Never a secret: the token appears nowhere in the log.
    expect(JSON.stringify(log.lines())).not.toContain(user.token);
  });

  it('makes up a UUID when none is sent or the one sent is unusable', async () => {
    const { app } = await buildTestApp();
    const none = await app.inject({ method: 'GET', url: '/api/status' });
    expect(none.headers['x-request-id']).toMatch(UUID);
    for (const bad of ['x'.repeat(129), 'has space', 'naïve']) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/status',
        headers: { 'x-request-id': bad },
      });
      expect(response.headers['x-request-id']).toMatch(UUID);
    }
    // Errors and pages carry it too.
    const missing = await app.inject({
      method: 'GET',
      url: '/api/nothing',
      headers: { 'x-request-id': 'r-404' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-request-id']).toBe('r-404');
    const page = await app.inject({ method: 'GET', url: '/login', headers: { 'x-request-id': 'r-page' } });
    expect(page.headers['x-request-id']).toBe('r-page');
  });
});

describe('GET /metrics', () => {
  it('is not served unless metrics are turned on', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    expect(app.metrics).toBeUndefined();
  });

  it('counts requests by route pattern and status, with latency, connections and open streams', async () => {
    const { app } = await buildTestApp({ metrics: true });
    const user = await signUp(app);
    const note = await createNote(app, user, { title: 'metered' });
    for (let i = 0; i < 3; i++) {
      await app.inject({ method: 'GET', url: `/api/notes/${note.id}`, headers: user.headers });
    }
    await app.inject({ method: 'GET', url: '/api/notes/999999', headers: user.headers });
    await app.inject({ method: 'GET', url: '/api/no/such/path' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).toContain('folio_http_requests_total{method="GET",route="/api/notes/:id",status="200"} 3');
    expect(text).toContain('folio_http_requests_total{method="GET",route="/api/notes/:id",status="404"} 1');
    expect(text).toMatch(/folio_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toMatch(
      /folio_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/api\/notes\/:id",status="200"\} 3/,
    );
    expect(text).toMatch(/folio_db_connections\{state="total"\} \d+/);
    expect(text).toContain('folio_sse_clients 0');
    expect(text).toContain('process_resident_memory_bytes');
    // The URL asked never becomes a label: one series per route, however many ids are asked for.
    expect(text).not.toContain(`/api/notes/${note.id}"`);
  });

  it('counts open event streams', async () => {
    const { app } = await buildTestApp({ metrics: true });
    const user = await signUp(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const controller = new AbortController();
    const stream = await fetch(`http://127.0.0.1:${port}/api/events`, {
      headers: user.headers,
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(await metrics.text()).toContain('folio_sse_clients 1');
    controller.abort();
  });
});

describe('GET /api/status', () => {
  it('reports readiness: database reachable and migrations current', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/api/status' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      version: expect.any(String),
      uptime_seconds: expect.any(Number),
      database: { dialect: TEST_DIALECT, ok: true },
      migrations: { current: true, latest: expect.stringMatching(/^\d{4}-/) },
    });
  });

  it('answers 503 unavailable when the database cannot be reached', async () => {
    const { app, database } = await buildTestApp();
    await database.db.destroy();
    const response = await app.inject({ method: 'GET', url: '/api/status' });
    expectProblem(response, 503, 'unavailable');
    expect(response.headers['retry-after']).toBe('5');
  });

  it('answers 503 unavailable when a migration has not been applied', async () => {
    const { app, database } = await buildTestApp();
    await sql`delete from kysely_migration where name = (select max(name) from kysely_migration)`.execute(
      database.db,
    );
    const response = await app.inject({ method: 'GET', url: '/api/status' });
    expect(expectProblem(response, 503, 'unavailable').detail).toMatch(/folio migrate/);
  });

  it('reports liveness at /api/status/live without touching the database', async () => {
    const { app, database } = await buildTestApp();
    await database.db.destroy();
    const response = await app.inject({ method: 'GET', url: '/api/status/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      version: expect.any(String),
      uptime_seconds: expect.any(Number),
    });
  });
});

describe('overload', () => {
  it('answers 503 unavailable with Retry-After while the event loop lags, and recovers', async () => {
    const { app } = await buildTestApp({ maxEventLoopDelayMs: 50 });
    const user = await signUp(app);
    expect((await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers })).statusCode).toBe(
      200,
    );
    // Keep the event loop busy for a while, as a flood of work would: every turn comes late.
    for (const until = Date.now() + 1500; Date.now() < until;) {
      const turn = Date.now() + 150;
      while (Date.now() < turn);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const busy = await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers });
    expectProblem(busy, 503, 'unavailable');
    expect(busy.headers['retry-after']).toBe('5');
    // Liveness still answers: a busy server is not a dead one.
    expect((await app.inject({ method: 'GET', url: '/api/status/live' })).statusCode).toBe(200);
    // Once the loop has caught up (from the next sample on), requests are served again.
    let status = 503;
    for (const until = Date.now() + 10_000; status === 503 && Date.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await app.inject({ method: 'GET', url: '/api/notes', headers: user.headers })).statusCode;
    }
    expect(status).toBe(200);
  });
});
