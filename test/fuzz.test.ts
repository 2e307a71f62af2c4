import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { normalizeTags } from '../src/notes/notes.store.js';
import { buildTestApp, expectProblem, signUp, type SignedUp } from './helpers.js';
import { violations } from './fuzz/invariants.js';
import { operationsOf } from './fuzz/openapi.js';
import { describePlan, resolve, send, type Plan } from './fuzz/plan.js';
import { plans } from './fuzz/requests.js';
import { badFields, content, short, tags, title, type NoteText } from './fuzz/roundtrip.js';
import { World } from './fuzz/world.js';

// Property-based fuzzing of the HTTP API: requests generated from the OpenAPI document and made
// hostile (fuzz/hostile.ts), checked against what every answer must be (fuzz/invariants.ts); and
// notes of arbitrary Unicode, which must come back exactly as sent.
//
// FOLIO_FUZZ_RUNS sets the number of hostile requests (5000 by default, `npm run test:fuzz`
// sends 100,000); FOLIO_FUZZ_SEED replays a run (`random` picks a new seed, printed).

const RUNS = Number(process.env.FOLIO_FUZZ_RUNS ?? 5000);
const SEED =
  process.env.FOLIO_FUZZ_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FOLIO_FUZZ_SEED ?? 20_261_121);
// Measured on a 2-core machine: 2 ms a request on SQLite, 3 on PostgreSQL; the rest is margin.
const TIMEOUT = 60_000 + RUNS * 15;

function fails(method: string, url: string, response: LightMyRequestResponse, problems: string[]): Error {
  const body = response.body.length > 600 ? `${response.body.slice(0, 600)}…` : response.body;
  return new Error(
    `${problems.join('; ')}\n  ${method} ${url.slice(0, 300)}\n  → ${response.statusCode} ${String(response.headers['content-type'])} ${body}`,
  );
}

/** Requests after which a credential may have ended (sign-out, token reuse, key or session deleted). */
function mayEndCredentials(method: string, url: string, status: number): boolean {
  if (url.startsWith('/api/auth/refresh')) return true;
  return status < 400 && method !== 'GET' && method !== 'HEAD' && /^\/(api\/(auth|me|keys)|logout)/.test(url);
}

async function fuzz(app: FastifyInstance, world: World, runs: number) {
  const statuses = new Map<number, number>();
  const arbitrary = plans(world, operationsOf(app.swagger())).map((plan) =>
    Object.assign(plan, { [fc.toStringMethod]: () => describePlan(plan) }),
  );
  await fc.assert(
    fc.asyncProperty(arbitrary, async (plan: Plan) => {
      const request = resolve(plan, world);
      const response = await send(app, request);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      const seen = (response.raw.req as { url?: string } | undefined)?.url ?? request.url;
      const problems = violations(request.method, seen, response);
      if (problems.length > 0) throw fails(request.method, request.url, response, problems);
      world.learn(request.method, response);
      if (mayEndCredentials(request.method, request.url, response.statusCode)) await world.heal();
    }),
    { numRuns: runs, seed: SEED },
  );
  return statuses;
}

describe('the HTTP API under generated hostile requests', () => {
  it(
    `never answers 5xx and answers every /api error as problem+json (${RUNS} requests, seed ${SEED})`,
    async () => {
      const { app } = await buildTestApp({ rateLimit: 0 });
      await app.ready();
      const world = new World(app);
      await world.setUp();
      const started = Date.now();
      const statuses = await fuzz(app, world, RUNS);
      console.log(
        `fuzz: ${RUNS} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${SEED}); statuses`,
        Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      );
      // Most requests must get past authentication and validation, or the fuzzer tests only those.
      expect((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) + (statuses.get(204) ?? 0)).toBeGreaterThan(
        RUNS / 10,
      );
      const status = await app.inject({ url: '/api/status' });
      expect(status.statusCode).toBe(200);
    },
    TIMEOUT,
  );

  it(
    'answers requests past the API rate limit with 429 problem+json, and still serves afterwards',
    async () => {
      const { app } = await buildTestApp({ rateLimit: 20 });
      await app.ready();
      const world = new World(app);
      // Within the owner's 20 requests a minute, so that the set-up itself is not limited.
      await world.setUp({ hostileNotes: false });
      const statuses = await fuzz(app, world, Math.max(300, Math.floor(RUNS / 20)));
      expect(statuses.get(429)).toBeGreaterThan(0);
      // From a monitor's own address: the fuzzer's has spent its unauthenticated budget.
      const status = await app.inject({ url: '/api/status', remoteAddress: '10.99.0.2' });
      expect(status.statusCode).toBe(200);
    },
    TIMEOUT,
  );
});

describe('notes of arbitrary Unicode', () => {
  let marker = 0;

  async function check(app: FastifyInstance, user: SignedUp, url: string, id: number, sent: NoteText) {
    const response = await app.inject({ url, headers: { ...user.headers, accept: 'application/json' } });
    expect(response.statusCode, `${url}: ${response.body.slice(0, 300)}`).toBe(200);
    const body = response.json<{ data?: unknown[] } & Record<string, unknown>>();
    const note = (body.data ?? [body]).find((n) => (n as { id: number }).id === id) as NoteText | undefined;
    expect(note, `note ${id} missing from ${url}`).toBeDefined();
    expect(note!.title).toBe(sent.title);
    expect(note!.content).toBe(sent.content);
    expect(note!.tags).toEqual(normalizeTags(sent.tags));
  }

  type Change = { op: string; note?: NoteText & { id: number } };

  /** Every change after `cursor.at`, page by page; moves the cursor past them. */
  async function changesSince(
    app: FastifyInstance,
    user: SignedUp,
    cursor: { at: string },
  ): Promise<Change[]> {
    const changes: Change[] = [];
    for (let more = true; more;) {
      const response = await app.inject({
        url: `/api/sync?since=${cursor.at}&limit=1000`,
        headers: user.headers,
      });
      const page = response.json<{ changes: Change[]; next_cursor: string; has_more: boolean }>();
      changes.push(...page.changes);
      cursor.at = page.next_cursor;
      more = page.has_more;
    }
    return changes;
  }

  /** The note as the change feed has it now. */
  async function synced(
    app: FastifyInstance,
    user: SignedUp,
    cursor: { at: string },
    id: number,
    sent: NoteText,
  ) {
    const change = (await changesSince(app, user, cursor)).findLast((c) => c.note?.id === id);
    expect(change, `note ${id} missing from the change feed`).toBeDefined();
    expect([change!.note!.title, change!.note!.content, change!.note!.tags]).toEqual([
      sent.title,
      sent.content,
      normalizeTags(sent.tags),
    ]);
  }

  async function total(app: FastifyInstance, user: SignedUp): Promise<number> {
    const response = await app.inject({ url: '/api/notes?limit=1', headers: user.headers });
    return response.json<{ meta: { total: number } }>().meta.total;
  }

  it(
    'come back byte for byte from create, read, list, search, tag filter, sync and PATCH, or are refused whole',
    async () => {
      const { app } = await buildTestApp({ rateLimit: 0 });
      const user = await signUp(app);
      let stored = 0;
      const counts = { created: 0, refused: 0, patched: 0 };
      const cursor = { at: '0' };
      // Merge Patch: a member left out stays, `null` returns content and tags to their defaults.
      const patch = fc.record(
        { title, content: fc.option(content, { nil: null }), tags: fc.option(tags, { nil: null }) },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(fc.record({ title, content, tags }), patch, async (input, change) => {
          // A tag no generated text has, to find the note by search and filter.
          const tag = `fzmark${++marker}x`;
          const sent: NoteText = { ...input, tags: [...input.tags, tag] };
          const created = await app.inject({
            method: 'POST',
            url: '/api/notes',
            headers: user.headers,
            payload: sent,
          });
          const bad = badFields(sent);
          if (bad.length > 0) {
            counts.refused++;
            const problem = expectProblem(created, 400, 'validation_failed');
            expect(problem.errors!.map((e) => e.field).sort(), short(sent)).toEqual(bad);
            expect(await total(app, user)).toBe(stored);
            return;
          }
          expect(created.statusCode, `${short(sent)} → ${created.body.slice(0, 300)}`).toBe(201);
          stored++;
          counts.created++;
          const id = created.json<{ id: number }>().id;
          await check(app, user, `/api/notes/${id}`, id, sent);
          await check(app, user, `/api/notes?sort=-created_at&limit=5`, id, sent);
          await check(app, user, `/api/notes?q=${tag}`, id, sent);
          for (const t of new Set(sent.tags.slice(-3))) {
            await check(app, user, `/api/notes?tag=${encodeURIComponent(t)}&limit=100`, id, sent);
          }
          await synced(app, user, cursor, id, sent);

          const patched = await app.inject({
            method: 'PATCH',
            url: `/api/notes/${id}`,
            headers: { ...user.headers, 'content-type': 'application/merge-patch+json' },
            payload: JSON.stringify(change),
          });
          const wrong = badFields({
            ...change,
            content: change.content ?? undefined,
            tags: change.tags ?? undefined,
          });
          if (wrong.length > 0) {
            expect(
              expectProblem(patched, 400, 'validation_failed')
                .errors!.map((e) => e.field)
                .sort(),
              short(change),
            ).toEqual(wrong);
            await check(app, user, `/api/notes/${id}`, id, sent);
            return;
          }
          counts.patched++;
          expect(patched.statusCode, patched.body.slice(0, 300)).toBe(200);
          const after: NoteText = {
            title: change.title ?? sent.title,
            content: change.content === null ? '' : (change.content ?? sent.content),
            tags: change.tags === null ? [] : (change.tags ?? sent.tags),
          };
          await check(app, user, `/api/notes/${id}`, id, after);
          // A patch that changes nothing makes no change in the feed either.
          if (patched.json<{ version: number }>().version > 1) await synced(app, user, cursor, id, after);
        }),
        { numRuns: Math.max(150, Math.floor(RUNS / 25)), seed: SEED },
      );
      console.log('round trips:', counts);
      expect(counts.created).toBeGreaterThan(10);
      expect(counts.refused).toBeGreaterThan(10);
    },
    TIMEOUT,
  );
});
