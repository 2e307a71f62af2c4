import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { problems } from '../http/schemas.js';
import type { TokenSigner } from './auth.tokens.js';

export type Scope = 'notes:read' | 'notes:write';

/**
 * What a route asks of its caller: nothing (`public`), any credential (`authenticated`), a scope,
 * or a signed-in person (`account`: managing the account is never delegated to a key).
 */
export type Access = 'public' | 'authenticated' | Scope | 'account';

/** Who is calling, however they proved it. */
export interface Auth {
  userId: number;
  sessionId: number | null;
  scopes: ReadonlySet<Scope>;
  via: 'session';
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null;
  }
  interface FastifyContextConfig {
    /** Defaults to `account`: a route is as closed as it can be unless it says otherwise. */
    access?: Access;
  }
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(['notes:read', 'notes:write']);

/** The caller of a route that requires authentication. */
export function authOf(request: FastifyRequest): Auth {
  if (!request.auth) throw new AppError(401, 'unauthorized', 'Authentication is required');
  return request.auth;
}

async function authenticate(signer: TokenSigner, request: FastifyRequest): Promise<Auth> {
  const header = request.headers.authorization;
  if (!header)
    throw new AppError(401, 'unauthorized', 'Authentication is required: send Authorization: Bearer <token>');
  const [scheme, token] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    throw new AppError(401, 'unauthorized', 'Unsupported Authorization scheme; use Bearer <token>');
  }
  const claims = await signer.verify(token.trim());
  return { userId: claims.userId, sessionId: claims.sessionId, scopes: ALL_SCOPES, via: 'session' };
}

function requires(access: Access, auth: Auth): void {
  if (access === 'public' || access === 'authenticated') return;
  if (access === 'account') {
    if (auth.via !== 'session') throw new AppError(403, 'forbidden', 'An API key cannot manage the account');
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
  schema.security ??= [{ bearerAuth: [] }, { oauth2: [] }];
  schema.response = { ...problems(401, ...(access === 'authenticated' ? [] : [403])), ...schema.response };
}

/** Authenticates every `/api` request before its body is read and checks what the route requires. */
export const authPlugin = fp<{ signer: TokenSigner }>(async (app: FastifyInstance, { signer }) => {
  app.decorateRequest('auth', null);
  app.addHook('onRoute', describeSecurity);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'account';
    if (access === 'public' || request.is404) return;
    request.auth = await authenticate(signer, request);
    requires(access, request.auth);
  });
});
