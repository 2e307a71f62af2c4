import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import type { SignInGuard } from '../limits/limits.js';
import { accountPages } from './account.pages.js';
import { notesPages } from './notes.pages.js';
import { cookieAuth, type CookieOptions } from './web.session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page anyone may see (sign-in, sign-up); others send a signed-out visitor to /login. */
    publicPage?: boolean;
  }
}

export interface WebOptions {
  db: Kysely<DB>;
  guard: SignInGuard;
  /** Counts a sign-up against the per-address limit (429 past it). */
  signUps: (request: FastifyRequest) => Promise<void>;
  cookies: CookieOptions;
}

const STYLESHEET = readFileSync(new URL('./folio.css', import.meta.url), 'utf8');

/** Sends a page: HTML, never cached by a shared cache. */
export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply
    .code(status)
    .header('Cache-Control', 'private, no-cache')
    .type('text/html; charset=utf-8')
    .send(page);
}

/** Where a signed-out visitor is sent: the sign-in page, and back here afterwards. */
function toLogin(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
}

/** The HTML hat: pages for people over the same store functions as the API. */
export async function webPlugin(app: FastifyInstance, options: WebOptions): Promise<void> {
  app.get(
    '/static/folio.css',
    { config: { publicPage: true }, schema: { hide: true } },
    async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('Cache-Control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    request.auth = await cookieAuth(options.db, request);
    if (!request.auth && !request.routeOptions.config.publicPage) {
      // A program asking for JSON is told it needs a credential; a person is shown the sign-in page.
      if (/application\/(problem\+)?json/.test(request.headers.accept ?? '')) {
        throw new AppError(401, 'unauthorized', 'Sign in, or use /api/notes/{id} with a Bearer token');
      }
      return toLogin(request, reply);
    }
  });
  await app.register(accountPages, options);
  await app.register(notesPages, options);
}
