import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

export interface CorsOptions {
  /** `*`: any origin; otherwise only these (product.md: `FOLIO_CORS_ORIGINS`). Never with credentials. */
  origins: '*' | readonly string[];
  /** Answer headers a browser script may read. */
  exposedHeaders: readonly string[];
  /** How long a browser may keep a preflight's answer, in seconds. */
  maxAge: number;
}

/** The methods the API has, as a preflight allows them (every route checks its own). */
const METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';

/**
 * CORS for the API scope, without credentials. Each answer gets its headers from a small
 * function called by the scope's own request hook, with the header values worked out once:
 * @fastify/cors rebuilt its options object on every request, which cost as much as a fifth of a
 * small answer (docs/performance.md). Preflights (OPTIONS with Origin and
 * Access-Control-Request-Method) are answered 204 by a wildcard route, before authentication;
 * another OPTIONS gets 204 with `Allow`, and 404 on a path the API does not have.
 *
 * Returns the per-request part, for the scope's request hook.
 */
export function installCors(
  api: FastifyInstance,
  options: CorsOptions,
): (request: FastifyRequest, reply: FastifyReply) => void {
  const exposed = options.exposedHeaders.join(', ');
  const allowed = options.origins === '*' ? undefined : new Set(options.origins);
  // With an origin list the answer depends on Origin, so caches must keep one per origin.
  const fixed: Record<string, string> = allowed
    ? { vary: 'Origin' }
    : { 'access-control-allow-origin': '*', 'access-control-expose-headers': exposed };
  const allowOrigin = (request: FastifyRequest): string | undefined => {
    if (!allowed) return '*';
    const origin = request.headers.origin;
    return origin !== undefined && allowed.has(origin) ? origin : undefined;
  };

  api.options(
    '/*',
    // Browsers send preflights without credentials, and keep the answer for maxAge.
    { config: { access: 'public', rateLimit: false }, schema: { hide: true } },
    async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const methods = api.allowedMethods(path);
      if (methods.length === 0) throw new AppError(404, 'not_found', `No route matches ${path}`);
      // Not a preflight: say which methods the path has.
      if (request.headers.origin === undefined || !request.headers['access-control-request-method']) {
        return reply
          .code(204)
          .header('allow', [...methods, 'OPTIONS'].join(', '))
          .send();
      }
      const origin = allowOrigin(request);
      const requested = request.headers['access-control-request-headers'];
      reply
        .code(204)
        .header(
          'vary',
          allowed ? 'Origin, Access-Control-Request-Headers' : 'Access-Control-Request-Headers',
        );
      if (origin !== undefined) {
        reply.headers({
          'access-control-allow-origin': origin,
          'access-control-allow-methods': METHODS,
          'access-control-max-age': String(options.maxAge),
          ...(requested !== undefined && { 'access-control-allow-headers': requested }),
        });
      }
      return reply.send();
    },
  );

  return (request, reply) => {
    reply.headers(fixed);
    if (allowed) {
      const origin = allowOrigin(request);
      if (origin !== undefined) {
        reply.headers({ 'access-control-allow-origin': origin, 'access-control-expose-headers': exposed });
      }
    }
  };
}
