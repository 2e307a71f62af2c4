import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, validationError } from '../errors.js';

/** How long a first answer is kept for retries. */
export const IDEMPOTENCY_HOURS = 24;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** JSON with sorted keys, so the same body always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Runs a create once per `Idempotency-Key` (per user, for 24 hours): a retry with the same key
 * and body gets the first answer again (with `Idempotent-Replayed: true`); the same key with
 * another body is 409. The create and the stored answer share one transaction, so two
 * concurrent retries cannot both create.
 */
export async function idempotent(
  db: Kysely<DB>,
  ownerId: number,
  request: FastifyRequest,
  reply: FastifyReply,
  create: (trx: Kysely<DB>) => Promise<Answer>,
): Promise<FastifyReply> {
  const header = request.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
  let answer: Answer & { replayed?: boolean };
  if (key === undefined) {
    answer = await create(db);
  } else {
    if (key.length === 0 || key.length > 255) {
      throw validationError([{ field: 'Idempotency-Key', message: 'must have 1 to 255 characters' }]);
    }
    const requestHash = createHash('sha256')
      .update(`${request.url} ${canonical(request.body)}`)
      .digest('base64url');
    const once = () =>
      inTransaction(db, async (trx): Promise<Answer & { replayed?: boolean }> => {
        const cutoff = new Date(Date.now() - IDEMPOTENCY_HOURS * 3_600_000).toISOString();
        const stored = await trx
          .selectFrom('idempotency_keys')
          .selectAll()
          .where('owner_id', '=', ownerId)
          .where('key', '=', key)
          .executeTakeFirst();
        if (stored && stored.created_at >= cutoff) {
          if (stored.request_hash !== requestHash) {
            throw new AppError(
              409,
              'idempotency_key_reused',
              'This Idempotency-Key was used with another request',
            );
          }
          return {
            status: stored.status,
            headers: JSON.parse(stored.headers),
            body: JSON.parse(stored.body),
            replayed: true,
          };
        }
        if (stored)
          await trx
            .deleteFrom('idempotency_keys')
            .where('owner_id', '=', ownerId)
            .where('key', '=', key)
            .execute();
        const fresh = await create(trx);
        await trx
          .insertInto('idempotency_keys')
          .values({
            owner_id: ownerId,
            key,
            request_hash: requestHash,
            status: fresh.status,
            headers: JSON.stringify(fresh.headers),
            body: JSON.stringify(fresh.body),
            created_at: new Date().toISOString(),
          })
          .execute();
        return fresh;
      });
    try {
      answer = await once();
    } catch (error) {
      // PostgreSQL: a concurrent retry stored its answer first (unique key); this transaction was
      // rolled back, so nothing was created twice. Read again: it replays the stored answer.
      if (!isUniqueViolation(error)) throw error;
      answer = await once();
    }
  }
  if (answer.replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** Forgets answers older than 24 hours. */
export async function pruneIdempotencyKeys(db: Kysely<DB>): Promise<void> {
  const cutoff = new Date(Date.now() - IDEMPOTENCY_HOURS * 3_600_000).toISOString();
  await db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).execute();
}
