import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { signUp, type SignedUp } from './helpers.js';

// A browser for page tests over app.inject: cookies kept and sent back, forms filled with their
// CSRF token.

export const PASSWORD = 'correct horse battery';
export const FORM = 'application/x-www-form-urlencoded';
export type Fields = Record<string, string>;

/** A browser over app.inject: keeps the cookies Set-Cookie gives it and sends them back. */
export class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly app: FastifyInstance) {}

  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(options: InjectOptions): Promise<LightMyRequestResponse> {
    const headers = { ...(this.jar.size > 0 && { cookie: this.cookie }), ...options.headers };
    const response = await this.app.inject({ ...options, headers });
    for (const line of [response.headers['set-cookie'] ?? []].flat()) {
      const [, name = '', value = '', attributes = ''] = /^([^=]+)=([^;]*)(.*)$/.exec(line) ?? [];
      if (/;\s*max-age=0\b/i.test(attributes)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }

  get(url: string, headers: Record<string, string> = {}) {
    return this.request({ method: 'GET', url, headers });
  }

  post(url: string, fields: Fields) {
    const payload = new URLSearchParams(fields).toString();
    return this.request({ method: 'POST', url, headers: { 'content-type': FORM }, payload });
  }

  /** The CSRF token of the form on a page. */
  async csrf(url: string): Promise<string> {
    const page = await this.get(url);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no _csrf field on ${url}: ${page.statusCode} ${page.body}`);
    return token;
  }

  /** Fills in the form on `page` and sends it to `action`, with the page's CSRF token. */
  async submit(page: string, action: string, fields: Fields) {
    return this.post(action, { _csrf: await this.csrf(page), ...fields });
  }
}

/** A user (with a bearer header for the API) signed in in a browser through the login form. */
export async function signedIn(app: FastifyInstance): Promise<{ user: SignedUp; browser: Browser }> {
  const user = await signUp(app);
  const browser = new Browser(app);
  const token = await browser.csrf('/login');
  const response = await browser.post('/login', {
    _csrf: token,
    username: user.username,
    password: PASSWORD,
  });
  if (response.statusCode !== 303) throw new Error(`login failed: ${response.statusCode}`);
  return { user, browser };
}
