import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Updateable } from 'kysely';
import { compiledOnce } from '../db/compiled.js';
import type { DB, WebhookDeliveriesTable } from '../db/tables.js';
import type { Delivery, NewWebhook, Webhook } from './webhooks.schemas.js';

export const WEBHOOK_EVENTS = ['note.created', 'note.updated', 'note.deleted'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Standard Webhooks secrets read `whsec_` + base64 of the key, so receivers' libraries take them as is. */
export const SECRET_PREFIX = 'whsec_';

const ownersWebhooks = compiledOnce((db, ownerId: number) =>
  db.selectFrom('webhooks').select(['id', 'events']).where('owner_id', '=', ownerId),
);

/**
 * Queues one delivery per webhook of the owner that wants this event (the outbox); call inside
 * the write's transaction. The payload is fixed now, as of the change.
 */
export async function enqueueDeliveries(
  db: Kysely<DB>,
  ownerId: number,
  event: WebhookEvent,
  data: unknown,
): Promise<void> {
  const hooks = await ownersWebhooks(db, ownerId);
  const wanted = hooks.filter((hook) => (JSON.parse(hook.events) as string[]).includes(event));
  if (wanted.length === 0) return;
  const now = new Date().toISOString();
  await db
    .insertInto('webhook_deliveries')
    .values(
      wanted.map((hook) => {
        const messageId = `msg_${randomUUID().replaceAll('-', '')}`;
        return {
          webhook_id: hook.id,
          message_id: messageId,
          event,
          payload: JSON.stringify({ type: event, timestamp: now, data }),
          state: 'pending' as const,
          next_attempt_at: now,
          created_at: now,
        };
      }),
    )
    .execute();
}

const WEBHOOK_COLUMNS = ['id', 'url', 'events', 'created_at'] as const;

function toWebhook(row: { id: number; url: string; events: string; created_at: string }): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEvent[],
    created_at: row.created_at,
  };
}

/** Registers a webhook; its signing secret is returned now and is shown again never. */
export async function createWebhook(
  db: Kysely<DB>,
  ownerId: number,
  input: { url: string; events: readonly WebhookEvent[] },
): Promise<NewWebhook> {
  // Kept as is, unlike key hashes: signing needs the secret itself.
  const secret = SECRET_PREFIX + randomBytes(24).toString('base64');
  const row = await db
    .insertInto('webhooks')
    .values({
      owner_id: ownerId,
      url: input.url,
      secret,
      events: JSON.stringify(input.events),
      created_at: new Date().toISOString(),
    })
    .returning(WEBHOOK_COLUMNS)
    .executeTakeFirstOrThrow();
  return { ...toWebhook(row), secret };
}

export async function listWebhooks(db: Kysely<DB>, ownerId: number): Promise<Webhook[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(WEBHOOK_COLUMNS)
    .where('owner_id', '=', ownerId)
    .orderBy('id')
    .execute();
  return rows.map(toWebhook);
}

/** Removes a webhook and its delivery log (pending deliveries are dropped); false when not the owner's. */
export async function deleteWebhook(db: Kysely<DB>, ownerId: number, id: number): Promise<boolean> {
  const result = await db
    .deleteFrom('webhooks')
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A webhook's latest deliveries, newest first; undefined when the webhook is not the owner's. */
export async function listDeliveries(
  db: Kysely<DB>,
  ownerId: number,
  webhookId: number,
  limit: number,
): Promise<Delivery[] | undefined> {
  const hook = await db
    .selectFrom('webhooks')
    .select('id')
    .where('id', '=', webhookId)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  if (!hook) return undefined;
  return db
    .selectFrom('webhook_deliveries')
    .select([
      'id',
      'message_id',
      'event',
      'state',
      'attempts',
      'last_status',
      'last_error',
      'created_at',
      'delivered_at',
      'next_attempt_at',
    ])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute() as Promise<Delivery[]>;
}

/** A delivery a worker holds the lease on, with what it needs to send it. */
export interface ClaimedDelivery {
  id: number;
  messageId: string;
  payload: string;
  attempts: number;
  url: string;
  secret: string;
  /** The lease's end as written by the claim: the outcome is recorded only while it still stands. */
  lease: string;
}

const firstDue = compiledOnce((db, now: string) =>
  db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .limit(1),
);

/**
 * Claims up to `limit` due deliveries by pushing their next attempt `leaseMs` ahead. The UPDATE
 * re-checks "pending and due" on every row it changes, so of two workers racing for a row (on
 * PostgreSQL the second waits for the first's row lock, then sees the new time) only one gets
 * it; a worker that dies mid-send leaves the row to be claimed again once the lease runs out.
 */
export async function claimDueDeliveries(
  db: Kysely<DB>,
  limit: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const now = new Date().toISOString();
  // A read first: the worker wakes on every write, and mostly nothing is due; an UPDATE would
  // take the write lock (and cost a commit) each time to find that out.
  if ((await firstDue(db, now)).length === 0) return [];
  const lease = new Date(Date.now() + leaseMs).toISOString();
  const claimed = await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: lease })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(limit),
    )
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .returning(['id', 'webhook_id', 'message_id', 'payload', 'attempts'])
    .execute();
  if (claimed.length === 0) return [];
  const hooks = await db
    .selectFrom('webhooks')
    .select(['id', 'url', 'secret'])
    .where(
      'id',
      'in',
      claimed.map((row) => row.webhook_id),
    )
    .execute();
  const byId = new Map(hooks.map((hook) => [hook.id, hook]));
  return claimed.flatMap((row) => {
    const hook = byId.get(row.webhook_id);
    // Deleted since the claim: its deliveries went with it.
    if (!hook) return [];
    const { id, message_id: messageId, payload, attempts } = row;
    return [{ id, messageId, payload, attempts, url: hook.url, secret: hook.secret, lease }];
  });
}

/** How one attempt went: `error` is null exactly when the receiver answered 2xx. */
export interface AttemptOutcome {
  status: number | null;
  error: string | null;
}

export interface RetryPolicy {
  /** The wait after the first failed attempt; each later wait is four times the one before. */
  baseMs: number;
  /** Attempts in all, the first included; after the last failed one the delivery is `failed`. */
  attempts: number;
}

/** Records an attempt: succeeded, failed for good after the last one, or due again after the back-off. */
export async function recordAttempt(
  db: Kysely<DB>,
  delivery: ClaimedDelivery,
  outcome: AttemptOutcome,
  retry: RetryPolicy,
): Promise<void> {
  const attempts = delivery.attempts + 1;
  const now = Date.now();
  const common = { attempts, last_status: outcome.status, last_error: outcome.error };
  const update =
    outcome.error === null
      ? { ...common, state: 'succeeded' as const, delivered_at: new Date(now).toISOString() }
      : attempts >= retry.attempts
        ? { ...common, state: 'failed' as const }
        : { ...common, next_attempt_at: new Date(now + retry.baseMs * 4 ** (attempts - 1)).toISOString() };
  await updateLeased(db, delivery, update);
}

/** Hands a claimed delivery back undelivered (the worker is stopping), due at once for whoever runs next. */
export async function releaseDelivery(db: Kysely<DB>, delivery: ClaimedDelivery): Promise<void> {
  const update = {
    next_attempt_at: new Date().toISOString(),
    last_error: 'interrupted: the server was stopping',
  };
  await updateLeased(db, delivery, update);
}

/**
 * Only the lease holder writes: a worker whose lease ran out (and whose delivery another worker
 * claimed since) must not overwrite the newer attempt.
 */
async function updateLeased(
  db: Kysely<DB>,
  delivery: ClaimedDelivery,
  update: Updateable<WebhookDeliveriesTable>,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set(update)
    .where('id', '=', delivery.id)
    .where('state', '=', 'pending')
    .where('next_attempt_at', '=', delivery.lease)
    .execute();
}
