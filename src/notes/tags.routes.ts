import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { TagList } from './notes.schemas.js';
import { listTags } from './notes.list.store.js';

/** `/api/tags`: the owner's tags with how many notes carry each. */
export const tagsRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      config: { access: 'notes:read' },
      schema: { tags: ['notes'], summary: 'List tags with counts', response: { 200: TagList } },
    },
    async (request) => ({ data: await listTags(db, authOf(request).userId) }),
  );
};
