import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { ConfigError, ensureSecret, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/folio.db',
      env: 'development',
      secret: undefined,
      signup: 'open',
      corsOrigins: '*',
      bodyLimit: 1_048_576,
      logLevel: 'info',
      trustProxy: false,
      rateLimit: 1200,
      dbPoolSize: 10,
      redisUrl: undefined,
      oidc: undefined,
      trashDays: 30,
      syncRetentionDays: 90,
      sseHeartbeatSeconds: 20,
      webhooksAllowPrivate: false,
      metrics: false,
      metricsPort: undefined,
      shutdownTimeoutSeconds: 10,
      maxEventLoopDelayMs: 1000,
      sqliteSynchronous: 'normal',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      FOLIO_PORT: '9000',
      FOLIO_HOST: '0.0.0.0',
      FOLIO_DATABASE_URL: 'sqlite:/var/lib/folio/folio.db',
      FOLIO_ENV: 'production',
      FOLIO_SECRET: 's'.repeat(40),
      FOLIO_SIGNUP: 'closed',
      FOLIO_CORS_ORIGINS: 'https://a.example.com, https://b.example.com:8443',
      FOLIO_BODY_LIMIT: '2048',
      FOLIO_LOG_LEVEL: 'warn',
      FOLIO_TRUST_PROXY: 'true',
      FOLIO_RATE_LIMIT: '0',
      FOLIO_OIDC_ISSUER: 'https://example.auth0.com/',
      FOLIO_OIDC_AUDIENCE: 'https://folio.example.com',
      FOLIO_METRICS: 'true',
      FOLIO_METRICS_PORT: '9464',
      FOLIO_SHUTDOWN_TIMEOUT: '30',
      FOLIO_MAX_EVENT_LOOP_DELAY_MS: '0',
      FOLIO_SQLITE_SYNCHRONOUS: 'full',
    });
    expect(config).toMatchObject({
      metrics: true,
      metricsPort: 9464,
      shutdownTimeoutSeconds: 30,
      maxEventLoopDelayMs: 0,
      sqliteSynchronous: 'full',
      port: 9000,
      host: '0.0.0.0',
      env: 'production',
      signup: 'closed',
      corsOrigins: ['https://a.example.com', 'https://b.example.com:8443'],
      bodyLimit: 2048,
      logLevel: 'warn',
      trustProxy: true,
      rateLimit: 0,
      oidc: { issuer: 'https://example.auth0.com/', audience: 'https://folio.example.com' },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['FOLIO_PORT', 'eighty'],
    ['FOLIO_PORT', '70000'],
    ['FOLIO_ENV', 'prod'],
    ['FOLIO_SIGNUP', 'maybe'],
    ['FOLIO_BODY_LIMIT', '-1'],
    ['FOLIO_DATABASE_URL', 'mysql://x'],
    ['FOLIO_CORS_ORIGINS', 'example.com'],
    ['FOLIO_SECRET', 'short'],
    ['FOLIO_LOG_LEVEL', 'loud'],
    ['FOLIO_RATE_LIMIT', 'lots'],
    ['FOLIO_REDIS_URL', 'localhost:6379'],
    ['FOLIO_DB_POOL_SIZE', '0'],
    ['FOLIO_OIDC_ISSUER', 'not a url'],
    ['FOLIO_OIDC_AUDIENCE', 'folio'],
    ['FOLIO_METRICS', 'yes'],
    ['FOLIO_METRICS_PORT', '0'],
    ['FOLIO_SHUTDOWN_TIMEOUT', '0'],
    ['FOLIO_MAX_EVENT_LOOP_DELAY_MS', '-5'],
    ['FOLIO_SQLITE_SYNCHRONOUS', 'off'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('refuses production without FOLIO_SECRET', () => {
    expect(() => loadConfig({ FOLIO_ENV: 'production' })).toThrow(/FOLIO_SECRET/);
  });
});

describe('ensureSecret', () => {
  it('generates a secret once into the data folder and reuses it', () => {
    const dir = path.join(tempDir(), 'data');
    const first = ensureSecret(loadConfig({}), dir);
    const second = ensureSecret(loadConfig({}), dir);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(second.secret).toBe(first.secret);
    expect(readFileSync(path.join(dir, 'secret'), 'utf8').trim()).toBe(first.secret);
    expect(statSync(path.join(dir, 'secret')).mode & 0o777).toBe(0o600);
  });

  it('keeps a given secret', () => {
    const config = loadConfig({ FOLIO_SECRET: 'g'.repeat(32) });
    expect(ensureSecret(config, path.join(tempDir(), 'data')).secret).toBe('g'.repeat(32));
  });
});
