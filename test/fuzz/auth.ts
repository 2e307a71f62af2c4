import fc from 'fast-check';
import { headerText } from './hostile.js';
import type { Auth } from './plan.js';
import { CREDENTIALS, PASSWORD, type Credential, type World } from './world.js';

// Credentials for fuzzed requests: the world's real ones, by name, and broken ones of every kind.

/** Authorization, X-API-Key and Cookie headers that are wrong in every way a client gets them wrong. */
export function badAuth(world: World): fc.Arbitrary<Record<string, string>> {
  const [owner, other] = world.accounts;
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const basic = fc.oneof(
    fc.constantFrom(
      '%%%',
      '====',
      '!',
      'YWJj',
      b64(':nouser'),
      b64('user:'),
      b64(':'),
      b64('ü:pässwörd'),
      b64('a\u0000:pw'),
      b64(`${owner!.username}\u0000:pw`),
    ),
    fc.constantFrom(
      b64(`${owner!.username}:wrong password`),
      b64(`${owner!.email}:wrong password`),
      b64(`nobody:${PASSWORD}`),
      b64(`${other!.username}:${world.readKey}`),
      b64(`${owner!.username}:folio_garbage`),
      Buffer.from([0xff, 0x3a, 0xfe]).toString('base64'),
    ),
    headerText.map((text) => b64(`${text}:${text}`)),
  );
  const token = fc.oneof(
    fc.constantFrom(...world.badTokens),
    headerText,
    headerText.map((t) => `folio_${t}`),
    fc.constantFrom('a.b.c', 'eyJ.eyJ.', '..', 'folio_'),
  );
  return fc.oneof(
    token.map((t) => ({ authorization: `Bearer ${t}` })),
    basic.map((b) => ({ authorization: `Basic ${b}` })),
    fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'Basic',
        'Basic ',
        '',
        ' ',
        'Digest username="x"',
        'Token abc',
        'Negotiate YII=',
        'Bearer a b',
        `bearer ${owner!.access}`,
        `BEARER  ${owner!.access}  `,
        `Basic  ${b64(`${owner!.username}:${PASSWORD}`)}`,
      )
      .map((authorization) => ({ authorization })),
    headerText.map((authorization) => ({ authorization })),
    fc
      .oneof(
        headerText,
        headerText.map((t) => `folio_${t}`),
        fc.constant(` ${world.readKey} `),
      )
      .map((key) => ({ 'x-api-key': key })),
    fc
      .constantFrom(
        'folio_session=garbage',
        'folio_session=s%3A1.abc',
        'folio_session=',
        'folio_session=1',
        '=;=;',
        'folio_session=%FF',
      )
      .map((cookie) => ({ cookie })),
    fc.record({ authorization: token.map((t) => `Bearer ${t}`), 'x-api-key': headerText }),
  );
}

/** A credential by name, weighted, or (one time in five or so) a broken one. */
export function authFor(
  world: World,
  credentialWeights: Partial<Record<Credential, number>>,
): fc.Arbitrary<Auth> {
  const weighted = CREDENTIALS.map((credential) => ({
    weight: credentialWeights[credential] ?? 0,
    arbitrary: fc.constant<Auth>({ credential }),
  })).filter((entry) => entry.weight > 0);
  return fc.oneof(...weighted, {
    weight: 20,
    arbitrary: badAuth(world).map((headers): Auth => ({ headers })),
  });
}

/** How often API requests use each credential: mostly the owner's access token. */
export const API_CREDENTIALS: Partial<Record<Credential, number>> = {
  user: 45,
  user2: 4,
  readKey: 8,
  readKeyHeader: 4,
  writeKey: 4,
  writeKeyBasic: 2,
  cookie: 3,
  basicPassword: 1,
  none: 9,
};
