import fc from 'fast-check';
import {
  accept,
  badCursor,
  contentType,
  cursor,
  headerText,
  mutate,
  nastyString,
  numberishText,
  rawBody,
} from './hostile.js';
import { textOf, valueOf, type Hints, type Operation, type Schema } from './openapi.js';
import { encode, type Body, type IdRef } from './plan.js';
import type { Pool, World } from './world.js';

// The parts of a fuzzed request: ids, path suffixes, headers, query strings and bodies.

/** A path id: one that exists (by pool and index, resolved at send time) or hostile text. */
export function idRef(pools: Pool[]): fc.Arbitrary<IdRef> {
  return fc.oneof(
    { weight: 7, arbitrary: fc.record({ pool: fc.constantFrom(...pools), index: fc.nat(1000) }) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        numberishText.map((raw) => ({ raw: encode(raw) })),
        nastyString.map((raw) => ({ raw: encode(raw.slice(0, 300)) })),
        fc
          .constantFrom(
            '%00',
            '..%2F..%2Fetc%2Fpasswd',
            '%2e%2e',
            '%E0%A4%A',
            '%',
            '%zz',
            '',
            '1%2F2',
            '1.json',
            '1;x=y',
          )
          .map((raw) => ({ raw })),
      ),
    },
  );
}

/** The pools a path's ids come from: its own kind of thing mostly, another kind sometimes. */
export function poolsFor(path: string): Pool[] {
  if (path.startsWith('/api/keys')) return ['key', 'note'];
  if (path.startsWith('/api/me/sessions')) return ['session', 'note'];
  if (path.startsWith('/api/webhooks')) return ['webhook', 'note'];
  return ['note', 'note', 'note', 'foreignNote', 'key'];
}

/** Text after the path: nothing mostly, else slashes, dot segments, escapes. */
export const suffix: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('/', '//', '/x', '/..', '/.', '%2F', '%00', '/%2e%2e', ';', '.json', '~'),
  },
);

/** Hostile extra headers, none to three of them: Accept, conditions, idempotency keys, CORS, ranges. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          accept.map((v) => ['accept', v] as const),
          fc
            .oneof(
              headerText,
              fc.nat(50).map((n) => `"${n}-1"`),
            )
            .map((v) => ['if-match', v] as const),
          fc
            .oneof(
              headerText,
              fc.nat(50).map((n) => `"${n}-1"`),
            )
            .map((v) => ['if-none-match', v] as const),
          fc
            .oneof(
              headerText,
              fc.constantFrom('Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 01 Jan 2100 00:00:00 GMT'),
            )
            .map((v) => ['if-unmodified-since', v] as const),
          fc
            .oneof(headerText, fc.constantFrom('Fri, 01 Jan 2100 00:00:00 GMT'))
            .map((v) => ['if-modified-since', v] as const),
          fc
            .oneof(
              headerText,
              fc.constantFrom('bytes=0-1', 'bytes=99999999-', 'bytes=5-1', 'bytes=0-1,3-4', 'bytes=-0'),
            )
            .map((v) => ['range', v] as const),
          fc
            .oneof(headerText, fc.constantFrom('same-key', 'x'.repeat(256)))
            .map((v) => ['idempotency-key', v] as const),
          fc
            .oneof(fc.constantFrom('https://evil.example', 'null', '*'), headerText)
            .map((v) => ['origin', v] as const),
          fc
            .constantFrom('GET', 'DELETE', 'PROPFIND', '')
            .map((v) => ['access-control-request-method', v] as const),
          headerText.map((v) => ['access-control-request-headers', v] as const),
          headerText.map((v) => ['last-event-id', v] as const),
          fc
            .constantFrom('1.2.3.4', '::1, 10.0.0.1', 'garbage', '')
            .map((v) => ['x-forwarded-for', v] as const),
          headerText.map((v) => ['x-request-id', v] as const),
          headerText.map((v) => ['user-agent', v] as const),
          fc
            .constantFrom('gzip', 'br', 'identity;q=0', '*;q=0', 'x')
            .map((v) => ['accept-encoding', v] as const),
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map(
        (entries) => Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Record<string, string>,
      ),
  },
);

type Pairs = [string, string][];

/** Query parameters whose valid values a schema cannot describe: cursors, words that match. */
const QUERY_HINTS: Hints = {
  after: cursor,
  since: fc.nat(60).map(String),
  q: fc.constantFrom('note', 'mine', 'hostile', 'fuzz t1', 'théirs'),
  tag: fc.array(fc.constantFrom('fuzz', 't1', 'T2', 'work/projects'), { minLength: 1, maxLength: 2 }),
};

/**
 * A query string for an operation's parameters. Most often every parameter is valid or absent
 * but one, so the request gets past validation to the handler and the database; sometimes
 * every parameter is hostile at once, or the whole string is broken.
 */
export function queryFor(parameters: Operation['parameters']): fc.Arbitrary<Pairs | string> {
  const query = parameters.filter((p) => p.in === 'query');
  const valid = query.map((parameter) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant<Pairs>([]) },
      {
        weight: 2,
        arbitrary: (QUERY_HINTS[parameter.name] ?? valueOf(parameter.schema)).map((value): Pairs =>
          (Array.isArray(value) ? value : [value]).map((v) => [parameter.name, textOf(v)]),
        ),
      },
    ),
  );
  const hostile = query.map((parameter) => {
    const name = parameter.name;
    const value =
      name === 'after'
        ? badCursor
        : name === 'since'
          ? fc.oneof(numberishText, badCursor)
          : fc.oneof(
              { weight: 2, arbitrary: nastyString },
              { weight: 1, arbitrary: numberishText },
              // what PostgreSQL cannot hold in text at all, and what no stored value contains
              {
                weight: 1,
                arbitrary: fc.constantFrom('\u0000', 'a\u0000b', '\u0000%', '\u0007', '\u001f\u007f'),
              },
            );
    return fc.oneof(
      { weight: 4, arbitrary: value.map((v): Pairs => [[name, v]]) },
      {
        weight: 1,
        arbitrary: fc
          .array(value, { minLength: 2, maxLength: 4 })
          .map((vs) => vs.map((v): [string, string] => [name, v])),
      },
      { weight: 1, arbitrary: value.map((v): Pairs => [[`${name}[]`, v]]) },
      { weight: 1, arbitrary: value.map((v): Pairs => [[`${name}[0]`, v]]) },
      { weight: 1, arbitrary: fc.constant<Pairs>([[name, '']]) },
    );
  });
  const unknown = fc
    .tuple(
      fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor[prototype][x]', 'q[]', 'x')),
      nastyString,
    )
    .map((pair): Pairs => [pair]);
  // `after` continues a walk that `page` would restart: valid queries have one or the other.
  const allValid = fc
    .tuple(...valid)
    .map((parts) => parts.flat())
    .map((pairs) =>
      pairs.some(([name]) => name === 'after') ? pairs.filter(([name]) => name !== 'page') : pairs,
    );
  // Text parameters reach the database and the search engine: they are made hostile more often.
  const textual = (schema: Schema): boolean => schema.type === 'string' || schema.items?.type === 'string';
  const oneHostile =
    query.length === 0
      ? unknown
      : fc
          .tuple(
            allValid,
            fc.oneof(
              ...query.map((p, i) => ({ weight: textual(p.schema) ? 3 : 1, arbitrary: fc.constant(i) })),
            ),
          )
          .chain(([pairs, i]) =>
            hostile[i]!.map((bad) => [...pairs.filter(([name]) => name !== query[i]!.name), ...bad]),
          );
  return fc.oneof(
    { weight: 4, arbitrary: allValid },
    { weight: 8, arbitrary: oneHostile },
    { weight: 1, arbitrary: fc.tuple(...hostile).map((parts) => parts.flat()) },
    { weight: 1, arbitrary: fc.tuple(allValid, unknown).map(([pairs, extra]) => [...pairs, ...extra]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '&&&',
        '=',
        '==&=',
        'a=%zz',
        '%00=%00',
        'limit=1&limit=2&limit=abc',
        'tag=a&tag=b&tag=',
        'q=%E0%A4%A',
        `q=${'%F0%9F%98%80'.repeat(300)}`,
        'x'.repeat(4000),
        'page=-1&page=0',
        'limit=1e2',
        'after=&since=',
        '?',
        '#frag',
      ),
    },
  );
}

/** A body for an operation: valid JSON, mutated JSON, form data or raw bytes, each with a content type. */
export function bodyFor(
  schema: Schema | undefined,
  hints: Hints,
): fc.Arbitrary<{ contentType: string | undefined; body: Body | undefined }> {
  const depth = fc.integer({ min: 100, max: 20_000 });
  const valid = schema ? valueOf(schema, hints) : fc.jsonValue({ maxDepth: 2 });
  const json = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(valid, depth).map(([value, d]): Body => ({ kind: 'json', value, depth: d })),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(valid.chain(mutate), depth)
        .map(([value, d]): Body => ({ kind: 'json', value, depth: d })),
    },
  );
  const form = valid.map((value): Body => ({ kind: 'form', fields: formFields(value), csrf: 'missing' }));
  return fc.oneof(
    { weight: 14, arbitrary: json.map((body) => ({ contentType: 'application/json', body })) },
    {
      weight: 3,
      arbitrary: fc.tuple(contentType, json).map(([type, body]) => ({ contentType: type, body })),
    },
    {
      weight: 2,
      arbitrary: form.map((body) => ({ contentType: 'application/x-www-form-urlencoded', body })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(contentType, rawBody)
        .map(([type, data]) => ({ contentType: type, body: { kind: 'raw', data } as Body })),
    },
  );
}

/** An object's members as form fields (arrays repeat the field, as HTML forms send them). */
export function formFields(value: unknown): [string, string][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [['value', textOf(value)]];
  return Object.entries(value).flatMap(([name, member]) =>
    Array.isArray(member)
      ? member.map((m): [string, string] => [name, textOf(m)])
      : [[name, textOf(member)] as [string, string]],
  );
}

/** Member values the fuzzer knows to be meaningful: real names, real passwords, real tokens. */
export function hintsFor(world: World): Hints {
  const [owner, other] = world.accounts;
  return {
    username: fc.oneof(
      fc.constantFrom(owner!.username, owner!.email, other!.username, 'nobody', 'ADMIN'),
      fc.nat(100_000).map((n) => `fz_${n}`),
    ),
    email: fc.oneof(
      fc.constantFrom(owner!.email, other!.email),
      fc.nat(100_000).map((n) => `fz${n}@example.com`),
    ),
    // Never the real password where it would change or delete the account.
    current_password: fc.constantFrom('wrong password', 'x'),
    password: fc.constantFrom('wrong password', 'another long password'),
    refresh_token: fc.oneof(
      fc.constantFrom(owner!.refresh, 'garbage'),
      headerText.filter((t) => t.length > 0),
    ),
  };
}
