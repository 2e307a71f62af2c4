import { EventEmitter } from 'node:events';
import type pg from 'pg';

/**
 * Tells listeners that a user has new changes in the feed; they read the feed to see which.
 * Carrying only "something changed for user N" keeps the message tiny and lets every listener
 * catch up from its own cursor, so nothing is lost between a notice and a read. This one is in
 * process; a deployment of several instances carries the notices over PostgreSQL.
 */
export interface ChangeBus {
  publish(ownerId: number): void;
  /** Calls `listener` on every notice for the owner (null: every owner); returns the unsubscribe. */
  subscribe(ownerId: number | null, listener: (ownerId: number) => void): () => void;
}

export function memoryChangeBus(): ChangeBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0); // one per open event stream
  return {
    publish(ownerId) {
      emitter.emit(`user:${ownerId}`, ownerId);
      emitter.emit('all', ownerId);
    },
    subscribe(ownerId, listener) {
      const name = ownerId === null ? 'all' : `user:${ownerId}`;
      emitter.on(name, listener);
      return () => emitter.off(name, listener);
    },
  };
}

const CHANNEL = 'folio_changes';

/**
 * A bus across instances over PostgreSQL: publish is NOTIFY, and one dedicated connection
 * LISTENs and hands every notice (its own instance's too) to local subscribers. A lost listener
 * connection is replaced; streams that missed notices meanwhile catch up on the next one, as
 * they always read the feed from their own cursor.
 */
export async function postgresChangeBus(
  pool: pg.Pool,
  log: { error(details: object, message: string): void },
): Promise<ChangeBus & { close(): Promise<void> }> {
  const local = memoryChangeBus();
  let listener: pg.PoolClient | undefined;
  let closed = false;
  const connect = async (): Promise<void> => {
    const client = await pool.connect();
    client.on('notification', (message) => {
      const ownerId = Number(message.payload);
      if (Number.isSafeInteger(ownerId)) local.publish(ownerId);
    });
    client.on('error', (error) => {
      log.error({ err: error }, 'change listener lost; reconnecting');
      client.release(error);
      listener = undefined;
      if (!closed) setTimeout(() => void connect().catch(() => undefined), 1000).unref();
    });
    await client.query(`listen ${CHANNEL}`);
    listener = client;
  };
  try {
    await connect();
  } catch (error) {
    // A PostgreSQL-compatible engine without LISTEN (CockroachDB, YugabyteDB): notices stay in
    // this instance, and event streams pick up other instances' writes at their heartbeat.
    log.error({ err: error }, 'LISTEN is not available; change notices stay in this instance');
    return { ...local, close: async () => undefined };
  }
  return {
    publish(ownerId) {
      pool.query('select pg_notify($1, $2)', [CHANNEL, String(ownerId)]).catch((error: unknown) => {
        log.error({ err: error }, 'change notice failed');
      });
    },
    subscribe: local.subscribe,
    async close() {
      closed = true;
      if (listener) {
        await listener.query(`unlisten ${CHANNEL}`).catch(() => undefined);
        listener.release();
        listener = undefined;
      }
    },
  };
}
