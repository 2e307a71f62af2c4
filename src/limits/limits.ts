import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

// Rate limits (product.md, "Rate limits"): counters live in @fastify/rate-limit's store, in
// memory per process; its `redis` option shares them across instances.

/** Failed sign-ins allowed per username and client address before 429. */
export const SIGN_IN_FAILURES = { max: 10, windowMs: 15 * 60_000 };
export const SIGN_UP_LIMIT = { max: 20, timeWindow: 60 * 60_000 };
export const REFRESH_LIMIT = { max: 60, timeWindow: 60_000 };

declare module 'fastify' {
  interface FastifyRequest {
    /** The account a sign-in attempt is for: half of the failure counter's key. */
    signInName: string;
  }
}

function tooMany(seconds: number, limit: number): AppError {
  return new AppError(429, 'rate_limited', `Too many requests; retry in ${seconds} seconds`, {
    headers: {
      'Retry-After': String(seconds),
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': String(seconds),
    },
  });
}

/** Who a request counts against: its API key, else its user, else its client address. */
function credentialKey(request: FastifyRequest): string {
  const auth = request.auth;
  if (!auth) return `ip:${request.ip}`;
  return auth.keyId !== null ? `key:${auth.keyId}` : `user:${auth.userId}`;
}

/** A Redis client fit for rate limiting: fail fast rather than queue requests while Redis is away. */
export async function rateLimitRedis(url: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  return new Redis(url, {
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
}

/**
 * Installs the API's limits in an encapsulated `/api` scope: `perMinute` requests per credential
 * (0: off), checked after authentication; routes add their own with `config.rateLimit`.
 */
export async function installRateLimits(
  api: FastifyInstance,
  perMinute: number,
  redis?: Redis,
): Promise<void> {
  await api.register(rateLimit, {
    // With Redis every instance counts against the same numbers; without, each process its own.
    ...(redis && { redis, nameSpace: 'folio-rate-limit:' }),
    global: perMinute > 0,
    max: perMinute,
    timeWindow: 60_000,
    // After authentication (onRequest) and before the body is read, so requests that fail
    // parsing or validation count too.
    hook: 'preParsing',
    keyGenerator: credentialKey,
    enableDraftSpec: true, // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'rate_limited', `Too many requests; retry in ${context.after}`),
  });
  api.decorateRequest('signInName', '');
}

/** Per-route limit by client address, counted before anything else runs (sign-up, refresh). */
export function perAddress(limit: { max: number; timeWindow: number }) {
  return {
    ...limit,
    hook: 'onRequest' as const,
    keyGenerator: (request: FastifyRequest) => `ip:${request.ip}`,
  };
}

/** Whom a sign-in is for: the account when the name or email is known, else the name as typed. */
export type SignInTarget = { id: number } | string;

export interface SignInGuard {
  /** Throws 429 once sign-ins for this account have failed too often from this address. */
  check(request: FastifyRequest, target: SignInTarget): Promise<void>;
  /** Counts a failed sign-in. */
  fail(request: FastifyRequest, target: SignInTarget): Promise<void>;
}

// Keyed by account, so guessing through the email after locking out the username gains nothing.
function targetKey(target: SignInTarget): string {
  return typeof target === 'string' ? `name:${target.toLowerCase()}` : `user:${target.id}`;
}

/** Counts only failed sign-ins (form, JSON or HTTP Basic), so a person who types right is never slowed. */
export function signInGuard(api: FastifyInstance): SignInGuard {
  const counter = api.createRateLimit({
    max: SIGN_IN_FAILURES.max,
    timeWindow: SIGN_IN_FAILURES.windowMs,
    keyGenerator: (request) => `sign-in:${request.ip}:${request.signInName}`,
  });
  return {
    async check(request, target) {
      request.signInName = targetKey(target);
      const state = await counter(request, { increment: false });
      if (!state.isAllowed && state.remaining <= 0)
        throw tooMany(Math.max(1, state.ttlInSeconds), SIGN_IN_FAILURES.max);
    },
    async fail(request, target) {
      request.signInName = targetKey(target);
      await counter(request);
    },
  };
}

/** Counts a request against a per-address limit and throws 429 past it (for pages, which have no route config). */
export function addressLimiter(api: FastifyInstance, limit: { max: number; timeWindow: number }) {
  const counter = api.createRateLimit({ ...limit, keyGenerator: (request) => `ip:${request.ip}` });
  return async (request: FastifyRequest): Promise<void> => {
    const state = await counter(request);
    if (!state.isAllowed && state.isExceeded) throw tooMany(Math.max(1, state.ttlInSeconds), limit.max);
  };
}
