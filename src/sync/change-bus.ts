import { EventEmitter } from 'node:events';

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
