import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's headers, worked out once. Its values depend only on the options, so they are computed
 * at start-up and set on each answer as they are (@fastify/helmet rebuilt the whole middleware on
 * every request: a third of the cost of a small API answer).
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader() {},
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/**
 * The headers a JSON answer needs (OWASP's REST set): it loads nothing, is never framed or
 * sniffed, leaks no referrer, and keeps HSTS where the pages have it. Helmet's other headers
 * govern documents (prefetching, old IE downloads, Flash policies) and only weigh on each answer.
 */
export function apiSecurityHeaders(pages: Record<string, string>): Record<string, string> {
  const hsts = pages['strict-transport-security'];
  return {
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    ...(hsts !== undefined && { 'strict-transport-security': hsts }),
  };
}

/** Sets the security headers on every answer, errors included: the API's set under /api/, helmet's elsewhere. */
export function installSecurityHeaders(app: FastifyInstance, options: HelmetOptions): void {
  const pages = securityHeaders(options);
  const api = apiSecurityHeaders(pages);
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith('/api/') ? api : pages);
    done();
  });
}
