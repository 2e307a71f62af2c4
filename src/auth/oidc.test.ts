import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildTestApp, expectProblem, signUp, TEST_SECRET } from '../../test/helpers.js';

const AUDIENCE = 'https://api.folio.test';
const DISCOVERY = '/.well-known/openid-configuration';
const FALLBACK_JWKS = '/.well-known/jwks.json';

type KeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };
type Alg = 'RS256' | 'ES256';

interface Provider {
  issuer: string;
  keys: Record<Alg, KeyPair>;
  /** How many requests the provider answered for a path. */
  hits(path: string): number;
  jwksPath: string;
}

interface TokenOptions {
  alg?: Alg;
  kid?: string;
  key?: CryptoKey;
  iss?: string;
  aud?: string;
  /** Seconds since the epoch. */
  exp?: number;
}

const KIDS: Record<Alg, string> = { RS256: 'rsa-2024', ES256: 'ec-2024' };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A real identity provider on a free port, like Auth0: discovery document and JWKS, closed after the test. */
async function startProvider({ discovery = true } = {}): Promise<Provider> {
  const keys = { RS256: await generateKeyPair('RS256'), ES256: await generateKeyPair('ES256') };
  const jwks = {
    keys: await Promise.all(
      (['RS256', 'ES256'] as const).map(async (alg) => ({
        ...(await exportJWK(keys[alg].publicKey)),
        kid: KIDS[alg],
        alg,
        use: 'sig',
      })),
    ),
  };
  const jwksPath = discovery ? '/oauth/keys' : FALLBACK_JWKS;
  const counts = new Map<string, number>();
  let issuer = '';
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', issuer).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const body =
      path === DISCOVERY && discovery
        ? { issuer, jwks_uri: new URL(jwksPath, issuer).href }
        : path === jwksPath
          ? jwks
          : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  issuer = await listen(server);
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { issuer, keys, jwksPath, hits: (path) => counts.get(path) ?? 0 };
}

/** An issuer URL on which nothing listens. */
async function closedIssuer(): Promise<string> {
  const server = createServer();
  const issuer = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return issuer;
}

function token(provider: Provider, claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: options.kid ?? KIDS[alg], typ: 'JWT' })
    .setIssuer(options.iss ?? provider.issuer)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now - 60)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(options.key ?? provider.keys[alg].privateKey);
}

async function setup(options: { discovery?: boolean } = {}) {
  const provider = await startProvider(options);
  const { app, database } = await buildTestApp({ oidc: { issuer: provider.issuer, audience: AUDIENCE } });
  return { app, database, provider };
}

function get(app: FastifyInstance, url: string, bearer: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } });
}

function expectRejected(response: LightMyRequestResponse, code = 'invalid_token'): void {
  expectProblem(response, 401, code);
  expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
}

describe('Bearer tokens from an external identity provider', () => {
  it('answers GET /api/me with a new local user on the first RS256 token and the same user after', async () => {
    const { app, provider } = await setup();
    const bearer = await token(provider, {
      sub: 'auth0|ada',
      preferred_username: 'ada_l',
      email: 'ada@example.com',
    });
    const first = await get(app, '/api/me', bearer);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ username: 'ada_l', email: 'ada@example.com' });
    const again = await get(app, '/api/me', await token(provider, { sub: 'auth0|ada' }));
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().username).toBe('ada_l');
  });

  it('answers GET /api/me with a different user for a different sub', async () => {
    const { app, provider } = await setup();
    const ada = await get(
      app,
      '/api/me',
      await token(provider, { sub: 'auth0|ada', preferred_username: 'ada' }),
    );
    const bob = await get(
      app,
      '/api/me',
      await token(provider, { sub: 'auth0|bob', preferred_username: 'bob' }),
    );
    expect([ada.statusCode, bob.statusCode]).toEqual([200, 200]);
    expect(bob.json().id).not.toBe(ada.json().id);
    expect(bob.json().username).toBe('bob');
  });

  it('answers POST and GET /api/notes with the identity’s own notes', async () => {
    const { app, provider } = await setup();
    const ada = await token(provider, { sub: 'auth0|ada' });
    const created = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { authorization: `Bearer ${ada}` },
      payload: { title: 'From Auth0', content: 'hello' },
    });
    expect(created.statusCode).toBe(201);
    const list = await get(app, '/api/notes', ada);
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((note: { title: string }) => note.title)).toEqual(['From Auth0']);
    const other = await get(app, '/api/notes', await token(provider, { sub: 'auth0|bob' }));
    expect(other.json().data).toEqual([]);
  });

  it('creates one user when the first requests of a new sub arrive at once', async () => {
    const { app, database, provider } = await setup();
    const bearer = await token(provider, {
      sub: 'auth0|ada',
      preferred_username: 'ada',
      email: 'ada@example.com',
    });
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(app, '/api/me', bearer)));
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((answer) => answer.json().id)).size).toBe(1);
    const users = await database.db.selectFrom('users').select('id').execute();
    expect(users).toHaveLength(1);
  });

  it('answers GET /api/me for an ES256 token', async () => {
    const { app, provider } = await setup();
    const response = await get(app, '/api/me', await token(provider, { sub: 'auth0|ec' }, { alg: 'ES256' }));
    expect(response.statusCode).toBe(200);
  });

  it('answers 401 invalid_token for a token meant for another audience', async () => {
    const { app, provider } = await setup();
    const bearer = await token(provider, { sub: 'auth0|ada' }, { aud: 'https://someone-else.test' });
    expectRejected(await get(app, '/api/me', bearer));
  });

  it('answers 401 invalid_token for a token from another issuer signed with the same key', async () => {
    const { app, provider } = await setup();
    const bearer = await token(provider, { sub: 'auth0|ada' }, { iss: 'https://evil.example.com/' });
    expectRejected(await get(app, '/api/me', bearer));
  });

  it('answers 401 token_expired for an expired token', async () => {
    const { app, provider } = await setup();
    const exp = Math.floor(Date.now() / 1000) - 120;
    expectRejected(
      await get(app, '/api/me', await token(provider, { sub: 'auth0|ada' }, { exp })),
      'token_expired',
    );
  });

  it('answers 401 invalid_token for a token signed by a key outside the JWKS', async () => {
    const { app, provider } = await setup();
    const stranger = await generateKeyPair('RS256');
    const sameKid = await token(provider, { sub: 'auth0|ada' }, { key: stranger.privateKey });
    const unknownKid = await token(
      provider,
      { sub: 'auth0|ada' },
      { key: stranger.privateKey, kid: 'rogue' },
    );
    expectRejected(await get(app, '/api/me', sameKid));
    expectRejected(await get(app, '/api/me', unknownKid));
  });

  it('answers 401 for an unsecured token with alg none that claims the issuer', async () => {
    const { app, provider } = await setup();
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: provider.issuer, aud: AUDIENCE, sub: 'auth0|ada', iat: now, exp: now + 600 };
    const unsecured = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
    expectRejected(await get(app, '/api/me', unsecured));
  });

  it('answers 401 for an HS256 token that claims the issuer', async () => {
    const { app, provider } = await setup();
    const bearer = await new SignJWT({ sub: 'auth0|ada' })
      .setProtectedHeader({ alg: 'HS256', kid: KIDS.RS256 })
      .setIssuer(provider.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_SECRET));
    expectRejected(await get(app, '/api/me', bearer));
  });

  it('fetches the discovery document and the JWKS once for many requests', async () => {
    const { app, provider } = await setup();
    const subs = ['a', 'b', 'c', 'd', 'e', 'f'];
    const tokens = await Promise.all(
      subs.map((sub, i) => token(provider, { sub: `auth0|${sub}` }, { alg: i % 2 ? 'ES256' : 'RS256' })),
    );
    const concurrent = await Promise.all(tokens.map((bearer) => get(app, '/api/me', bearer)));
    expect(concurrent.every((answer) => answer.statusCode === 200)).toBe(true);
    for (const bearer of [...tokens, ...tokens]) {
      expect((await get(app, '/api/notes', bearer)).statusCode).toBe(200);
    }
    expect(provider.hits(DISCOVERY)).toBe(1);
    expect(provider.hits(provider.jwksPath)).toBe(1);
  });

  it('finds the JWKS at /.well-known/jwks.json when the provider has no discovery document', async () => {
    const { app, provider } = await setup({ discovery: false });
    const response = await get(app, '/api/me', await token(provider, { sub: 'auth0|ada' }));
    expect(response.statusCode).toBe(200);
    expect(provider.hits(DISCOVERY)).toBe(1);
    expect(provider.hits(FALLBACK_JWKS)).toBe(1);
  });

  it('gives a distinct account when preferred_username belongs to a local user', async () => {
    const { app, provider } = await setup();
    const local = await signUp(app, 'ada');
    const bearer = await token(provider, {
      sub: 'auth0|ada',
      preferred_username: 'ada',
      email: 'ada@example.com',
    });
    const external = await get(app, '/api/me', bearer);
    expect(external.statusCode).toBe(200);
    expect(external.json().id).not.toBe(local.id);
    expect(external.json().username.toLowerCase()).not.toBe('ada');
    expect(external.json().username).toMatch(/^[A-Za-z0-9_.-]{3,32}$/);
    const created = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { authorization: `Bearer ${bearer}` },
      payload: { title: 'Mine' },
    });
    expect(created.statusCode).toBe(201);
    const localMe = await app.inject({ method: 'GET', url: '/api/me', headers: local.headers });
    expect(localMe.json()).toMatchObject({ id: local.id, username: 'ada', email: 'ada@example.com' });
    expect(
      (await app.inject({ method: 'GET', url: '/api/notes', headers: local.headers })).json().data,
    ).toEqual([]);
  });

  it('cleans a preferred_username with characters outside a-z0-9_.-', async () => {
    const { app, provider } = await setup();
    const bearer = await token(provider, { sub: 'auth0|grace', preferred_username: 'Grace Hopper! <b>' });
    const response = await get(app, '/api/me', bearer);
    expect(response.statusCode).toBe(200);
    expect(response.json().username).toMatch(/^[a-z0-9_.-]{3,32}$/);
    expect(response.json().username).toContain('grace');
  });

  it('answers 503 unavailable with Retry-After when the provider cannot be reached', async () => {
    const issuer = await closedIssuer();
    const { app } = await buildTestApp({ oidc: { issuer, audience: AUDIENCE } });
    const rsa = await generateKeyPair('RS256');
    const bearer = await new SignJWT({ sub: 'auth0|ada' })
      .setProtectedHeader({ alg: 'RS256', kid: KIDS.RS256 })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(rsa.privateKey);
    const response = await get(app, '/api/me', bearer);
    expectProblem(response, 503, 'unavailable');
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('answers 401 to an identity token after POST /api/auth/logout with it', async () => {
    const { app, provider } = await setup();
    const bearer = await token(provider, { sub: 'auth0|leaver', jti: 'idp-token-1' });
    expect((await get(app, '/api/me', bearer)).statusCode).toBe(200);
    const out = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${bearer}` },
    });
    expect(out.statusCode).toBe(204);
    expectRejected(await get(app, '/api/me', bearer));
    expect(
      (await get(app, '/api/me', await token(provider, { sub: 'auth0|leaver', jti: 'idp-token-2' })))
        .statusCode,
    ).toBe(200);
  });

  it('keeps accepting Folio’s own access tokens', async () => {
    const { app } = await setup();
    const local = await signUp(app, 'local_user');
    const response = await app.inject({ method: 'GET', url: '/api/me', headers: local.headers });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: local.id, username: 'local_user' });
  });
});

describe('Bearer tokens from an identity provider Folio is not configured for', () => {
  it('answers GET /api/me with 401 invalid_token', async () => {
    const provider = await startProvider();
    const { app } = await buildTestApp();
    expectRejected(await get(app, '/api/me', await token(provider, { sub: 'auth0|ada' })));
    expect(provider.hits(DISCOVERY) + provider.hits(provider.jwksPath)).toBe(0);
  });
});
