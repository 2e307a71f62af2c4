import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem } from '../test/helpers.js';

describe('GET /api/openapi.json', () => {
  it('documents every route the server has, with its methods', async () => {
    const { app } = await buildTestApp();
    await app.ready();
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const routes = app.knownRoutes.filter((route) => !route.hidden && route.method !== 'HEAD');
    expect(routes.length).toBeGreaterThanOrEqual(23);
    for (const { url, method } of routes) {
      const path = url.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
      expect(doc.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
    const documented = Object.values(doc.paths).flatMap((item) => Object.keys(item as object));
    expect(documented.length).toBe(routes.length);
  });

  it('describes error answers as problem+json and secures private routes', async () => {
    const { app } = await buildTestApp();
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const create = doc.paths['/api/notes'].post;
    for (const status of ['400', '401', '413', '415', '500']) {
      expect(create.responses[status].content['application/problem+json'].schema.$ref).toBe(
        '#/components/schemas/Problem',
      );
    }
    expect(create.security).toEqual([
      { bearerAuth: [] },
      { apiKeyHeader: [] },
      { basicAuth: [] },
      { oauth2: [] },
    ]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'apiKeyHeader',
      'basicAuth',
      'bearerAuth',
      'oauth2',
    ]);
    expect(doc.paths['/api/auth/login'].post.security).toBeUndefined();
    expect(doc.components.schemas.Note.properties.title.maxLength).toBe(200);
  });
});

describe('GET /docs', () => {
  it('serves the interactive docs and their assets from the server itself', async () => {
    const { app } = await buildTestApp();
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const scripts = [...page.body.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src.startsWith('http')).toBe(false); // no CDN: works offline
      const asset = await app.inject({ method: 'GET', url: new URL(src, 'http://localhost/docs/').pathname });
      expect(asset.statusCode, src).toBe(200);
    }
  });

  it('answers a bad path, a failed If-Match and a Range past the end of an asset with 4xx, not 500', async () => {
    const { app } = await buildTestApp();
    const asset = '/docs/static/swagger-ui.css';
    const json = { accept: 'application/json' };
    const cases: [string, Record<string, string>, number, string][] = [
      [`${asset}%00`, json, 400, 'validation_failed'],
      ['/docs/static/..%5c..%5cpackage.json', json, 403, 'forbidden'],
      [asset, { ...json, 'if-match': '"not-this-one"' }, 412, 'precondition_failed'],
      [
        asset,
        { ...json, 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
        412,
        'precondition_failed',
      ],
      [asset, { ...json, range: 'bytes=99999999-' }, 416, 'range_not_satisfiable'],
    ];
    for (const [url, headers, status, code] of cases) {
      expectProblem(await app.inject({ url, headers }), status, code);
    }
    const ranged = await app.inject({ url: asset, headers: { range: 'bytes=99999999-' } });
    expect(ranged.headers['content-range']).toMatch(/^bytes \*\/\d+$/);
    // A person gets the error as a page.
    const page = await app.inject({ url: `${asset}%00` });
    expect([page.statusCode, page.headers['content-type']]).toEqual([400, 'text/html; charset=utf-8']);
  });
});
