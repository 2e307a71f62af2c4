import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp } from '../http/schemas.js';
import { WEBHOOK_EVENTS } from './webhooks.store.js';

const Events = Type.Array(StringEnum(WEBHOOK_EVENTS), {
  minItems: 1,
  uniqueItems: true,
  description: 'The events to receive; defaults to all of them',
});

export const Webhook = Type.Object(
  {
    id: Type.Integer({ examples: [1] }),
    url: Type.String({ examples: ['https://example.com/folio-hook'] }),
    events: Events,
    created_at: Timestamp,
  },
  { $id: 'Webhook', title: 'Webhook' },
);
export type Webhook = Static<typeof Webhook>;

export const WebhookInput = Type.Object(
  {
    url: Type.String({
      format: 'uri',
      maxLength: 2000,
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
      'x-error': 'must be an http or https URL',
      description: 'Where to POST the events; private and loopback addresses are refused',
    }),
    events: Type.Optional(Events),
  },
  { additionalProperties: false, title: 'WebhookInput' },
);
export type WebhookInput = Static<typeof WebhookInput>;

export const NewWebhook = Type.Composite(
  [
    Type.Omit(Webhook, []),
    Type.Object({
      secret: Type.String({
        description: 'Verifies the webhook-signature header (Standard Webhooks): shown this once only',
        examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      }),
    }),
  ],
  { title: 'NewWebhook' },
);
export type NewWebhook = Static<typeof NewWebhook>;

export const DELIVERY_STATES = ['pending', 'succeeded', 'failed'] as const;

export const Delivery = Type.Object(
  {
    id: Type.Integer(),
    message_id: Type.String({
      description: 'Sent as webhook-id; the same on every attempt',
      examples: ['msg_2b…'],
    }),
    event: StringEnum(WEBHOOK_EVENTS),
    state: StringEnum(DELIVERY_STATES, {
      description: 'pending until a 2xx answer (succeeded) or the last attempt (failed)',
    }),
    attempts: Type.Integer({ minimum: 0, description: 'Attempts made so far' }),
    last_status: Nullable(
      Type.Integer({ description: 'The HTTP status of the last attempt; null when none came' }),
    ),
    last_error: Nullable(Type.String({ description: 'Why the last attempt failed' })),
    created_at: Timestamp,
    delivered_at: Nullable(Timestamp),
    next_attempt_at: Type.String({
      format: 'date-time',
      description: 'When the next attempt is due (while pending)',
    }),
  },
  { title: 'Delivery' },
);
export type Delivery = Static<typeof Delivery>;

export const DeliveryQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) },
  { additionalProperties: false },
);
