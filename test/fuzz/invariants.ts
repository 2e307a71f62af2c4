import type { LightMyRequestResponse } from 'fastify';

// What must hold for every answer, whatever was asked (product.md, "JSON API" and "Precise rules").

/** The contract's error codes, by the status that carries them. */
const CODES: Record<number, readonly string[]> = {
  400: ['invalid_json', 'validation_failed'],
  401: ['unauthorized', 'invalid_token', 'token_expired'],
  403: ['forbidden', 'insufficient_scope', 'csrf_failed'],
  404: ['not_found', 'in_trash'],
  405: ['method_not_allowed'],
  406: ['not_acceptable'],
  409: ['username_taken', 'email_taken', 'idempotency_key_reused'],
  410: ['resync_required'],
  412: ['precondition_failed'],
  413: ['payload_too_large'],
  415: ['unsupported_media_type'],
  429: ['rate_limited'],
};

/** Whether a request target is under /api, where every answer is JSON. */
export function underApi(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/api' || path.startsWith('/api/');
}

/**
 * The ways an answer breaks the contract; empty when it keeps it. `url` is the target as the
 * server saw it (light-my-request resolves dot segments, as a real client would not).
 */
export function violations(method: string, url: string, response: LightMyRequestResponse): string[] {
  const found: string[] = [];
  const status = response.statusCode;
  const type = String(response.headers['content-type'] ?? '');
  if (status >= 500) found.push(`answered ${status}`);
  if (method === 'HEAD') {
    if (response.body.length > 0) found.push('a HEAD answer has a body');
    return found;
  }
  if (!underApi(url)) return found;
  if (status < 400) {
    if (response.body.length > 0 && !/^(application\/json|text\/event-stream)/.test(type)) {
      found.push(`a ${status} under /api is ${type || 'untyped'}, not JSON`);
    }
    return found;
  }
  if (!type.startsWith('application/problem+json'))
    found.push(`an error under /api is ${type || 'untyped'}, not problem+json`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    found.push('the problem is not JSON');
    return found;
  }
  if (typeof body !== 'object' || body === null) {
    found.push('the problem is not an object');
    return found;
  }
  for (const member of ['type', 'title', 'detail', 'code']) {
    if (typeof body[member] !== 'string') found.push(`the problem's ${member} is not a string`);
  }
  if (body.status !== status)
    found.push(`the problem's status ${String(body.status)} is not the HTTP status`);
  const codes = CODES[status];
  if (!codes) found.push(`${status} is not a status the contract answers`);
  else if (!codes.includes(String(body.code)))
    found.push(`code ${String(body.code)} does not go with ${status}`);
  if (status === 401 && !response.headers['www-authenticate']) found.push('a 401 without WWW-Authenticate');
  if (status === 405 && !response.headers.allow) found.push('a 405 without Allow');
  if (status === 429 && !response.headers['retry-after']) found.push('a 429 without Retry-After');
  return found;
}
