import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';
import type { Scope } from '../keys/keys.schemas.js';
import { authenticate, type Auth, type Credentials } from './auth.credentials.js';

export type { Auth };

/**
 * What a route asks of its caller: nothing (`public`), any credential (`authenticated`), a scope,
 * or a person (`account`: keys never manage keys, sessions or the account).
 */
export type Access = 'public' | 'authenticated' | Scope | 'account';

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
  interface FastifyContextConfig {
    /** Defaults to `account`: a route is as closed as it can be unless it says otherwise. */
    access?: Access;
  }
}

/** Every way to authenticate, as the OpenAPI document lists them (so /docs can authorize). */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'An access token (JWT) or an API key (folio_…)',
  },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
  basicAuth: { type: 'http', scheme: 'basic', description: 'username:password or username:<API key>' },
  oauth2: {
    type: 'oauth2',
    flows: { password: { tokenUrl: '/api/auth/login', refreshUrl: '/api/auth/refresh', scopes: {} } },
  },
} as const;

/** The caller of a route that requires authentication. */
export function authOf(request: FastifyRequest): Auth {
  if (!request.auth) throw new AppError(401, 'unauthorized', 'Authentication is required');
  return request.auth;
}

function requires(access: Access, auth: Auth): void {
  if (access === 'public' || access === 'authenticated') return;
  if (access === 'account') {
    if (auth.via === 'key')
      throw new AppError(403, 'forbidden', 'An API key cannot manage keys, sessions or the account');
    return;
  }
  // notes:write includes reading.
  if (auth.scopes.has(access) || (access === 'notes:read' && auth.scopes.has('notes:write'))) return;
  throw new AppError(403, 'insufficient_scope', `This request needs the ${access} scope`);
}

/** Documents each route's security and its 401/403 answers in the OpenAPI document. */
function describeSecurity(route: RouteOptions): void {
  const access = route.config?.access ?? 'account';
  if (access === 'public') return;
  const schema = (route.schema ??= {}) as { security?: unknown; response?: Record<number, unknown> };
  schema.security ??= Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));
  schema.response = { ...problems(401, ...(access === 'authenticated' ? [] : [403])), ...schema.response };
}

/** Authenticates every `/api` request before its body is read and checks what the route requires. */
export const authPlugin = fp<Credentials>(async (app: FastifyInstance, credentials) => {
  app.decorateRequest('auth', null);
  app.addHook('onRoute', describeSecurity);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'account';
    if (access === 'public' || request.is404) return;
    request.auth = await authenticate(credentials, request);
    requires(access, request.auth);
  });
});
