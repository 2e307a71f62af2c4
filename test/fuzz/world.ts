import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import { createNote, signUp, TEST_SECRET } from '../helpers.js';
import { NASTY_STRINGS } from './hostile.js';

// The server's state as the fuzzer sees it: who can sign in, with which credentials, and which
// ids exist. Requests name credentials and ids symbolically (fuzz/requests.ts); the world
// resolves them at send time, and heals credentials that a fuzzed request revoked (logout,
// refresh-token reuse, a deleted key), so the rest of the run still gets past authentication.

/** The password of the world's users (helpers.signUp's). */
export const PASSWORD = 'correct horse battery';
/** Heals sign in from their own address: the fuzzer's failed sign-ins lock out only its own. */
const HEAL_ADDRESS = '10.99.0.1';

export interface Account {
  id: number;
  username: string;
  email: string;
  access: string;
  refresh: string;
}

/** The world's working credentials, by name. */
export const CREDENTIALS = [
  'user',
  'user2',
  'readKey',
  'readKeyHeader',
  'writeKey',
  'writeKeyBasic',
  'cookie',
  'basicPassword',
  'none',
] as const;
export type Credential = (typeof CREDENTIALS)[number];

export type Pool = 'note' | 'foreignNote' | 'key' | 'session' | 'webhook';

function basic(login: string, secret: string): string {
  return `Basic ${Buffer.from(`${login}:${secret}`).toString('base64')}`;
}

function cookiesOf(response: LightMyRequestResponse): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of [response.headers['set-cookie'] ?? []].flat()) {
    const match = /^([^=]+)=([^;]*)/.exec(line);
    if (match) jar[match[1]!] = match[2]!;
  }
  return jar;
}

/** The fuzzer's view of the server: users, credentials and ids, kept working through the run. */
export class World {
  readonly accounts: Account[] = [];
  readonly pools: Record<Pool, number[]> = { note: [], foreignNote: [], key: [], session: [], webhook: [] };
  readKey = '';
  writeKey = '';
  /** The page session: its cookies, and the CSRF token its forms carry. */
  browser = { session: '', csrfCookie: '', csrf: '' };
  /** Tokens and keys that look right and are not: expired, revoked, signed with another secret. */
  readonly badTokens: string[] = [];

  constructor(readonly app: FastifyInstance) {}

  private async must(options: InjectOptions, status: number): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ remoteAddress: HEAL_ADDRESS, ...options });
    if (response.statusCode !== status) {
      throw new Error(
        `fuzz set-up: ${options.method ?? 'GET'} ${String(options.url)} answered ${response.statusCode} ${response.body}`,
      );
    }
    return response;
  }

  /**
   * Two users with notes, keys, a page session and a few well-formed but useless tokens; with
   * `hostileNotes`, also a note for each hostile string the API takes as content.
   */
  async setUp({ hostileNotes = true } = {}): Promise<void> {
    for (const name of ['fuzz_owner', 'fuzz_other']) {
      const user = await signUp(this.app, name);
      const account = {
        id: user.id,
        username: user.username,
        email: `${user.username}@example.com`,
        access: user.token,
        refresh: '',
      };
      this.accounts.push(account);
      await this.login(account);
    }
    const [owner, other] = this.accounts as [Account, Account];
    for (let i = 0; i < 4; i++) {
      const mine = await createNote(this.app, this.signedUp(owner), {
        title: `mine ${i}`,
        content: `**note** ${i}`,
        tags: ['fuzz', `t${i}`],
      });
      this.pools.note.push(mine.id);
      const theirs = await createNote(this.app, this.signedUp(other), { title: `theirs ${i}` });
      this.pools.foreignNote.push(theirs.id);
    }
    // Notes whose content the pages must render, however hostile: each string the API takes.
    for (const [i, content] of hostileNotes ? NASTY_STRINGS.entries() : []) {
      const response = await this.app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: this.bearer(owner),
        payload: { title: `hostile ${i}`, content },
      });
      if (response.statusCode === 201) this.pools.note.push(response.json<{ id: number }>().id);
    }
    await this.makeKeys();
    // A key that expires two seconds from now: expired for the rest of the run.
    const expiring = await this.must(
      {
        method: 'POST',
        url: '/api/keys',
        headers: this.bearer(owner),
        payload: { name: 'expiring', expires_at: new Date(Date.now() + 2000).toISOString() },
      },
      201,
    );
    this.badTokens.push(expiring.json<{ key: string }>().key);
    const sessions = await this.must({ url: '/api/me/sessions', headers: this.bearer(owner) }, 200);
    this.pools.session.push(...sessions.json<{ data: { id: number }[] }>().data.map((s) => s.id));
    await this.signInBrowser();
    const key = new TextEncoder().encode(TEST_SECRET);
    const past = Math.floor(Date.now() / 1000) - 3600;
    this.badTokens.push(
      await new SignJWT({ sid: 1 })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('folio')
        .setSubject(String(owner.id))
        .setJti('x')
        .setIssuedAt(past - 900)
        .setExpirationTime(past)
        .sign(key),
      await new SignJWT({ sid: 1 })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('folio')
        .setSubject(String(owner.id))
        .setJti('y')
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(new TextEncoder().encode('another secret that is long enough 0123')),
      await new SignJWT({ sid: '1' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('folio')
        .setSubject('not a number')
        .setJti('z')
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(key),
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('elsewhere')
        .setSubject('1')
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(key),
      'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJmb2xpbyIsInN1YiI6IjEiLCJzaWQiOjF9.',
    );
    // A token of a session that has ended.
    const ended = { ...owner };
    await this.login(ended);
    await this.must({ method: 'POST', url: '/api/auth/logout', headers: this.bearer(ended) }, 204);
    this.badTokens.push(ended.access);
  }

  private signedUp(account: Account) {
    return {
      id: account.id,
      username: account.username,
      token: account.access,
      headers: this.bearer(account),
    };
  }

  private bearer(account: Account): { authorization: string } {
    return { authorization: `Bearer ${account.access}` };
  }

  private async login(account: Account): Promise<void> {
    const response = await this.must(
      { method: 'POST', url: '/api/auth/login', payload: { username: account.username, password: PASSWORD } },
      200,
    );
    const tokens = response.json<{ access_token: string; refresh_token: string }>();
    account.access = tokens.access_token;
    account.refresh = tokens.refresh_token;
  }

  private async makeKeys(): Promise<void> {
    const owner = this.accounts[0]!;
    const read = await this.must(
      {
        method: 'POST',
        url: '/api/keys',
        headers: this.bearer(owner),
        payload: { name: 'read only', scopes: ['notes:read'] },
      },
      201,
    );
    const write = await this.must(
      { method: 'POST', url: '/api/keys', headers: this.bearer(owner), payload: { name: 'writer' } },
      201,
    );
    this.readKey = read.json<{ key: string }>().key;
    this.writeKey = write.json<{ key: string }>().key;
    this.pools.key.push(read.json<{ id: number }>().id, write.json<{ id: number }>().id);
  }

  private async signInBrowser(): Promise<void> {
    const page = await this.must({ url: '/login' }, 200);
    const csrfCookie = cookiesOf(page).folio_csrf ?? '';
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const owner = this.accounts[0]!;
    const response = await this.must(
      {
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `folio_csrf=${csrfCookie}` },
        payload: new URLSearchParams({
          _csrf: csrf,
          username: owner.username,
          password: PASSWORD,
        }).toString(),
      },
      303,
    );
    this.browser = { session: cookiesOf(response).folio_session ?? '', csrfCookie, csrf };
  }

  /** The headers that present a credential. */
  headersFor(credential: Credential): Record<string, string> {
    const [owner, other] = this.accounts as [Account, Account];
    switch (credential) {
      case 'user':
        return this.bearer(owner);
      case 'user2':
        return this.bearer(other);
      case 'readKey':
        return { authorization: `Bearer ${this.readKey}` };
      case 'readKeyHeader':
        return { 'x-api-key': this.readKey };
      case 'writeKey':
        return { authorization: `Bearer ${this.writeKey}` };
      case 'writeKeyBasic':
        return { authorization: basic(owner.username, this.writeKey) };
      case 'cookie':
        return { cookie: this.cookie(true) };
      case 'basicPassword':
        return { authorization: basic(owner.email, PASSWORD) };
      case 'none':
        return {};
    }
  }

  /** The page session's cookies (and the CSRF cookie, for forms). */
  cookie(withCsrf: boolean): string {
    const session = `folio_session=${this.browser.session}`;
    return withCsrf ? `${session}; folio_csrf=${this.browser.csrfCookie}` : session;
  }

  /** An id from a pool (1 when the pool is empty). */
  id(pool: Pool, index: number): number {
    const ids = this.pools[pool];
    return ids.length === 0 ? 1 : ids[index % ids.length]!;
  }

  /** Remembers ids that a fuzzed request created, so later requests can use them. */
  learn(method: string, response: LightMyRequestResponse): void {
    if (method !== 'POST' || response.statusCode >= 400) return;
    const location = String(response.headers.location ?? '');
    const created = /^\/(?:api\/)?(notes|webhooks)\/(\d+)$/.exec(location);
    if (!created) return;
    const pool = created[1] === 'notes' ? this.pools.note : this.pools.webhook;
    if (pool.length < 500) pool.push(Number(created[2]));
  }

  /**
   * Puts back every credential a fuzzed request may have ended: a logout, a reused refresh
   * token (which revokes its session), a deleted session or key, a page sign-out.
   */
  async heal(): Promise<void> {
    // Only a 401 means the credential ended: a 429 (the rate-limit test) says nothing about it.
    for (const account of this.accounts) {
      const me = await this.app.inject({
        url: '/api/me',
        headers: this.bearer(account),
        remoteAddress: HEAL_ADDRESS,
      });
      if (me.statusCode === 401) await this.login(account);
    }
    const keys = await Promise.all(
      [this.readKey, this.writeKey].map((key) =>
        this.app.inject({
          url: '/api/notes?limit=1',
          headers: { 'x-api-key': key },
          remoteAddress: HEAL_ADDRESS,
        }),
      ),
    );
    if (keys.some((response) => response.statusCode === 401)) await this.makeKeys();
    const page = await this.app.inject({
      url: '/trash',
      headers: { cookie: this.cookie(false) },
      remoteAddress: HEAL_ADDRESS,
    });
    if (page.statusCode === 303) await this.signInBrowser();
  }
}
