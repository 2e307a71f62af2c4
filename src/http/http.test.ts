import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem, signUp } from '../../test/helpers.js';

describe('unknown routes and methods under /api', () => {
  it('answers 404 problem+json for a path that does not exist', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/api/nothing-here' });
    expectProblem(response, 404, 'not_found');
  });

  it('answers 404 problem+json for /api with a query string, not a page', async () => {
    const { app } = await buildTestApp();
    for (const url of ['/api?', '/api?x=1', '/api/?x=1']) {
      expectProblem(await app.inject({ url }), 404, 'not_found');
    }
  });

  it('answers 400 validation_failed problem+json for a path that is not valid percent-encoding or has a parameter too long', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/api/notes/%zz' });
    const body = expectProblem(response, 400, 'validation_failed');
    expect(body.errors).toEqual([{ field: 'path', message: 'is not valid percent-encoded text' }]);
    const long = await app.inject({ method: 'GET', url: `/api/notes/${'9'.repeat(101)}` });
    expect(expectProblem(long, 400, 'validation_failed').errors).toEqual([
      { field: 'path', message: 'has a parameter longer than 100 characters' },
    ]);
    // A page answers a page, not JSON.
    const page = await app.inject({ method: 'GET', url: '/notes/%zz' });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('answers 405 with Allow for a known path and a wrong method', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      method: 'PUT',
      url: '/api/notes',
      headers: user.headers,
      payload: {},
    });
    expectProblem(response, 405, 'method_not_allowed');
    expect(response.headers.allow).toBe('GET, HEAD, POST');
    const onItem = await app.inject({
      method: 'POST',
      url: '/api/notes/5',
      headers: user.headers,
      payload: {},
    });
    expectProblem(onItem, 405, 'method_not_allowed');
    expect(onItem.headers.allow).toBe('GET, HEAD, PUT, PATCH, DELETE');
  });
});

describe('request bodies', () => {
  it('answers 400 invalid_json for unparseable JSON', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '{"title": "unterminated',
    });
    expectProblem(response, 400, 'invalid_json');
  });

  it('answers 400 invalid_json for an empty body, with or without a content type', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const typed = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '',
    });
    expectProblem(typed, 400, 'invalid_json');
    const bare = await app.inject({ method: 'POST', url: '/api/notes', headers: user.headers });
    expectProblem(bare, 400, 'invalid_json');
  });

  it('answers 400 validation_failed when the JSON is not an object', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '["a note"]',
    });
    const problem = expectProblem(response, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ field: 'body', message: 'must be object' }]);
  });

  it('answers 413 payload_too_large past the body limit', async () => {
    const { app } = await buildTestApp({ bodyLimit: 2048 });
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: user.headers,
      payload: { title: 'big', content: 'x'.repeat(4096) },
    });
    expectProblem(response, 413, 'payload_too_large');
  });

  it('answers 413 for a body over the default 1 MiB', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: user.headers,
      payload: { title: 'big', content: 'x'.repeat(1_048_577) },
    });
    expectProblem(response, 413, 'payload_too_large');
  });

  it('answers 415 unsupported_media_type for a content type Folio does not read', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: { ...user.headers, 'content-type': type },
        payload: 'title=x',
      });
      expectProblem(response, 415, 'unsupported_media_type');
    }
  });

  it('rejects a __proto__ member instead of applying it', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '{"title":"x","__proto__":{"admin":true}}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('unexpected errors', () => {
  async function appWithBrokenRoute(env: 'development' | 'production') {
    const { app } = await buildTestApp({ env });
    app.get('/api/test-broken', async () => {
      throw new Error('secret internals at /srv/folio/db.ts:42');
    });
    return app;
  }

  it('answers 500 internal_error without the message or a stack outside development', async () => {
    const app = await appWithBrokenRoute('production');
    const response = await app.inject({ method: 'GET', url: '/api/test-broken' });
    const problem = expectProblem(response, 500, 'internal_error');
    expect(response.body).not.toContain('secret internals');
    expect(problem.stack).toBeUndefined();
  });

  it('shows the message and stack to a developer in development', async () => {
    const app = await appWithBrokenRoute('development');
    const response = await app.inject({ method: 'GET', url: '/api/test-broken' });
    const problem = expectProblem(response, 500, 'internal_error');
    expect(problem.detail).toContain('secret internals');
    expect(Array.isArray(problem.stack)).toBe(true);
  });
});

describe('protection headers', () => {
  it('sends nosniff and a frame-denying CSP, and HSTS only in production', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'GET', url: '/api/status' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['referrer-policy']).toBeDefined();
    expect(response.headers['strict-transport-security']).toBeUndefined();
    const prod = await buildTestApp({ env: 'production' });
    const secured = await prod.app.inject({ method: 'GET', url: '/api/status' });
    expect(secured.headers['strict-transport-security']).toContain('max-age=');
  });

  it('gives JSON answers the short REST set and pages helmet’s full set', async () => {
    const { app } = await buildTestApp({ env: 'production' });
    const api = await app.inject({ method: 'GET', url: '/api/notes/1' });
    expect(api.statusCode).toBe(401);
    expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers['x-frame-options']).toBe('DENY');
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['referrer-policy']).toBe('no-referrer');
    expect(api.headers['strict-transport-security']).toContain('max-age=');
    expect(api.headers['x-dns-prefetch-control']).toBeUndefined();
    const page = await app.inject({ method: 'GET', url: '/login' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-dns-prefetch-control']).toBe('off');
    expect(page.headers['strict-transport-security']).toContain('max-age=');
  });
});

describe('CORS', () => {
  it('allows any origin without credentials by default', async () => {
    const { app } = await buildTestApp();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/notes',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const simple = await app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { origin: 'https://x.example' },
    });
    expect(simple.headers['access-control-allow-origin']).toBe('*');
  });

  it('allows only the listed origins when FOLIO_CORS_ORIGINS names them', async () => {
    const { app } = await buildTestApp({ corsOrigins: ['https://app.example.com'] });
    const allowed = await app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { origin: 'https://app.example.com' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows every method the API has in a preflight, with the requested headers and max age', async () => {
    const { app } = await buildTestApp();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/notes/1',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type, if-match',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(String(preflight.headers['access-control-allow-methods']).split(', ')).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    );
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization, content-type, if-match');
    expect(preflight.headers['access-control-max-age']).toBe('600');
  });

  it('answers a plain OPTIONS with Allow, and 404 for a path the API does not have', async () => {
    const { app } = await buildTestApp();
    const options = await app.inject({ method: 'OPTIONS', url: '/api/notes/7' });
    expect(options.statusCode).toBe(204);
    expect(String(options.headers.allow).split(', ')).toEqual(
      expect.arrayContaining(['GET', 'PATCH', 'PUT', 'DELETE', 'OPTIONS']),
    );
    expect(String(options.headers.allow)).not.toContain('POST');
    expectProblem(await app.inject({ method: 'OPTIONS', url: '/api/nothing-here' }), 404, 'not_found');
  });

  it('lets a browser read a 401 (CORS headers come before authentication)', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({
      method: 'GET',
      url: '/api/notes',
      headers: { origin: 'https://x.example' },
    });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('varies on Origin and answers a listed origin only, preflights included', async () => {
    const { app } = await buildTestApp({ corsOrigins: ['https://app.example.com'] });
    const plain = await app.inject({ method: 'GET', url: '/api/status' });
    expect(plain.headers.vary).toBe('Origin');
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/api/notes',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const listed = await preflight('https://app.example.com');
    expect(listed.statusCode).toBe(204);
    expect(listed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(listed.headers['access-control-allow-methods']).toContain('POST');
    const other = await preflight('https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('lets browsers read Location, Link and ETag', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { origin: 'https://x.example' },
    });
    const exposed = String(response.headers['access-control-expose-headers']);
    for (const header of ['Location', 'Link', 'ETag']) expect(exposed).toContain(header);
  });
});
