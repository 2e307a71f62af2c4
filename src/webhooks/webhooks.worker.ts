import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import type { ChangeBus } from '../sync/change-bus.js';
import { sendDelivery } from './webhooks.delivery.js';
import {
  claimDueDeliveries,
  recordAttempt,
  releaseDelivery,
  type ClaimedDelivery,
  type RetryPolicy,
} from './webhooks.store.js';

export interface WorkerTiming extends RetryPolicy {
  /** How often to look for due retries when no change wakes the worker. */
  pollMs: number;
}

/** Six attempts over about 56 minutes: 10 s, 40 s, 160 s, 640 s and 2,560 s apart. */
export const DEFAULT_TIMING: WorkerTiming = { baseMs: 10_000, attempts: 6, pollMs: 1_000 };

export interface WorkerOptions {
  allowPrivate: boolean;
  timing: WorkerTiming;
  /** Where the worker's own failures go (the app's logger). */
  log: { error(details: object, message: string): void };
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** How long a receiver has to answer. */
  timeoutMs?: number;
}

export interface DeliveryWorker {
  /** Looks for due deliveries now. */
  wake(): void;
  /** Stops looking, aborts the sends in flight (handing them back) and waits for them to settle. */
  stop(): Promise<void>;
}

/**
 * Sends due deliveries from the outbox: woken by every change notice (a new delivery is due at
 * once) and by a timer (retries come due with time alone). Each delivery is claimed with a lease
 * first, so several workers, in one process or many, share the outbox without sending twice.
 */
export function startDeliveryWorker(db: Kysely<DB>, bus: ChangeBus, options: WorkerOptions): DeliveryWorker {
  const { allowPrivate, timing, log, concurrency = 8, timeoutMs = 10_000 } = options;
  // Longer than any attempt can take, so a lease only runs out when its worker died.
  const leaseMs = timeoutMs + 60_000;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let pumping: Promise<void> | undefined;
  let again = false;

  async function send(delivery: ClaimedDelivery): Promise<void> {
    const outcome = await sendDelivery(delivery, { allowPrivate, timeoutMs, signal: stopping.signal });
    // Cut short by the stop, the attempt says nothing about the receiver: hand it back instead.
    if (stopping.signal.aborted) await releaseDelivery(db, delivery);
    else await recordAttempt(db, delivery, outcome, timing);
  }

  async function pump(): Promise<void> {
    do {
      again = false;
      const free = concurrency - inFlight.size;
      if (free <= 0) return; // each send that ends wakes the worker again
      const claimed = await claimDueDeliveries(db, free, leaseMs);
      if (stopping.signal.aborted) {
        await Promise.all(claimed.map((delivery) => releaseDelivery(db, delivery)));
        return;
      }
      for (const delivery of claimed) {
        const task: Promise<void> = send(delivery)
          .catch((error: unknown) =>
            log.error({ err: error, delivery: delivery.id }, 'webhook delivery failed'),
          )
          .finally(() => {
            inFlight.delete(task);
            wake();
          });
        inFlight.add(task);
      }
      if (claimed.length === free) again = true; // a full batch: more may be due
    } while (again && !stopping.signal.aborted);
  }

  function wake(): void {
    if (stopping.signal.aborted) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = pump()
      .catch((error: unknown) => log.error({ err: error }, 'webhook worker failed'))
      .finally(() => {
        pumping = undefined;
        // A notice that came after the last loop check.
        if (again) wake();
      });
  }

  const unsubscribe = bus.subscribe(null, wake);
  const timer = setInterval(wake, timing.pollMs);
  wake(); // whatever was left due by the last run

  return {
    wake,
    async stop() {
      stopping.abort();
      clearInterval(timer);
      unsubscribe();
      await pumping;
      await Promise.allSettled([...inFlight]);
    },
  };
}
