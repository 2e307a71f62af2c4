import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { problems } from '../http/schemas.js';
import { toNote } from '../notes/notes.store.js';
import { listChanges, parseCursor } from './changes.store.js';
import { SyncPage, SyncQuery } from './sync.schemas.js';

/** `/api/sync`: the change feed, for clients that keep an offline copy. */
export const syncRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      config: { access: 'notes:read' },
      schema: {
        tags: ['sync'],
        summary: 'Changes to your notes after a cursor, oldest first',
        description:
          'Each changed note appears once, in full (`upsert`), or as its id when it went to the trash or was ' +
          'purged (`delete`). Keep `next_cursor` and ask again while `has_more`. 410 resync_required: start again without since.',
        querystring: SyncQuery,
        response: { 200: SyncPage, ...problems(400, 410) },
      },
    },
    async (request) => {
      const { since, limit = 100 } = request.query;
      const page = await listChanges(db, authOf(request).userId, parseCursor(since), limit, toNote);
      return { changes: page.changes, next_cursor: page.nextCursor, has_more: page.hasMore };
    },
  );
};
