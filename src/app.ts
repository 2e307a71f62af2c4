import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { authCache } from './auth/auth.cache.js';
import { authPlugin, SECURITY_SCHEMES } from './auth/auth.plugin.js';
import { oidcVerifier } from './auth/oidc.js';
import { sessionsRoutes } from './auth/sessions.routes.js';
import { keysRoutes } from './keys/keys.routes.js';
import { ApiKey } from './keys/keys.schemas.js';
import {
  addressLimiter,
  installRateLimits,
  signInGuard,
  SIGN_UP_LIMIT,
  type SignInGuard,
} from './limits/limits.js';
import { memoryChangeBus, type ChangeBus } from './sync/change-bus.js';
import { webPlugin } from './web/web.plugin.js';
import { errorPage } from './web/web.layout.js';
import { eventsRoutes } from './sync/events.routes.js';
import { syncRoutes } from './sync/sync.routes.js';
import { Change } from './sync/sync.schemas.js';
import { authRoutes } from './auth/auth.routes.js';
import { tokenSigner } from './auth/auth.tokens.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { AppError, errorHandler, Problem } from './errors.js';
import { exportRoutes } from './export/export.routes.js';
import { installCors } from './http/cors.js';
import { installMetrics } from './http/metrics.js';
import { installOverload } from './http/overload.js';
import { installContentTypes } from './http/content-types.js';
import { installNotFound } from './http/not-found.js';
import { OneLinePerRequest, turnBufferedStdout } from './http/request-log.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { sharedSerializers } from './http/serializers.js';
import { documentCommonErrors } from './http/schemas.js';
import { installValidation } from './http/validation.js';
import { Note } from './notes/notes.schemas.js';
import { notesRoutes } from './notes/notes.routes.js';
import { tagsRoutes } from './notes/tags.routes.js';
import { statusRoutes, VERSION } from './status/status.routes.js';
import { User } from './users/users.schemas.js';
import { meRoutes } from './users/users.routes.js';
import { webhooksPlugin } from './webhooks/webhooks.routes.js';
import { Webhook } from './webhooks/webhooks.schemas.js';

/** Accept values that allow JSON, as clients send them (checked before the full rule). */
const COMMON_ACCEPTS = new Set(['*/*', 'application/json', 'application/json, text/plain, */*']);
const ACCEPTS_JSON =
  /(^|,)\s*(\*\/\*|application\/\*|application\/json|application\/problem\+json)\s*(;|,|$)/i;

/** A request id a client or proxy sent that is safe to log and echo: short, visible ASCII. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The client's `X-Request-Id` when usable, else a fresh UUID: one id follows a request end to end. */
function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this process, when FOLIO_METRICS or FOLIO_METRICS_PORT is set. */
    metrics: Registry | undefined;
  }
}

export interface AppOptions {
  config: Config & { secret: string };
  database: Database;
  /** Where log lines go (standard output when not given). */
  logStream?: NodeJS.WritableStream;
  /** How change notices travel (in process when not given). */
  bus?: ChangeBus;
  /** Shared rate-limit counters (per process when not given). */
  redis?: Redis;
}

/** Builds the Folio server: plugins, the one error handler, and the list of every feature's routes. */
export async function buildApp({
  config,
  database,
  logStream,
  bus = memoryChangeBus(),
  redis,
}: AppOptions): Promise<FastifyInstance> {
  const onError = errorHandler(config.env, errorPage);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      // Standard output, one write per turn of the event loop: a log line costs a microsecond.
      stream: logStream ?? turnBufferedStdout(),
    },
    logController: new OneLinePerRequest({ requestIdLogLabel: 'request_id' }),
    genReqId: requestId,
    bodyLimit: config.bodyLimit,
    // While shutting down, a request that arrives on a connection already open is served (and
    // the connection then closed), not refused: a request accepted is a request answered.
    return503OnClosing: false,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true },
    // A path the router cannot decode (`/api/notes/%zz`) is bad input like any other.
    frameworkErrors: (error, request, reply) => onError(error, request, reply),
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Echoed on every answer, so a client can quote it and an operator find the log line.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await installOverload(app, config.maxEventLoopDelayMs);
  const streams = new Map<ServerResponse, () => void>();
  const metrics =
    config.metrics || config.metricsPort !== undefined
      ? installMetrics(app, { database, sseClients: () => streams.size })
      : undefined;
  app.decorate('metrics', metrics);

  installValidation(app);
  installContentTypes(app);
  installNotFound(app);
  app.setErrorHandler(onError);
  app.addHook('onRoute', documentCommonErrors);
  for (const schema of [Problem, Note, User, ApiKey, Change, Webhook]) app.addSchema(schema);

  installSecurityHeaders(app, {
    // HSTS only where the operator has promised HTTPS.
    hsts: config.env === 'production',
    contentSecurityPolicy: {
      directives: {
        'frame-ancestors': ["'none'"],
        // Only where HTTPS is promised: a LAN install on plain HTTP must keep its forms working.
        'upgrade-insecure-requests': config.env === 'production' ? [] : null,
      },
    },
  });

  // Signed cookies: the pages' session and CSRF token (and the event stream of a signed-in page).
  await app.register(cookie, { secret: config.secret });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Folio',
        version: VERSION,
        description: 'An API-first, self-hostable notes service. Errors are RFC 9457 problem details.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { persistAuthorization: true },
  });

  // Counts failed sign-ins for the API and the pages alike (made in the /api scope, used in both).
  let guard: SignInGuard | undefined;
  let signUps: ((request: FastifyRequest) => Promise<void>) | undefined;
  await app.register(
    async (api) => {
      await installRateLimits(api, config.rateLimit, redis);
      const cors = installCors(api, {
        origins: config.corsOrigins,
        exposedHeaders: [
          'Location',
          'Link',
          'ETag',
          'Retry-After',
          'WWW-Authenticate',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'X-Request-Id',
        ],
        maxAge: 600,
      });
      // CORS headers; then /api speaks JSON: a client whose Accept rules JSON out is told so rather
      // than sent it. (One hook for both, before authentication, so
      // a 401 is readable by a browser too.)
      api.addHook('onRequest', (request, reply, done) => {
        cors(request, reply);
        const accept = request.headers.accept;
        if (
          !accept ||
          COMMON_ACCEPTS.has(accept) ||
          request.routeOptions.config.produces === 'text/event-stream' ||
          ACCEPTS_JSON.test(accept)
        ) {
          return done();
        }
        done(
          new AppError(
            406,
            'not_acceptable',
            'This API answers application/json; send Accept: application/json',
          ),
        );
      });
      const { db } = database;
      const signer = tokenSigner(config.secret);
      guard = signInGuard(api);
      signUps = addressLimiter(api, SIGN_UP_LIMIT);
      const oidc = config.oidc && oidcVerifier(config.oidc.issuer, config.oidc.audience);
      const cache = authCache(database.dataVersion);
      await api.register(authPlugin, { db, signer, oidc, guard, cache });
      await api.register(statusRoutes, { prefix: '/status', database });
      await api.register(authRoutes, { prefix: '/auth', db, signer, guard, signup: config.signup });
      await api.register(meRoutes, { prefix: '/me', db, guard });
      await api.register(sessionsRoutes, { prefix: '/me/sessions', db });
      await api.register(keysRoutes, { prefix: '/keys', db });
      await api.register(notesRoutes, { prefix: '/notes', db, bus });
      await api.register(syncRoutes, { prefix: '/sync', db });
      await api.register(eventsRoutes, {
        prefix: '/events',
        db,
        bus,
        heartbeatMs: config.sseHeartbeatSeconds * 1000,
        streams,
      });
      await api.register(webhooksPlugin, {
        prefix: '/webhooks',
        db,
        bus,
        allowPrivate: config.webhooksAllowPrivate,
      });
      await api.register(tagsRoutes, { prefix: '/tags', db });
      await api.register(exportRoutes, { prefix: '/export', db });
      api.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
        app.swagger(),
      );
    },
    { prefix: '/api' },
  );

  if (metrics && config.metrics) {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.contentType).send(await metrics.metrics()),
    );
  }

  await app.register(webPlugin, {
    db: database.db,
    guard: guard!,
    signUps: signUps!,
    cookies: { secure: config.env !== 'development' },
  });
  return app;
}
