import fc from 'fast-check';

// Hostile building blocks: the strings, numbers, bodies, headers and URL pieces an attacker or a
// broken client sends. Everything here is plain data; fuzz/requests.ts puts it together.

/** Strings that have broken servers before: injections, encodings, limits, odd Unicode. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  "' OR 1=1 --",
  '"; DROP TABLE notes; --',
  "1'; DELETE FROM users WHERE '1'='1",
  '%',
  '_',
  '\\',
  '*',
  '"',
  'NEAR(a b)',
  'a AND b OR NOT c',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '{{7*7}}${7*7}<%= 7*7 %>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  'null',
  'undefined',
  'NaN',
  '-0',
  'Infinity',
  '1e309',
  '0x1f',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  '\r\n\r\nHTTP/1.1 200 OK',
  '\t',
  '\u00a0',
  '\u200b\u200c\u200d\u2060\ufeff',
  '\u202e\u0645\u0631\u062d\u0628\u0627\u202c',
  'e\u0301\u0301\u0301\u0301',
  'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319',
  '\ud83d\ude00\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67',
  '\ud800',
  '\udfff',
  'a\udc00b\ud800',
  '\ufffe\uffff',
  '\u{10ffff}',
  '\u2028\u2029',
  'İ',
  'ß',
  'ǅ',
  'ﬃ',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '١٢٣',
  '٣',
  '１２３',
  'x'.repeat(201),
  'x'.repeat(5000),
  'é'.repeat(100_001),
  '>'.repeat(5000),
  '> '.repeat(3000),
  '- '.repeat(3000),
  '1. '.repeat(2000),
  '['.repeat(5000),
  '*'.repeat(5000),
  '<div>'.repeat(3000),
  '`'.repeat(5000),
  '|a'.repeat(2000),
  '2020-01-01T23:59:60Z',
  '2020-06-30T23:59:60.5+00:00',
  '2020-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '+275760-09-13T00:00:00Z',
  '2020-01-01T00:00:00+24:00',
  '2020-01-01t00:00:00z',
  '2020-01-01 00:00:00Z',
  'a,b,c',
  ' leading',
  'trailing ',
  'work/projects',
  'UPPER',
];

const SHORT = NASTY_STRINGS.filter((s) => s.length <= 100);
const LONG = NASTY_STRINGS.filter((s) => s.length > 100);

/** A hostile string: one of the list, random Unicode, or a short one repeated thousands of times. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SHORT) },
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...NASTY_STRINGS.filter((s) => s.length < 100)),
        fc.integer({ min: 2, max: 3000 }),
      )
      .map(([s, n]) => s.repeat(n)),
  },
);

/** Numbers at and past every limit JavaScript and the databases have. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    -1e9,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e308,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Text that is meant to be read as a number (path ids, limit, page) but is not quite one. */
export const numberishText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0',
    '-1',
    '-0',
    '1.0',
    '1.5',
    '1e3',
    '1e309',
    '0x10',
    '0b1',
    '010',
    '+1',
    ' 1',
    '1 ',
    'NaN',
    'Infinity',
    '-Infinity',
    'null',
    'true',
    '[]',
    '{}',
    '2147483647',
    '2147483648',
    '4294967296',
    '99999999999',
    '999999999999999',
    '9007199254740991',
    '9007199254740992',
    '9007199254740993',
    '99999999999999999999999999',
    '1'.repeat(101),
    '١',
    '１',
    '1%00',
    '%00',
    '1;DROP TABLE notes',
    "1' OR '1'='1",
  ),
  fc.integer().map(String),
  fc.double().map(String),
);

/** A JSON value nested `depth` deep: `[[[…]]]` or `{"a":{"a":…}}`, as text (JSON.stringify would recurse). */
export function nestedJson(depth: number, kind: 'array' | 'object', inner = '1'): string {
  return kind === 'array'
    ? '['.repeat(depth) + inner + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

/** JSON text nested hundreds to thousands deep. */
export const deepValue: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array' as const, 'object' as const))
  .map(([depth, kind]) => nestedJson(depth, kind));

/** A value of any JSON type (a wrong type, most of the time). */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(nastyString, { maxLength: 30 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A placeholder replaced by a deeply nested JSON text when the body is written out. */
export const DEEP = '\u0000__deep__';

/** Changes a valid-ish body the way broken and hostile clients do. */
export function mutate(value: unknown): fc.Arbitrary<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return wrongValue;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  const pick = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('title');
  return fc.oneof(
    // wrong type for one member
    fc.tuple(pick, wrongValue).map(([k, v]) => ({ ...object, [k]: v })),
    // a required member missing
    pick.map((k) => Object.fromEntries(Object.entries(object).filter(([name]) => name !== k))),
    // extra members, read-only ones among them
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('id', 'version', 'owner_id', 'created_at', '__proto__', 'constructor', 'admin'),
          nastyString,
        ),
        wrongValue,
      )
      .map(([k, v]) => ({ ...object, [k]: v })),
    // a hostile string where a string goes
    fc.tuple(pick, nastyString).map(([k, v]) => ({ ...object, [k]: v })),
    // a hostile number where anything goes
    fc.tuple(pick, nastyNumber).map(([k, v]) => ({ ...object, [k]: v })),
    // deep nesting in one member
    pick.map((k) => ({ ...object, [k]: DEEP })),
    // every member wrong at once
    fc.constant(Object.fromEntries(keys.map((k) => [k, 123]))),
    // not an object at all
    wrongValue,
  );
}

/** Bodies that are not JSON, or barely: broken syntax, odd encodings, invalid UTF-8, limits. */
export const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'null',
    'true',
    '0',
    '"title"',
    '[]',
    '{',
    '{"title":',
    '{"title":"a",}',
    "{'title':'a'}",
    '{"title":"a"}{"title":"b"}',
    '{"title":"a","title":"b"}',
    '{"__proto__":{"admin":true},"title":"a"}',
    '{"constructor":{"prototype":{"admin":true}},"title":"a"}',
    '{"title":1e99999}',
    '{"title":-}',
    '{"title":"\\ud800"}',
    '{"title":"\\u0000"}',
    '{"title":"\\x41"}',
    '\ufeff{"title":"bom"}',
    '<note><title>a</title></note>',
    'title=a&content=b',
    '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\na\r\n--x--',
  ),
  fc.constantFrom(
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.concat([
      Buffer.from('{"title":"a'),
      Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8]),
      Buffer.from('"}'),
    ]),
    Buffer.from('{"title":"a\u0000b"}'),
    Buffer.from('{"title":"a"}\u0000'),
    Buffer.from('{"title":"a"}', 'utf16le'),
    Buffer.from('\ufeff{"title":"a"}', 'utf16le'),
    Buffer.alloc(64),
  ),
  deepValue,
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  // just over the 1 MiB body limit
  fc.constant(`{"title":"${'a'.repeat(1_048_600)}"}`),
);

/** Content-Type values: mostly JSON, else every kind Folio does not read. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'application/merge-patch+json',
      'application/x-www-form-urlencoded',
      'text/plain',
      'text/html',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json;',
      'APPLICATION/JSON',
      'application/json, text/plain',
      'application/jsonx',
      'application/*',
      '*/*',
      'json',
      ';;;',
      'application/octet-stream',
      'application/problem+json',
      'application/vnd.api+json',
    ),
  },
);

/** Methods to send instead of an operation's own, WebDAV ones among them. */
export const ODD_METHODS = [
  'PROPFIND',
  'TRACE',
  'OPTIONS',
  'HEAD',
  'PATCH',
  'PUT',
  'DELETE',
  'POST',
  'GET',
  'MKCOL',
  'LOCK',
  'PURGE',
  'SEARCH',
  'REPORT',
  'UNLOCK',
  'COPY',
  'MOVE',
] as const;

/** Accept values, most often none. */
export const accept: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '*/*',
      'application/json',
      'application/problem+json',
      'text/html',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'application/xml',
      'text/plain',
      'text/event-stream',
      'image/png',
      '',
      ',',
      'application/json;q=0',
      'application/*',
      'garbage/garbage/garbage',
      'x'.repeat(4000),
    ),
  },
);

/** Header values as a real HTTP/1.1 server receives them: visible Latin-1, spaces and tabs, no other controls. */
export const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '*',
    '"1-1"',
    'W/"1-1"',
    '"*"',
    ',,,',
    '"a", "b"',
    'null',
    '-1',
    'x'.repeat(8000),
    'Ã©Ã¿',
  ),
  fc.string({ maxLength: 60 }),
  fc
    .array(
      fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f),
      { maxLength: 80 },
    )
    .map((codes) => String.fromCharCode(...codes)),
);

const SORTS = ['title', '-title', 'updated_at', '-updated_at', 'created_at', '-created_at'] as const;
const cursorOf = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
const isoTime = fc
  .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());
const noteId = fc.integer({ min: 1, max: 2000 });

/** Cursors as the server issues them (they are not signed: any well-formed one is taken). */
export const cursor: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...SORTS.filter((s) => !s.includes('title'))), isoTime, noteId).map(cursorOf),
  fc.tuple(fc.constantFrom('title', '-title'), fc.stringMatching(/^[a-z ]{0,12}$/), noteId).map(cursorOf),
  fc.tuple(fc.constant('relevance'), fc.double({ min: -100, max: 0, noNaN: true }), noteId).map(cursorOf),
);

/** Cursors for `after`: well-formed ones with one hostile part, and garbage. */
export const badCursor: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...SORTS, 'relevance'),
        fc.oneof(
          nastyString,
          nastyNumber,
          fc.constantFrom(null, [1], '2020-01-01T00:00:00.000Z', 1e308),
          fc.constantFrom('\u0000', 'a\u0000', '\u001f'),
          fc.constantFrom('\u0000', 'a\u0000', '\u001f'),
        ),
        noteId,
      )
      .map(cursorOf),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...SORTS, 'relevance', 'nope', ''),
        fc.oneof(isoTime, nastyString, nastyNumber),
        fc.oneof(fc.integer(), nastyNumber, nastyString),
      )
      .map(cursorOf),
  },
  { weight: 1, arbitrary: headerText.filter((s) => s !== '') },
  {
    weight: 1,
    arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%00', '%ff', '=', '====', 'eyJ9', 'W10', 'WyJ0aXRsZSIsImEiLDFd!!'),
  },
);
