import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { getUser } from '../users/users.store.js';
import { exportJson } from './export.format.js';
import { ExportDocument } from './export.schemas.js';

/** `/api/export`: the caller's notes as one JSON download, the format `folio import` reads. */
export const exportRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.get(
    '/',
    {
      config: { access: 'notes:read' },
      schema: {
        tags: ['notes'],
        summary: 'Download all your notes',
        description:
          'Every note not in the trash, oldest first, as an attachment in the folio-export format (version 1), ' +
          'which `folio import` reads. Streamed a page at a time; a failure midway cuts the response short, ' +
          'so a download that does not parse as JSON is incomplete.',
        response: {
          200: {
            description: 'The export document',
            headers: {
              'content-disposition': {
                type: 'string',
                description: 'attachment; filename="folio-export-<username>-<date>.json"',
              },
            },
            content: { 'application/json': { schema: ExportDocument } },
          },
        },
      },
    },
    async (request, reply) => {
      const ownerId = authOf(request).userId;
      const user = await getUser(db, ownerId);
      if (!user) throw new Error(`user ${ownerId} is authenticated but not found`);
      const exportedAt = new Date();
      const name = user.username.replace(/[^A-Za-z0-9._-]/g, '_');
      const day = exportedAt.toISOString().slice(0, 10);
      const owner = { id: user.id, username: user.username, email: user.email };
      const text = Readable.from(exportJson(db, owner, { exportedAt }), { objectMode: false });
      // Fastify pipes a stream as it is (no serializer); an error before the first chunk is still
      // answered as a problem, one after it cuts the response short (fastify's sendStream).
      return reply
        .type('application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="folio-export-${name}-${day}.json"`)
        .header('cache-control', 'no-store')
        .send(text as unknown as ExportDocument);
    },
  );
};
