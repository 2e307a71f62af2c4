import fc from 'fast-check';
import { API_CREDENTIALS, authFor, badAuth } from './auth.js';
import { contentType, nastyString, numberishText, ODD_METHODS, rawBody, wrongValue } from './hostile.js';
import { textOf, type Operation } from './openapi.js';
import { bodyFor, extraHeaders, hintsFor, idRef, poolsFor, queryFor, suffix } from './parts.js';
import type { Auth, Body, Plan } from './plan.js';
import type { World } from './world.js';

// What the fuzzer sends: every operation of the OpenAPI document, the pages people use, and
// paths that do not exist, each with hostile parts (fuzz/parts.ts, fuzz/auth.ts).

/** A page a person uses, and the form fields it takes. */
interface PageRoute {
  method: 'GET' | 'POST';
  path: string;
  fields?: string[];
}

const PAGES: PageRoute[] = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/login' },
  { method: 'GET', path: '/register' },
  { method: 'GET', path: '/logout' },
  { method: 'GET', path: '/notes/new' },
  { method: 'GET', path: '/notes/{id}' },
  { method: 'GET', path: '/notes/{id}/edit' },
  { method: 'GET', path: '/notes/{id}/delete' },
  { method: 'GET', path: '/trash' },
  { method: 'GET', path: '/static/folio.css' },
  { method: 'GET', path: '/docs' },
  { method: 'GET', path: '/docs/json' },
  { method: 'GET', path: '/docs/static/index.html' },
  { method: 'POST', path: '/login', fields: ['username', 'password', 'next'] },
  { method: 'POST', path: '/register', fields: ['username', 'email', 'password'] },
  { method: 'POST', path: '/notes', fields: ['title', 'content', 'tags', 'pinned', 'archived'] },
  { method: 'POST', path: '/notes/{id}/edit', fields: ['title', 'content', 'tags', 'pinned', 'version'] },
  { method: 'POST', path: '/notes/{id}/delete', fields: [] },
  { method: 'POST', path: '/notes/{id}/restore', fields: [] },
  { method: 'POST', path: '/logout', fields: [] },
];

const UNKNOWN_PATHS = [
  '/api',
  '/api/',
  '/api/nope',
  '/api/notes/1/2/3',
  '/api/notes/{id}/nope',
  '/api/v2/notes',
  '/API/notes',
  '/api/../api/notes',
  '/api/./notes',
  '/api/notes/../keys',
  '/api//notes',
  '/api/notes%2F1',
  '/api/%2e%2e/etc/passwd',
  '/api/%00',
  '/api/notes/%',
  '/api/notes/%zz',
  '/api/notes/%E0%A4%A',
  '/api/notes/%C0%AE%C0%AE',
  '/api/openapi.json',
  '/api/status',
  '/nope',
  '/notes',
  '/notes/{id}/nope',
  '/static/../package.json',
  '/docs/../../etc/passwd',
  '/favicon.ico',
  '/.env',
  '/.git/config',
  '/%00',
];

/** A plan for one of the API's operations, from the OpenAPI document. */
function apiPlan(world: World, operation: Operation): fc.Arbitrary<Plan> {
  const hints = hintsFor(world);
  const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(operation.method);
  return fc
    .record({
      method: fc.oneof(
        { weight: 17, arbitrary: fc.constant(operation.method) },
        { weight: 3, arbitrary: fc.constantFrom(...ODD_METHODS) },
      ),
      ids: fc.tuple(...[...operation.path.matchAll(/\{(\w+)\}/g)].map(() => idRef(poolsFor(operation.path)))),
      suffix,
      query: queryFor(operation.parameters),
      auth: authFor(world, API_CREDENTIALS),
      headers: extraHeaders,
      payload:
        operation.body || writes
          ? bodyFor(operation.body, hints)
          : fc.constant({ contentType: undefined, body: undefined }),
      remoteAddress: fc.constantFrom('127.0.0.1', '127.0.0.1', '127.0.0.1', '::1'),
    })
    .map(({ payload, ...plan }) => ({
      ...plan,
      path: operation.path,
      contentType: payload.contentType,
      body: payload.body,
    }));
}

function pagePlan(world: World, page: PageRoute): fc.Arbitrary<Plan> {
  const hints = hintsFor(world);
  const fieldValue = (name: string) =>
    fc.oneof(hints[name] ?? nastyString, nastyString, numberishText).map(textOf);
  const fields = fc.tuple(
    ...(page.fields ?? []).map((name) =>
      fc.option(
        fieldValue(name).map((v): [string, string] => [name, v]),
        { nil: undefined },
      ),
    ),
  );
  return fc
    .record({
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constant<string>(page.method) },
        { weight: 1, arbitrary: fc.constantFrom(...ODD_METHODS) },
      ),
      ids: fc.tuple(...[...page.path.matchAll(/\{id\}/g)].map(() => idRef(['note', 'note', 'foreignNote']))),
      suffix,
      query: fc.oneof(
        { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
        fc.array(
          fc.tuple(fc.constantFrom('q', 'tag', 'page', 'next', 'x'), fc.oneof(nastyString, numberishText)),
          { maxLength: 4 },
        ),
      ),
      auth: fc.oneof(
        { weight: 6, arbitrary: fc.constant<Auth>({ credential: 'cookie' }) },
        { weight: 1, arbitrary: fc.constant<Auth>({ credential: 'none' }) },
        { weight: 1, arbitrary: badAuth(world).map((headers): Auth => ({ headers })) },
      ),
      headers: extraHeaders,
      fields,
      csrf: fc.constantFrom('valid' as const, 'valid' as const, 'missing' as const, 'wrong' as const),
      raw: fc.option(fc.tuple(contentType, rawBody), { freq: 8, nil: undefined }),
      remoteAddress: fc.constant('127.0.0.1'),
    })
    .map(({ fields: chosen, csrf, raw, ...plan }) => ({
      ...plan,
      path: page.path,
      contentType: page.method === 'POST' ? (raw ? raw[0] : 'application/x-www-form-urlencoded') : undefined,
      body:
        page.method !== 'POST'
          ? undefined
          : raw
            ? ({ kind: 'raw', data: raw[1] } as Body)
            : ({
                kind: 'form',
                fields: chosen.filter((f): f is [string, string] => f !== undefined),
                csrf,
              } as Body),
    }));
}

function unknownPlan(world: World): fc.Arbitrary<Plan> {
  return fc.record({
    method: fc.constantFrom(...ODD_METHODS),
    path: fc.constantFrom(...UNKNOWN_PATHS),
    ids: fc.tuple(idRef(['note'])),
    suffix,
    query: fc.oneof(
      fc.constant<[string, string][]>([]),
      fc.tuple(nastyString, nastyString).map((pair) => [pair]),
    ),
    auth: authFor(world, { user: 3, none: 1 }),
    headers: extraHeaders,
    contentType: contentType,
    body: fc.option(
      wrongValue.map((value): Body => ({ kind: 'json', value, depth: 100 })),
      { nil: undefined },
    ),
    remoteAddress: fc.constant('127.0.0.1'),
  });
}

/** Every kind of request the fuzzer sends: the API's operations, the pages, and paths that do not exist. */
export function plans(world: World, operations: Operation[]): fc.Arbitrary<Plan> {
  return fc.oneof(
    {
      weight: 14,
      // The richer an operation's input, the more requests it gets.
      arbitrary: fc.oneof(
        ...operations.map((operation) => ({
          weight: 1 + operation.parameters.length + (operation.body ? 3 : 0),
          arbitrary: apiPlan(world, operation),
        })),
      ),
    },
    { weight: 4, arbitrary: fc.oneof(...PAGES.map((page) => pagePlan(world, page))) },
    { weight: 1, arbitrary: unknownPlan(world) },
  );
}
