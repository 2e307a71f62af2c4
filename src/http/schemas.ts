import { STATUS_CODES } from 'node:http';
import { Type, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { Problem, PROBLEM_TYPE } from '../errors.js';

/** A string limited to fixed values, as one `enum` (clearer errors and docs than a union of literals). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A value that may also be `null`. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** ISO-8601 date-time as Folio writes it. */
export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-21T10:00:00.000Z'] });

const ProblemRef = Type.Ref(Problem);

interface ProblemResponse {
  description: string;
  content: { [PROBLEM_TYPE]: { schema: typeof ProblemRef } };
}

/** Response entries for the error statuses a route can answer, all problem+json. */
export function problems(...statuses: number[]): Record<number, ProblemResponse> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: STATUS_CODES[status] ?? 'Error', content: { [PROBLEM_TYPE]: { schema: ProblemRef } } },
    ]),
  );
}

/** Adds the errors any route can answer to its documented responses: 500, and 413/415 with a body. */
export function documentCommonErrors(route: RouteOptions): void {
  if (!route.schema) return;
  const schema = route.schema as { body?: unknown; response?: Record<number, unknown> };
  const statuses = schema.body ? [400, 413, 415, 500] : [500];
  schema.response = { ...problems(...statuses), ...schema.response };
}

/** The largest id either database issues: ids are PostgreSQL `integer`s, which a larger one overflows. */
export const MAX_ID = 2_147_483_647;

export const IdParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'The id' }),
});

/** The header that makes a create safe to retry (see http/idempotency.ts). */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Retrying with the same key replays the first answer for 24 hours' }),
  ),
});
