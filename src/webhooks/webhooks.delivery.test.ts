import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freshDatabase } from '../../test/helpers.js';
import type { Database } from '../db/database.js';
import { createNote, NOTE_DEFAULTS } from '../notes/notes.store.js';
import { memoryChangeBus } from '../sync/change-bus.js';
import { createUser } from '../users/users.store.js';
import { createWebhook, listDeliveries, type WebhookEvent } from './webhooks.store.js';
import { eventually, startReceiver } from '../../test/webhook-receiver.js';
import { startDeliveryWorker, type DeliveryWorker, type WorkerOptions } from './webhooks.worker.js';

// The worker below the HTTP API, so that retries can run on a millisecond clock: a real database
// file, the real note writes filling the outbox, a real receiver, and workers as the app starts them.

interface Outbox {
  database: Database;
  ownerId: number;
  /** Starts a worker, stopped when the test ends. */
  worker(options?: Partial<WorkerOptions>): DeliveryWorker;
  hook(url: string, events?: WebhookEvent[]): Promise<number>;
  write(title: string): Promise<void>;
}

async function outbox(): Promise<Outbox> {
  const { database } = await freshDatabase();
  const bus = memoryChangeBus();
  const workers: DeliveryWorker[] = [];
  // What the workers log is an error of theirs: none is expected.
  const errors: unknown[] = [];
  const log = { error: (details: object) => errors.push(details) };
  // Workers stop before their databases close.
  onTestFinished(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await database.close();
    expect(errors).toEqual([]);
  });
  const user = await createUser(database.db, {
    username: 'ada',
    email: 'ada@example.com',
    passwordHash: 'x',
  });
  return {
    database,
    ownerId: user.id,
    worker(options = {}) {
      const timing = { baseMs: 20, attempts: 6, pollMs: 10 };
      const worker = startDeliveryWorker(database.db, bus, { allowPrivate: true, timing, log, ...options });
      workers.push(worker);
      return worker;
    },
    async hook(target, events = ['note.created']) {
      return (await createWebhook(database.db, user.id, { url: target, events })).id;
    },
    async write(title) {
      await createNote(database.db, user.id, { ...NOTE_DEFAULTS, title });
      bus.publish(user.id);
    },
  };
}

describe('the delivery worker', () => {
  it('retries a failing receiver with growing gaps until it answers 2xx, and logs each attempt', async () => {
    const box = await outbox();
    const receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
    const hookId = await box.hook(receiver.url);
    box.worker({ timing: { baseMs: 50, attempts: 6, pollMs: 10 } });
    await box.write('retry me');
    const [first, second, third] = await receiver.waitFor(3);
    // attempt n waits base * 4^(n-1): 50 ms, then 200 ms
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(50);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(200);
    expect(third!.at - second!.at).toBeGreaterThan(second!.at - first!.at);
    // One message, retried: the id stays, the timestamp and signature are made per attempt.
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const [delivery] = (await eventually(
      () => listDeliveries(box.database.db, box.ownerId, hookId, 10),
      (log) => log?.[0]?.state === 'succeeded',
    ))!;
    expect(delivery).toMatchObject({ attempts: 3, last_status: 200, last_error: null });
    expect(delivery!.delivered_at).not.toBeNull();
  });

  it('marks a delivery failed after the last attempt and sends no more', async () => {
    const box = await outbox();
    const receiver = await startReceiver(() => 503);
    const hookId = await box.hook(receiver.url);
    box.worker({ timing: { baseMs: 5, attempts: 4, pollMs: 10 } });
    await box.write('never taken');
    const [delivery] = (await eventually(
      () => listDeliveries(box.database.db, box.ownerId, hookId, 10),
      (log) => log?.[0]?.state === 'failed',
    ))!;
    expect(delivery).toMatchObject({
      attempts: 4,
      last_status: 503,
      last_error: 'answered 503',
      delivered_at: null,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests).toHaveLength(4);
  });

  it('logs a refused connection and a receiver that does not answer in time', async () => {
    const box = await outbox();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await box.hook(`http://127.0.0.1:${port}/hook`);
    const silent = await box.hook((await startReceiver(() => 'hang')).url);
    box.worker({ timeoutMs: 100, timing: { baseMs: 60_000, attempts: 6, pollMs: 10 } });
    await box.write('x');
    const read = async () => [
      ...((await listDeliveries(box.database.db, box.ownerId, refused, 1)) ?? []),
      ...((await listDeliveries(box.database.db, box.ownerId, silent, 1)) ?? []),
    ];
    const [unreachable, slow] = await eventually(read, (log) => log.every((d) => d.attempts === 1));
    expect(unreachable).toMatchObject({ state: 'pending', last_status: null });
    expect(unreachable!.last_error).toMatch(/^failed: .*ECONNREFUSED/);
    expect(slow).toMatchObject({ state: 'pending', last_status: null, last_error: 'no answer within 0.1 s' });
  });

  // better-sqlite3 blocks its thread while it waits for a lock, so two connections in one process
  // would stall each other: the workers share one, as two app instances share a PostgreSQL database.
  it('sends every delivery once when two workers share the outbox', async () => {
    const box = await outbox();
    const receiver = await startReceiver();
    await box.hook(receiver.url);
    box.worker({ concurrency: 3 });
    box.worker({ concurrency: 3 });
    for (let i = 0; i < 40; i++) await box.write(`note ${i}`);
    await receiver.waitFor(40);
    await eventually(
      () =>
        box.database.db
          .selectFrom('webhook_deliveries')
          .select('state')
          .where('state', '!=', 'succeeded')
          .execute(),
      (rows) => rows.length === 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });
});
