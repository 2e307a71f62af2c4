import FindMyWay, { type HTTPVersion } from 'find-my-way';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

export interface KnownRoute {
  method: string;
  url: string;
  /** Left out of the OpenAPI document on purpose (docs assets, the document itself). */
  hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every concrete route the server answers, as registered. */
    knownRoutes: readonly KnownRoute[];
    /** The methods a path answers (none for an unknown path). */
    allowedMethods(path: string): string[];
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Answers unknown paths with 404 and known paths with a wrong method with 405 and `Allow`.
 * Fastify routes both to its not-found handler, so a shadow router of every route's path tells
 * which methods a path does have.
 */
export function installNotFound(app: FastifyInstance): void {
  const shadow = FindMyWay<HTTPVersion.V1>({ ignoreTrailingSlash: true });
  const noop = () => undefined;
  const known: KnownRoute[] = [];
  app.decorate('knownRoutes', known);
  const allowedMethods = (path: string) => METHODS.filter((method) => shadow.find(method, path) !== null);
  app.decorate('allowedMethods', allowedMethods);
  app.addHook('onRoute', (route) => {
    // Wildcards (CORS preflight, static files) would make every path look known.
    if (route.url.includes('*')) return;
    for (const method of [route.method].flat()) {
      if (shadow.hasRoute(method as 'GET', route.url)) continue;
      shadow.on(method as 'GET', route.url, noop);
      known.push({
        method,
        url: route.url,
        hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide),
      });
    }
  });
  app.setNotFoundHandler(async (request) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      const allow = allowed.join(', ');
      throw new AppError(
        405,
        'method_not_allowed',
        `${request.method} is not allowed on ${path}; use ${allow}`,
        {
          headers: { Allow: allow },
        },
      );
    }
    throw new AppError(404, 'not_found', `No route matches ${request.method} ${path}`);
  });
}
