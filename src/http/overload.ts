import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Overrides what an overloaded server does for this route (`() => undefined`: serve it anyway). */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value?: number) => void;
  }
}

const RETRY_AFTER_SECONDS = 5;

/** What a client is told when the server is too busy: come back shortly, rather than a timeout. */
class Overloaded extends AppError {
  constructor() {
    super(503, 'unavailable', 'The server is overloaded; retry shortly', {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }
}

/**
 * Turns requests away with 503 `unavailable` and `Retry-After` while the event loop lags more
 * than `maxEventLoopDelayMs` on average (sampled each `sampleIntervalMs`): a saturated server
 * answers at once instead of letting every request time out. 0 turns it off.
 */
export async function installOverload(
  app: FastifyInstance,
  maxEventLoopDelayMs: number,
  sampleIntervalMs = 1000,
): Promise<void> {
  if (maxEventLoopDelayMs === 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    sampleInterval: sampleIntervalMs,
    retryAfter: RETRY_AFTER_SECONDS,
    customError: Overloaded,
  });
}
