import { STATUS_CODES } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Environment } from './config.js';

/** The stable, machine-readable error codes of the contract (product.md, "Precise rules"). */
export type ErrorCode =
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'invalid_token'
  | 'token_expired'
  | 'forbidden'
  | 'insufficient_scope'
  | 'csrf_failed'
  | 'not_found'
  | 'in_trash'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'username_taken'
  | 'email_taken'
  | 'idempotency_key_reused'
  | 'resync_required'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'rate_limited'
  | 'internal_error'
  | 'unavailable';

export const FieldError = Type.Object({
  field: Type.String({
    description: 'The member at fault: a body member, query parameter or path parameter',
  }),
  message: Type.String(),
});
export type FieldError = Static<typeof FieldError>;

/** RFC 9457 problem details, as every error under `/api` is answered. */
export const Problem = Type.Object(
  {
    type: Type.String({ examples: ['about:blank'] }),
    title: Type.String({ examples: ['Not Found'] }),
    status: Type.Integer({ examples: [404] }),
    detail: Type.String({ examples: ['Note 99 not found'] }),
    code: Type.String({ examples: ['not_found'] }),
    errors: Type.Optional(Type.Array(FieldError)),
  },
  { $id: 'Problem', title: 'Problem', additionalProperties: true },
);
export type Problem = Static<typeof Problem>;

export const PROBLEM_TYPE = 'application/problem+json';
const CHALLENGE = 'Bearer realm="folio"';

/** An error meant for the client: thrown anywhere, formatted once by {@link errorHandler}. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      body?: Record<string, unknown>;
    } = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export function validationError(errors: FieldError[]): AppError {
  const detail =
    errors.length === 1
      ? `${errors[0]!.field} ${errors[0]!.message}`
      : `${errors.length} fields are invalid: ${errors.map((e) => e.field).join(', ')}`;
  return new AppError(400, 'validation_failed', detail, { errors });
}

export function problem(status: number, code: string, detail: string, errors?: FieldError[]): Problem {
  const body: Problem = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  if (errors) body.errors = errors;
  return body;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: Record<string, unknown>;
}

/** Members a client sees in responses but may never send: rejected with a clearer word. */
const READ_ONLY = new Set(['id', 'version', 'created_at', 'updated_at', 'owner', 'owner_id', 'user_id']);

const PART_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/** Turns Ajv errors into one entry per field, named as the client wrote it (`title`, `tags[2]`). */
export function fieldErrors(errors: readonly AjvError[], part: string | undefined): FieldError[] {
  const byField = new Map<string, string>();
  // A value that fails inside one branch of a union (`tags: Nullable(Tags)`) also fails the other
  // branches' type checks ("must be null") and the union itself: about a member whose contents
  // are what is wrong, those say nothing true.
  const containers = new Set<string>();
  for (const error of errors) {
    const segments = error.instancePath.split('/');
    for (let i = 1; i < segments.length; i++) containers.add(segments.slice(0, i).join('/'));
  }
  for (const error of errors) {
    if (['type', 'anyOf', 'oneOf'].includes(error.keyword) && containers.has(error.instancePath)) continue;
    let field = error.instancePath
      .split('/')
      .slice(1)
      .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce(
        (name, segment) =>
          /^\d+$/.test(segment) ? `${name}[${segment}]` : name ? `${name}.${segment}` : segment,
        '',
      );
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      field = field
        ? `${field}.${String(error.params.missingProperty)}`
        : String(error.params.missingProperty);
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      const member = String(error.params.additionalProperty);
      field = field ? `${field}.${member}` : member;
      message = part === 'body' ? 'is not a known member' : 'is not a known parameter';
    } else if (error.keyword === 'pattern' && typeof error.parentSchema?.['x-error'] === 'string') {
      message = error.parentSchema['x-error'];
    } else if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      message = 'is invalid';
    }
    if (error.keyword === 'additionalProperties' && part === 'body' && READ_ONLY.has(field)) {
      message = 'is set by the server and cannot be written';
    }
    if (field === '') field = PART_NAMES[part ?? 'body'] ?? 'body';
    // The first error for a field is the most specific one; later ones repeat it.
    if (!byField.has(field)) byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

/** Maps an error Fastify or a plugin raised to the contract's status and code. */
function fromFastifyError(
  error: FastifyError & { validation?: AjvError[]; validationContext?: string },
): AppError | undefined {
  if (error.validation) return validationError(fieldErrors(error.validation, error.validationContext));
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError(
        400,
        'invalid_json',
        error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'The request body is empty; a JSON document is required'
          : `The request body is not valid JSON: ${error.message}`,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', 'The request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(
        415,
        'unsupported_media_type',
        'This content type is not accepted here; send application/json',
      );
    case 'FST_ERR_BAD_URL':
      return validationError([{ field: 'path', message: 'is not valid percent-encoded text' }]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // No id or name of Folio's is that long: the same answer as any other malformed parameter.
      return validationError([{ field: 'path', message: 'has a parameter longer than 100 characters' }]);
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError(415, 'unsupported_media_type', 'The Content-Type header is not valid');
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON|prototype/i.test(error.message))) {
    return new AppError(400, 'invalid_json', `The request body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode === 429) {
    return new AppError(429, 'rate_limited', error.message || 'Too many requests');
  }
  return fromHttpError(error);
}

/** The contract's code for each client error that a library may raise as an http-errors error. */
const HTTP_ERROR_CODES: Record<number, ErrorCode> = {
  403: 'forbidden',
  404: 'not_found',
  412: 'precondition_failed',
  416: 'range_not_satisfiable',
};

/**
 * The client errors of http-errors (the docs' static files, served by @fastify/send), which mark
 * them `expose`: a NUL or bad escape in the path (400), a path out of its folder (403),
 * If-Match or If-Unmodified-Since (412), a Range past the end (416). Not a 500.
 */
function fromHttpError(error: {
  statusCode?: number;
  expose?: unknown;
  headers?: unknown;
}): AppError | undefined {
  const status = error.statusCode ?? 0;
  if (error.expose !== true || status < 400 || status >= 500) return undefined;
  if (status === 400) return validationError([{ field: 'path', message: 'is not a valid file path' }]);
  const code = HTTP_ERROR_CODES[status];
  if (!code) return undefined;
  const headers =
    typeof error.headers === 'object' && error.headers !== null
      ? (error.headers as Record<string, string>)
      : undefined;
  return new AppError(status, code, STATUS_CODES[status] ?? 'Client error', headers && { headers });
}

/** Renders an error as a page for people: its title and what happened. */
export type ErrorPage = (title: string, detail: string) => string;

/** Pages answer errors as pages; /api, and a program asking any URL for JSON, as problem+json. */
function wantsPage(request: FastifyRequest): boolean {
  const path = request.url.split('?', 1)[0]!;
  if (path.startsWith('/api/') || path === '/api') return false;
  return !/application\/(problem\+)?json/.test(request.headers.accept ?? '');
}

/** The one error handler: every thrown error becomes problem+json with the contract's code (or a page). */
export function errorHandler(env: Environment, page?: ErrorPage) {
  return function handle(this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const known = error instanceof AppError ? error : fromFastifyError(error);
    if (page && wantsPage(request)) {
      const status = known?.status ?? 500;
      if (status >= 500) request.log.error({ err: error }, known?.detail ?? 'unhandled error');
      for (const [name, value] of Object.entries(known?.extra.headers ?? {})) reply.header(name, value);
      const detail = known ? known.detail : 'Something went wrong on our side; it has been logged.';
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(page(STATUS_CODES[status] ?? 'Error', detail));
    }
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, known.detail);
      for (const [name, value] of Object.entries(known.extra.headers ?? {})) reply.header(name, value);
      // RFC 9110: every 401 names the scheme to use; a rejected token says so (RFC 6750 §3).
      if (known.status === 401 && !reply.hasHeader('WWW-Authenticate')) {
        reply.header(
          'WWW-Authenticate',
          known.code === 'unauthorized' ? CHALLENGE : `${CHALLENGE}, error="invalid_token"`,
        );
      }
      return reply
        .code(known.status)
        .type(PROBLEM_TYPE)
        .send({
          ...problem(known.status, known.code, known.detail, known.extra.errors),
          ...known.extra.body,
        });
    }
    request.log.error({ err: error }, 'unhandled error');
    const body: Problem & { stack?: string[] } = problem(
      500,
      'internal_error',
      env === 'development' ? error.message : 'An unexpected error occurred; it has been logged',
    );
    // Only a developer's own machine sees where it broke.
    if (env === 'development' && error.stack) body.stack = error.stack.split('\n').map((line) => line.trim());
    return reply.code(500).type(PROBLEM_TYPE).send(body);
  };
}
