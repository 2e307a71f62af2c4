import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { isFormBody, markFormBody } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also takes `application/x-www-form-urlencoded` bodies (HTML forms, OAuth2 login). */
    forms?: boolean;
    /** What the route answers when it is not JSON (an event stream), for Accept checks. */
    produces?: string;
  }
}

/** Parses form data into an object whose repeated fields become arrays. */
export function parseForm(text: string): Record<string, string | string[]> {
  // No prototype: a field named __proto__ is an ordinary (and unknown, so rejected) member.
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields[name];
    fields[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

/** JSON, JSON Merge Patch and form data; anything else is 415 before a handler runs. */
export function installContentTypes(app: FastifyInstance): void {
  // Fastify reads text/plain by default; no Folio endpoint takes it.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, markFormBody(parseForm(body as string)));
    },
  );
  app.addHook('preValidation', (request, _reply, done) => {
    if (isFormBody(request.body) && !request.routeOptions.config.forms) {
      return done(
        new AppError(415, 'unsupported_media_type', 'This endpoint takes application/json, not form data'),
      );
    }
    done();
  });
}
