import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { DEEP, nestedJson } from './hostile.js';
import type { Credential, Pool, World } from './world.js';

// A fuzzed request is planned symbolically (which credential, which pool an id comes from) and
// resolved against the world when it is sent, so a plan stays meaningful while the server's
// state moves on, and replays the same way from the same seed.

export type IdRef = { pool: Pool; index: number } | { raw: string };

export type Body =
  | { kind: 'json'; value: unknown; depth: number }
  | { kind: 'raw'; data: string | Buffer }
  | { kind: 'form'; fields: [string, string][]; csrf: 'valid' | 'missing' | 'wrong' };

export type Auth = { credential: Credential } | { headers: Record<string, string> };

export interface Plan {
  method: string;
  /** A path with `{id}` placeholders, filled from `ids` in order. */
  path: string;
  ids: IdRef[];
  suffix: string;
  query: [string, string][] | string;
  auth: Auth;
  headers: Record<string, string>;
  contentType: string | undefined;
  body: Body | undefined;
  remoteAddress: string;
}

/** Percent-encodes text as UTF-8 (lone surrogates become U+FFFD, as any client's encoder would do). */
export function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Query strings are cut where a real server's request line would end (Node: 16 KiB of headers). */
const QUERY_TEXT_LIMIT = 4000;

export interface Sent {
  method: string;
  url: string;
  options: InjectOptions;
}

/** The request a plan stands for, with today's credentials and ids. */
export function resolve(plan: Plan, world: World): Sent {
  let index = 0;
  const path =
    plan.path.replace(/\{\w+\}/g, () => {
      const ref = plan.ids[index++] ?? { pool: 'note' as const, index: 0 };
      return 'raw' in ref ? ref.raw : String(world.id(ref.pool, ref.index));
    }) + plan.suffix;
  const query =
    typeof plan.query === 'string'
      ? plan.query
      : plan.query
          .map(([name, value]) => `${encode(name)}=${encode(value.slice(0, QUERY_TEXT_LIMIT))}`)
          .join('&');
  const url = query ? `${path}?${query}` : path;
  const headers: Record<string, string> = { ...plan.headers };
  if ('credential' in plan.auth) Object.assign(headers, world.headersFor(plan.auth.credential));
  else Object.assign(headers, plan.auth.headers);
  if (plan.contentType !== undefined) headers['content-type'] = plan.contentType;
  let payload: string | Buffer | undefined;
  const body = plan.body;
  if (body?.kind === 'json') {
    payload = (JSON.stringify(body.value) ?? 'null').replaceAll(
      JSON.stringify(DEEP),
      nestedJson(body.depth, body.depth % 2 ? 'array' : 'object'),
    );
  } else if (body?.kind === 'raw') {
    payload = body.data;
  } else if (body?.kind === 'form') {
    const fields = [...body.fields];
    if (body.csrf !== 'missing') {
      fields.unshift(['_csrf', body.csrf === 'valid' ? world.browser.csrf : 'forged']);
      if (headers.cookie?.startsWith('folio_session=') && !headers.cookie.includes('folio_csrf')) {
        headers.cookie = world.cookie(true);
      }
    }
    payload = fields.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
  }
  const options: InjectOptions = {
    method: plan.method as 'GET',
    url,
    headers,
    remoteAddress: plan.remoteAddress,
  };
  if (payload !== undefined) options.payload = payload;
  return { method: plan.method, url, options };
}

/** Sends a request; an event stream that opens is read up to its first bytes, then closed. */
export async function send(app: FastifyInstance, sent: Sent): Promise<LightMyRequestResponse> {
  if (!sent.url.startsWith('/api/events')) return app.inject(sent.options);
  const response = await app.inject({ ...sent.options, payloadAsStream: true });
  const stream = response.stream();
  if (String(response.headers['content-type']).startsWith('text/event-stream')) {
    stream.destroy();
    (response.raw.res as unknown as { req: { destroy(): void } }).req.destroy();
    return Object.assign(response, { body: '', payload: '' });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const body = Buffer.concat(chunks).toString('utf8');
  return Object.assign(response, { body, payload: body, json: () => JSON.parse(body) as unknown });
}

/** A plan as one readable line, long strings and buffers cut, for fast-check's counterexample report. */
export function describePlan(plan: Plan): string {
  return JSON.stringify(plan, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    if (Buffer.isBuffer(original)) {
      const hex = original.subarray(0, 60).toString('hex');
      return `<Buffer ${hex}${original.length > 60 ? '…' : ''} (${original.length} bytes)>`;
    }
    if (typeof value === 'string' && value.length > 200)
      return `${value.slice(0, 200)}…(${value.length} chars)`;
    return value;
  });
}
