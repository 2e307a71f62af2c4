import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';

export const WEBHOOK_EVENTS = ['note.created', 'note.updated', 'note.deleted'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * Queues one delivery per webhook of the owner that wants this event (the outbox); call inside
 * the write's transaction. The payload is fixed now, as of the change.
 */
export async function enqueueDeliveries(db: Kysely<DB>, ownerId: number, event: WebhookEvent, data: unknown): Promise<void> {
  const hooks = await db.selectFrom('webhooks').select(['id', 'events']).where('owner_id', '=', ownerId).execute();
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
