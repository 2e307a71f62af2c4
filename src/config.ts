import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where Folio keeps files of its own (the SQLite default and the generated secret). */
export const DATA_DIR = './data';

export type Environment = 'development' | 'staging' | 'production';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly env: Environment;
  /** Signs access tokens; resolved by {@link ensureSecret} when not given. */
  readonly secret: string | undefined;
  readonly signup: 'open' | 'closed';
  /** `'*'` or the exact origins allowed to call `/api`. */
  readonly corsOrigins: '*' | readonly string[];
  readonly bodyLimit: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly trustProxy: boolean;
  /** PostgreSQL connections per process. */
  readonly dbPoolSize: number;
  /** Redis for rate-limit counters shared by every instance (memory per process when unset). */
  readonly redisUrl: string | undefined;
  /** API requests per minute per credential; 0 turns the limit off. */
  readonly rateLimit: number;
  /** How long notes stay in the trash before they are purged. */
  readonly trashDays: number;
  /** How long the change feed keeps deletions; an older cursor must resync. */
  readonly syncRetentionDays: number;
  /** Seconds between heartbeats on an event stream. */
  readonly sseHeartbeatSeconds: number;
  /** Whether webhooks may target loopback and private addresses (off: no SSRF into the network). */
  readonly webhooksAllowPrivate: boolean;
  /** An external identity provider whose bearer JWTs are accepted (both set, or neither). */
  readonly oidc: { readonly issuer: string; readonly audience: string } | undefined;
  /** Whether the main port serves Prometheus metrics at `/metrics`. */
  readonly metrics: boolean;
  /** A separate port that serves only `/metrics` (on {@link host}); unset: none. */
  readonly metricsPort: number | undefined;
  /** How long a graceful shutdown may take before the remaining connections are cut. */
  readonly shutdownTimeoutSeconds: number;
  /** Mean event-loop delay beyond which requests are turned away with 503; 0 never. */
  readonly maxEventLoopDelayMs: number;
  /** SQLite's `synchronous`: `normal` survives a killed process, `full` also a power cut. */
  readonly sqliteSynchronous: 'normal' | 'full';
}

/** A configuration value that cannot be used; its message names the variable. */
export class ConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function pick<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function databaseUrl(env: Env): string {
  const raw = env.FOLIO_DATABASE_URL || `sqlite:${DATA_DIR}/folio.db`;
  if (/^sqlite:.+/.test(raw) || /^postgres(ql)?:\/\/.+/.test(raw)) return raw;
  throw new ConfigError(`FOLIO_DATABASE_URL must be sqlite:<path> or postgres://… (got "${raw}")`);
}

function corsOrigins(env: Env): Config['corsOrigins'] {
  const raw = (env.FOLIO_CORS_ORIGINS ?? '*').trim();
  if (raw === '' || raw === '*') return '*';
  const origins = raw.split(',').map((origin) => origin.trim());
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        `FOLIO_CORS_ORIGINS must be * or comma-separated origins like https://app.example.com (got "${origin}")`,
      );
    }
  }
  return Object.freeze(origins);
}

function redisUrl(env: Env): string | undefined {
  const raw = env.FOLIO_REDIS_URL || undefined;
  if (raw !== undefined && !/^rediss?:\/\/.+/.test(raw)) {
    throw new ConfigError(`FOLIO_REDIS_URL must be redis://… or rediss://… (got "${raw}")`);
  }
  return raw;
}

function oidc(env: Env): Config['oidc'] {
  const issuer = env.FOLIO_OIDC_ISSUER || undefined;
  const audience = env.FOLIO_OIDC_AUDIENCE || undefined;
  if (issuer === undefined && audience === undefined) return undefined;
  if (issuer === undefined)
    throw new ConfigError('FOLIO_OIDC_ISSUER is required when FOLIO_OIDC_AUDIENCE is set');
  if (audience === undefined)
    throw new ConfigError('FOLIO_OIDC_AUDIENCE is required when FOLIO_OIDC_ISSUER is set');
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    throw new ConfigError(
      `FOLIO_OIDC_ISSUER must be the issuer's URL, like https://example.auth0.com/ (got "${issuer}")`,
    );
  }
  return Object.freeze({ issuer, audience });
}

/** Reads and validates every `FOLIO_*` variable once; the only reader of the environment. */
export function loadConfig(env: Env = process.env): Config {
  const appEnv = pick(env, 'FOLIO_ENV', ['development', 'staging', 'production'] as const, 'development');
  const secret = env.FOLIO_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('FOLIO_SECRET must be at least 32 characters long');
  }
  if (appEnv === 'production' && secret === undefined) {
    throw new ConfigError('FOLIO_SECRET is required when FOLIO_ENV=production');
  }
  const host = env.FOLIO_HOST || '127.0.0.1';
  return Object.freeze({
    port: integer(env, 'FOLIO_PORT', 8080, 0, 65535),
    host,
    databaseUrl: databaseUrl(env),
    env: appEnv,
    secret,
    signup: pick(env, 'FOLIO_SIGNUP', ['open', 'closed'] as const, 'open'),
    corsOrigins: corsOrigins(env),
    bodyLimit: integer(env, 'FOLIO_BODY_LIMIT', 1_048_576, 1024, 1_073_741_824),
    logLevel: pick(
      env,
      'FOLIO_LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    trustProxy: pick(env, 'FOLIO_TRUST_PROXY', ['true', 'false'] as const, 'false') === 'true',
    rateLimit: integer(env, 'FOLIO_RATE_LIMIT', 1200, 0, 1_000_000_000),
    dbPoolSize: integer(env, 'FOLIO_DB_POOL_SIZE', 10, 1, 1000),
    redisUrl: redisUrl(env),
    oidc: oidc(env),
    trashDays: integer(env, 'FOLIO_TRASH_DAYS', 30, 1, 3650),
    syncRetentionDays: integer(env, 'FOLIO_SYNC_RETENTION_DAYS', 90, 1, 3650),
    sseHeartbeatSeconds: integer(env, 'FOLIO_SSE_HEARTBEAT_SECONDS', 20, 1, 300),
    webhooksAllowPrivate:
      pick(env, 'FOLIO_WEBHOOKS_ALLOW_PRIVATE', ['true', 'false'] as const, 'false') === 'true',
    metrics: pick(env, 'FOLIO_METRICS', ['true', 'false'] as const, 'false') === 'true',
    metricsPort: env.FOLIO_METRICS_PORT ? integer(env, 'FOLIO_METRICS_PORT', 0, 1, 65535) : undefined,
    shutdownTimeoutSeconds: integer(env, 'FOLIO_SHUTDOWN_TIMEOUT', 10, 1, 3600),
    maxEventLoopDelayMs: integer(env, 'FOLIO_MAX_EVENT_LOOP_DELAY_MS', 1000, 0, 60_000),
    sqliteSynchronous: pick(env, 'FOLIO_SQLITE_SYNCHRONOUS', ['normal', 'full'] as const, 'normal'),
  });
}

/**
 * Returns the config with a secret: the given one, or outside production one generated once
 * into the data folder, so tokens stay valid across restarts of a development install.
 */
export function ensureSecret(config: Config, dataDir: string = DATA_DIR): Config & { secret: string } {
  if (config.secret !== undefined) return config as Config & { secret: string };
  const file = path.join(dataDir, 'secret');
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    secret = randomBytes(32).toString('base64url');
    try {
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process starting at the same moment wrote it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      secret = readFileSync(file, 'utf8').trim();
    }
  }
  return Object.freeze({ ...config, secret });
}
