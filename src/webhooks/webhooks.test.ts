import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, createNote, expectProblem, signUp, type SignedUp } from '../../test/helpers.js';
import { eventually, startReceiver, type Received } from '../../test/webhook-receiver.js';

interface NewHook {
  id: number;
  url: string;
  events: string[];
  created_at: string;
  secret: string;
}

interface DeliveryLog {
  id: number;
  message_id: string;
  event: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

async function newHook(app: FastifyInstance, user: SignedUp, payload: object): Promise<NewHook> {
  const response = await app.inject({ method: 'POST', url: '/api/webhooks', headers: user.headers, payload });
  if (response.statusCode !== 201)
    throw new Error(`webhook creation failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

async function deliveryLog(app: FastifyInstance, user: SignedUp, hookId: number): Promise<DeliveryLog[]> {
  const response = await app.inject({ url: `/api/webhooks/${hookId}/deliveries`, headers: user.headers });
  expect(response.statusCode).toBe(200);
  return response.json<{ data: DeliveryLog[] }>().data;
}

/** Standard Webhooks verification, written from the spec and independent of the server's code. */
function verifies(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature = ''] = entry.split(',');
      const given = Buffer.from(signature, 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

function event(request: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  return JSON.parse(request.body);
}

describe('POST /api/webhooks', () => {
  it('answers 201 with Location and a whsec_ secret shown once; GET lists it without the secret', async () => {
    const { app } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: user.headers,
      payload: { url: 'https://example.com/hook' },
    });
    expect(response.statusCode).toBe(201);
    const hook = response.json<NewHook>();
    expect(hook).toEqual({
      id: expect.any(Number),
      url: 'https://example.com/hook',
      events: ['note.created', 'note.updated', 'note.deleted'],
      created_at: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
    });
    expect(Buffer.from(hook.secret.slice(6), 'base64')).toHaveLength(24);
    expect(response.headers.location).toBe(`/api/webhooks/${hook.id}`);
    expect(response.headers['cache-control']).toBe('no-store');
    const list = await app.inject({ url: '/api/webhooks', headers: user.headers });
    const { secret: _secret, ...listed } = hook;
    expect(list.json()).toEqual({ data: [listed] });
  });

  it('answers 400 validation_failed naming the field for each bad input', async () => {
    const { app } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'ftp://example.com/hook' }, 'url'],
      [{ url: `https://example.com/${'a'.repeat(2000)}` }, 'url'],
      [{ url: 'https://example.com', events: ['note.archived'] }, 'events[0]'],
      [{ url: 'https://example.com', events: [] }, 'events'],
      [{ url: 'https://example.com', events: ['note.created', 'note.created'] }, 'events'],
      [{ url: 'https://example.com', secret: 'mine' }, 'secret'],
    ];
    for (const [payload, field] of cases) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: user.headers,
        payload,
      });
      const body = expectProblem(response, 400, 'validation_failed');
      expect(
        body.errors?.map((e) => e.field),
        JSON.stringify(payload),
      ).toEqual([field]);
    }
  });

  it('refuses loopback, private and link-local addresses unless they are allowed', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    for (const url of [
      'http://127.0.0.1/hook',
      'http://[::1]:8080/',
      'http://10.1.2.3/',
      'http://169.254.169.254/',
      'http://0.0.0.0/',
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: user.headers,
        payload: { url },
      });
      expect(expectProblem(response, 400, 'validation_failed').errors, url).toEqual([
        { field: 'url', message: 'must not point to a private or loopback address' },
      ]);
    }
  });

  it('replays the first answer to a retry with the same Idempotency-Key', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const request = {
      method: 'POST' as const,
      url: '/api/webhooks',
      headers: { ...user.headers, 'idempotency-key': 'hook-1' },
      payload: { url: 'https://example.com/hook' },
    };
    const first = await app.inject(request);
    const again = await app.inject(request);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await app.inject({ url: '/api/webhooks', headers: user.headers })).json().data).toHaveLength(1);
  });

  it('answers 403 to an API key: webhooks are account management', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const key = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: user.headers,
      payload: { name: 'k' },
    });
    const headers = { authorization: `Bearer ${key.json().key}` };
    expectProblem(await app.inject({ url: '/api/webhooks', headers }), 403, 'forbidden');
    const payload = { url: 'https://example.com/hook' };
    expectProblem(
      await app.inject({ method: 'POST', url: '/api/webhooks', headers, payload }),
      403,
      'forbidden',
    );
  });
});

describe('DELETE /api/webhooks/:id', () => {
  it('answers 204, then 404; another user gets 404 for it and its deliveries', async () => {
    const { app } = await buildTestApp();
    const [owner, other] = [await signUp(app), await signUp(app)];
    const hook = await newHook(app, owner, { url: 'https://example.com/hook' });
    const url = `/api/webhooks/${hook.id}`;
    expectProblem(await app.inject({ method: 'DELETE', url, headers: other.headers }), 404, 'not_found');
    expectProblem(await app.inject({ url: `${url}/deliveries`, headers: other.headers }), 404, 'not_found');
    expect((await app.inject({ url: '/api/webhooks', headers: other.headers })).json()).toEqual({ data: [] });
    expect((await app.inject({ method: 'DELETE', url, headers: owner.headers })).statusCode).toBe(204);
    expectProblem(await app.inject({ method: 'DELETE', url, headers: owner.headers }), 404, 'not_found');
    expectProblem(await app.inject({ url: `${url}/deliveries`, headers: owner.headers }), 404, 'not_found');
  });
});

describe('webhook deliveries', () => {
  it('POSTs note.created, note.updated and note.deleted, signed, with the note as data', async () => {
    const { app } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const receiver = await startReceiver();
    const hook = await newHook(app, user, { url: receiver.url });

    const note = await createNote(app, user, { title: 'Hello', tags: ['a'] });
    await receiver.waitFor(1);
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/notes/${note.id}`,
      headers: user.headers,
      payload: { title: 'Hi' },
    });
    await receiver.waitFor(2);
    await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
    const [created, updated, deleted] = await receiver.waitFor(3);

    expect(event(created!)).toEqual({ type: 'note.created', timestamp: expect.any(String), data: note });
    expect(event(updated!)).toEqual({
      type: 'note.updated',
      timestamp: expect.any(String),
      data: patched.json(),
    });
    expect(event(deleted!)).toEqual({
      type: 'note.deleted',
      timestamp: expect.any(String),
      data: { id: note.id },
    });
    for (const request of receiver.requests) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-id']).toMatch(/^msg_/);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(verifies(hook.secret, request.headers, request.body)).toBe(true);
      expect(verifies(hook.secret, request.headers, request.body.replace('note.', 'nope.'))).toBe(false);
    }
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(3);
    const log = await eventually(
      () => deliveryLog(app, user, hook.id),
      (l) => l.every((d) => d.state === 'succeeded'),
    );
    expect(log.map((d) => [d.event, d.attempts, d.last_status])).toEqual([
      ['note.deleted', 1, 204],
      ['note.updated', 1, 204],
      ['note.created', 1, 204],
    ]);
  });

  it('sends note.deleted for a purged live note, and nothing more when a trashed note is purged', async () => {
    const { app } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const receiver = await startReceiver();
    await newHook(app, user, { url: receiver.url, events: ['note.deleted'] });
    const live = await createNote(app, user, { title: 'purged while live' });
    const trashed = await createNote(app, user, { title: 'trashed first' });
    await app.inject({ method: 'DELETE', url: `/api/notes/${live.id}?purge=true`, headers: user.headers });
    await receiver.waitFor(1);
    await app.inject({ method: 'DELETE', url: `/api/notes/${trashed.id}`, headers: user.headers });
    await receiver.waitFor(2);
    await app.inject({ method: 'DELETE', url: `/api/notes/${trashed.id}?purge=true`, headers: user.headers });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The filter keeps note.created out; the purge of a trashed note was announced at the trash.
    expect(receiver.requests.map(event)).toEqual([
      { type: 'note.deleted', timestamp: expect.any(String), data: { id: live.id } },
      { type: 'note.deleted', timestamp: expect.any(String), data: { id: trashed.id } },
    ]);
  });

  it('logs the status of a failed attempt and keeps the delivery pending for a retry', async () => {
    const { app } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const receiver = await startReceiver(() => 500);
    const hook = await newHook(app, user, { url: receiver.url });
    await createNote(app, user, { title: 'x' });
    const [delivery] = await eventually(
      () => deliveryLog(app, user, hook.id),
      (l) => l[0]?.attempts === 1,
    );
    expect(delivery).toMatchObject({
      event: 'note.created',
      state: 'pending',
      last_status: 500,
      last_error: 'answered 500',
    });
    expect(delivery!.delivered_at).toBeNull();
  });

  it('refuses at delivery a host name that resolves to a loopback address, sending nothing', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const receiver = await startReceiver();
    const hook = await newHook(app, user, { url: `http://localhost:${receiver.port}/hook` });
    await createNote(app, user, { title: 'x' });
    const [delivery] = await eventually(
      () => deliveryLog(app, user, hook.id),
      (l) => l[0]?.attempts === 1,
    );
    expect(delivery).toMatchObject({ state: 'pending', last_status: null });
    expect(delivery!.last_error).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), a private address$/,
    );
    expect(receiver.requests).toHaveLength(0);
  });

  it('closes the app at once while a receiver has not answered, handing the delivery back', async () => {
    const { app, database } = await buildTestApp({ webhooksAllowPrivate: true });
    const user = await signUp(app);
    const receiver = await startReceiver(() => 'hang');
    await newHook(app, user, { url: receiver.url });
    await createNote(app, user, { title: 'x' });
    await receiver.waitFor(1);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const row = await database.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      state: 'pending',
      attempts: 0,
      last_error: 'interrupted: the server was stopping',
    });
    expect(Date.parse(row.next_attempt_at)).toBeLessThanOrEqual(Date.now());
  });
});
