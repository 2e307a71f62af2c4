import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { problems } from '../http/schemas.js';
import { toNote } from '../notes/notes.store.js';
import type { ChangeBus } from './change-bus.js';
import { listChanges, parseCursor, type Change } from './changes.store.js';

export interface EventsOptions {
  db: Kysely<DB>;
  bus: ChangeBus;
  heartbeatMs: number;
  /** The open streams, each with what stops it (shared with whoever counts them). */
  streams?: Map<ServerResponse, () => void>;
}

/** How soon a client told to reconnect by a stopping server should try again (another instance). */
const RECONNECT_MS = 1000;

function write(res: ServerResponse, change: Change): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`event: change\nid: ${change.cursor}\ndata: ${JSON.stringify(change)}\n\n`);
}

/**
 * `/api/events`: the change feed as Server-Sent Events. Every notice from the bus makes the
 * stream read the feed after the last cursor it sent, so a stream never skips a change, and
 * `Last-Event-ID` resumes exactly where a dropped one stopped.
 */
export const eventsRoutes: FastifyPluginAsyncTypebox<EventsOptions> = async (
  app,
  { db, bus, heartbeatMs, streams },
) => {
  const open = streams ?? new Map<ServerResponse, () => void>();
  // Streams never end by themselves: a stopping server ends them, telling each client to
  // reconnect soon (EventSource does so by itself; the event is for clients that read the stream
  // by hand), with Last-Event-ID, to an instance that is still up.
  app.addHook('preClose', async () => {
    for (const [res, stop] of open) {
      stop(); // first: a read of the feed still under way must not write after the end
      res.end(`retry: ${RECONNECT_MS}\nevent: reconnect\ndata: {"reason":"shutting down"}\n\n`);
    }
  });

  app.get(
    '/',
    {
      config: { access: 'notes:read', produces: 'text/event-stream' },
      schema: {
        tags: ['sync'],
        summary: 'Live changes as Server-Sent Events',
        description:
          'Events are `event: change`, `id: <cursor>`, `data: <a change as in /api/sync>`, with `: ping` comments ' +
          'as heartbeat. Reconnect with Last-Event-ID (or ?since=) to receive what was missed. A server that is ' +
          'shutting down ends the stream with `event: reconnect` (and `retry: 1000`): reconnect, to another instance.',
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 20 })) }),
        querystring: Type.Object(
          { since: Type.Optional(Type.String({ maxLength: 20, description: 'Start after this cursor' })) },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'An event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...problems(400, 410),
        },
      },
    },
    async (request, reply) => {
      const ownerId = authOf(request).userId;
      const resumeFrom = request.headers['last-event-id'] ?? request.query.since;
      let cursor: number;
      let backlog: Change[] = [];
      if (resumeFrom === undefined) {
        // A new stream starts now: it carries changes made from here on.
        const now = await db
          .selectFrom('users')
          .select('change_seq')
          .where('id', '=', ownerId)
          .executeTakeFirstOrThrow();
        cursor = now.change_seq;
      } else {
        // Checked before the stream opens, so a stale cursor is still a proper 410.
        cursor = parseCursor(resumeFrom);
        const first = await listChanges(db, ownerId, cursor, 1000, toNote);
        backlog = first.changes;
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // proxies must not buffer the stream
      });
      res.write('retry: 3000\n\n');

      let draining = Promise.resolve();
      let closed = false;
      const drain = () => {
        draining = draining
          .then(async () => {
            for (let more = true; more && !closed;) {
              const page = await listChanges(db, ownerId, cursor, 500, toNote);
              if (closed) return;
              for (const change of page.changes) write(res, change);
              cursor = Number(page.nextCursor);
              more = page.hasMore;
            }
          })
          .catch((error: unknown) => {
            request.log.error({ err: error }, 'event stream failed');
            res.end();
          });
      };
      for (const change of backlog) write(res, change);
      if (backlog.length > 0) cursor = Number(backlog.at(-1)!.cursor);
      const unsubscribe = bus.subscribe(ownerId, drain);
      drain(); // whatever happened between the backlog read and the subscription
      // The heartbeat also reads the feed: a notice that never came (another instance without
      // LISTEN/NOTIFY, a purge by the maintenance job) delays a change by one beat, never loses it.
      const heartbeat = setInterval(() => {
        res.write(': ping\n\n');
        drain();
      }, heartbeatMs);
      const stop = () => {
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(res);
      };
      open.set(res, stop);
      request.raw.on('close', stop);
    },
  );
};
