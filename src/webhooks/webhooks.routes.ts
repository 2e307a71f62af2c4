import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { authOf } from '../auth/auth.plugin.js';
import type { DB } from '../db/tables.js';
import { AppError, validationError } from '../errors.js';
import { idempotent } from '../http/idempotency.js';
import { IdempotencyHeaders, IdParams, problems } from '../http/schemas.js';
import type { ChangeBus } from '../sync/change-bus.js';
import { hasPrivateLiteralHost } from './webhooks.delivery.js';
import { Delivery, DeliveryQuery, NewWebhook, Webhook, WebhookInput } from './webhooks.schemas.js';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  WEBHOOK_EVENTS,
} from './webhooks.store.js';
import {
  DEFAULT_TIMING,
  startDeliveryWorker,
  type DeliveryWorker,
  type WorkerTiming,
} from './webhooks.worker.js';

export interface WebhooksOptions {
  db: Kysely<DB>;
  bus: ChangeBus;
  /** Whether webhooks may target loopback and private addresses (config.webhooksAllowPrivate). */
  allowPrivate: boolean;
  /** Back-off and polling; the defaults suit production, tests pass milliseconds. */
  retry?: WorkerTiming;
}

function notFound(id: number): AppError {
  return new AppError(404, 'not_found', `Webhook ${id} not found`);
}

/**
 * `/api/webhooks`: a person's webhooks and their delivery logs, plus the worker that delivers.
 * Managing them is account management, so the routes keep the default `account` access: a key gets 403.
 */
export const webhooksPlugin: FastifyPluginAsyncTypebox<WebhooksOptions> = async (app, options) => {
  const { db, bus, allowPrivate, retry = DEFAULT_TIMING } = options;

  let worker: DeliveryWorker | undefined;
  app.addHook('onReady', async () => {
    worker = startDeliveryWorker(db, bus, { allowPrivate, timing: retry, log: app.log });
  });
  app.addHook('onClose', async () => worker?.stop());

  app.get(
    '/',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'List your webhooks (never their secrets)',
        response: { 200: Type.Object({ data: Type.Array(Type.Ref(Webhook)) }) },
      },
    },
    async (request) => ({ data: await listWebhooks(db, authOf(request).userId) }),
  );

  app.post(
    '/',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Register a webhook; the answer holds its signing secret, shown this once',
        description:
          'Events are POSTed as `{type, timestamp, data}` and signed as Standard Webhooks do (`webhook-id`, ' +
          '`webhook-timestamp`, `webhook-signature`). A delivery not answered 2xx is retried with back-off.',
        headers: IdempotencyHeaders,
        body: WebhookInput,
        response: { 201: NewWebhook, ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      const { url, events } = request.body;
      // Checked at delivery too, on every address the name resolves to; refusing the obvious
      // cases here tells the person at once.
      if (!URL.canParse(url))
        throw validationError([{ field: 'url', message: 'must be an http or https URL' }]);
      if (!allowPrivate && hasPrivateLiteralHost(new URL(url))) {
        throw validationError([{ field: 'url', message: 'must not point to a private or loopback address' }]);
      }
      const ownerId = authOf(request).userId;
      return idempotent(db, ownerId, request, reply, async (trx) => {
        const hook = await createWebhook(trx, ownerId, { url, events: events ?? [...WEBHOOK_EVENTS] });
        return {
          status: 201,
          headers: { Location: `/api/webhooks/${hook.id}`, 'Cache-Control': 'no-store' },
          body: hook,
        };
      });
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Remove a webhook; its pending deliveries are dropped',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Removed' }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deleteWebhook(db, authOf(request).userId, request.params.id)))
        throw notFound(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: "A webhook's delivery log, newest first",
        params: IdParams,
        querystring: DeliveryQuery,
        response: { 200: Type.Object({ data: Type.Array(Delivery) }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const deliveries = await listDeliveries(db, authOf(request).userId, id, request.query.limit ?? 20);
      // 404, not 403: another person's webhook must not reveal that it exists.
      if (!deliveries) throw notFound(id);
      return { data: deliveries };
    },
  );
};
