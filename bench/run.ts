import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { SEARCH_WORD } from './data.js';
import { hasWrk, runLoad, type LoadOptions, type LoadResult, type Scenario } from './load.js';
import { scaleRun } from './scale.js';
import {
  accessToken,
  buildFolio,
  ROOT,
  rssMb,
  seedFolio,
  startFloor,
  startFolio,
  type Running,
} from './servers.js';

// npm run bench [-- --notes N --seconds S --warmup S --connections C --rounds R --tool wrk|autocannon
//                   --only get-key,create --skip-workers]
//
// Builds Folio, seeds a fresh database through Folio's stores, starts the production server and
// the floor (bench/floor.ts), and drives both with each scenario in turn, alternating which goes
// first, so drift on a shared machine falls on both. Prints a table with Folio/floor per scenario
// and writes bench/results/latest.json. With --notes above 10,000 it runs the scale run instead.

const { values: args } = parseArgs({
  options: {
    notes: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    tool: { type: 'string' },
    scale: { type: 'string' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results') },
    'skip-build': { type: 'boolean', default: false },
    // Runs src/cli.ts through tsx instead of the build (the test of this harness; not for figures).
    'from-source': { type: 'boolean', default: false },
    'skip-workers': { type: 'boolean', default: false },
    // Only these scenarios (comma-separated names, e.g. get-key,create): for quick comparisons.
    only: { type: 'string' },
  },
});

const NOTES = Number(args.notes);
const ROUNDS = Number(args.rounds);
const tool: LoadOptions['tool'] =
  args.tool === 'wrk' || args.tool === 'autocannon' ? args.tool : (await hasWrk()) ? 'wrk' : 'autocannon';
const measure: LoadOptions = { connections: Number(args.connections), seconds: Number(args.seconds), tool };
const warm: LoadOptions = { ...measure, seconds: Number(args.warmup) };

/** Folio's share of the floor each scenario must reach (issue 7); the others are reported only. */
const TARGETS: Record<string, number> = { 'get-key': 0.55, 'list-page': 0.75, create: 0.55 };

interface Row {
  scenario: string;
  description: string;
  floor: LoadResult;
  folio: LoadResult;
  ratio: number;
  target?: number;
  folioRssMb: number;
}

function mean(results: LoadResult[]): LoadResult {
  const avg = (pick: (r: LoadResult) => number) =>
    results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  return {
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    rps: avg((r) => r.rps),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

const fromSource = args['from-source'];

function build(): void {
  if (args['skip-build'] || fromSource) return;
  buildFolio();
}

/** Ids spread over the seeded notes, so reads touch the whole table. */
function spread(count: number, take: number): number[] {
  const n = Math.min(count, take);
  return Array.from({ length: n }, (_, i) => 1 + Math.floor((i * count) / n));
}

/** The floor's cursor after `depth` notes in its list order (its own format: [updated_at, id]). */
function floorCursor(file: string, depth: number): string {
  const sqlite = new SQLite(file, { readonly: true });
  try {
    const row = sqlite
      .prepare('select updated_at, id from notes order by updated_at desc, id desc limit 1 offset ?')
      .get(depth - 1) as { updated_at: string; id: number };
    return Buffer.from(JSON.stringify([row.updated_at, row.id])).toString('base64url');
  } finally {
    sqlite.close();
  }
}

async function folioCursor(folio: Running, key: string, page: number): Promise<string> {
  const response = await fetch(`${folio.url}/api/notes?page=${page}&limit=20`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await response.json()) as { meta: { next_cursor: string | null } };
  if (!body.meta.next_cursor) throw new Error(`no cursor after page ${page}`);
  return body.meta.next_cursor;
}

async function main(): Promise<void> {
  build();
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-bench-'));
  const folioFile = path.join(dir, 'folio.db');
  const floorFile = path.join(dir, 'floor.db');
  const logFile = path.join(dir, 'folio.log');
  let folio: Running | undefined;
  let floor: Running | undefined;
  try {
    const key = await seedFolio(folioFile, NOTES);
    floor = await startFloor(floorFile, NOTES);
    folio = await startFolio(folioFile, { logFile, fromSource });
    const jwt = await accessToken(folio.url);
    const depthPage = Math.max(1, Math.floor(NOTES / 2 / 20));
    const deepFolio = await folioCursor(folio, key, depthPage);
    const deepFloor = floorCursor(floorFile, depthPage * 20);
    const ids = spread(NOTES, 1000);
    const pages = Array.from({ length: Math.max(1, Math.min(10, Math.floor(NOTES / 20))) }, (_, i) => i + 1);
    const json = { 'content-type': 'application/json' };
    const byKey = { authorization: `Bearer ${key}` };
    const created = JSON.stringify({
      title: 'Bench note',
      content: 'Written by the benchmark.',
      tags: ['bench'],
    });
    const patched = JSON.stringify({ title: 'Patched by the benchmark' });
    // Each PATCH run gets its own notes, all at version 1, so If-Match never starts stale.
    const patchRuns = 2 * ROUNDS * 2 + 2;
    const poolSize = Math.max(1, Math.min(200, Math.floor(NOTES / 2 / patchRuns)));
    let pool = 0;
    const nextPool = () => {
      pool += 1;
      return Array.from({ length: poolSize }, (_, i) => Math.floor(NOTES / 2) + pool * poolSize + i);
    };

    type Pair = { description: string; folio: () => Scenario; floor: () => Scenario };
    const scenarios: Record<string, Pair> = {
      'get-key': {
        description: 'GET one note, API key',
        folio: () => ({
          name: 'get-key',
          method: 'GET',
          paths: ids.map((id) => `/api/notes/${id}`),
          headers: byKey,
        }),
        floor: () => ({
          name: 'get-key',
          method: 'GET',
          paths: ids.map((id) => `/notes/${id}`),
          headers: {},
        }),
      },
      'get-jwt': {
        description: 'GET one note, JWT',
        folio: () => ({
          name: 'get-jwt',
          method: 'GET',
          paths: ids.map((id) => `/api/notes/${id}`),
          headers: { authorization: `Bearer ${jwt}` },
        }),
        floor: () => ({
          name: 'get-jwt',
          method: 'GET',
          paths: ids.map((id) => `/notes/${id}`),
          headers: {},
        }),
      },
      'list-page': {
        description: 'list, page of 20 with total',
        folio: () => ({
          name: 'list-page',
          method: 'GET',
          paths: pages.map((p) => `/api/notes?page=${p}`),
          headers: byKey,
        }),
        floor: () => ({
          name: 'list-page',
          method: 'GET',
          paths: pages.map((p) => `/notes?page=${p}`),
          headers: {},
        }),
      },
      'keyset-deep': {
        description: `keyset page at depth ${depthPage * 20}`,
        folio: () => ({
          name: 'keyset-deep',
          method: 'GET',
          paths: [`/api/notes?after=${deepFolio}`],
          headers: byKey,
        }),
        floor: () => ({
          name: 'keyset-deep',
          method: 'GET',
          paths: [`/notes?after=${deepFloor}`],
          headers: {},
        }),
      },
      search: {
        description: `search q=${SEARCH_WORD}`,
        folio: () => ({
          name: 'search',
          method: 'GET',
          paths: [`/api/notes?q=${SEARCH_WORD}`],
          headers: byKey,
        }),
        floor: () => ({ name: 'search', method: 'GET', paths: [`/notes?q=${SEARCH_WORD}`], headers: {} }),
      },
      patch: {
        description: 'PATCH with If-Match',
        folio: () => ({
          name: 'patch',
          method: 'PATCH',
          paths: nextPool().map((id) => `/api/notes/${id}`),
          headers: { ...byKey, ...json },
          body: patched,
          ifMatch: true,
        }),
        floor: () => ({
          name: 'patch',
          method: 'PATCH',
          paths: nextPool().map((id) => `/notes/${id}`),
          headers: json,
          body: patched,
          ifMatch: true,
        }),
      },
      create: {
        description: 'POST create',
        folio: () => ({
          name: 'create',
          method: 'POST',
          paths: ['/api/notes'],
          headers: { ...byKey, ...json },
          body: created,
        }),
        floor: () => ({ name: 'create', method: 'POST', paths: ['/notes'], headers: json, body: created }),
      },
    };

    process.stderr.write(
      `${NOTES.toLocaleString('en')} notes, ${measure.connections} connections, ${measure.seconds} s per run ` +
        `after ${warm.seconds} s of warm-up, ${ROUNDS} round(s), load by ${tool}\n`,
    );
    const rows: Row[] = [];
    const only = args.only?.split(',');
    for (const [name, pair] of Object.entries(scenarios)) {
      if (only && !only.includes(name)) continue;
      const results = { floor: [] as LoadResult[], folio: [] as LoadResult[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['floor', 'folio'] as const) : (['folio', 'floor'] as const);
        for (const side of order) {
          const server = side === 'floor' ? floor : folio;
          await runLoad(server.url, pair[side](), warm);
          results[side].push(await runLoad(server.url, pair[side](), measure));
        }
      }
      const row: Row = {
        scenario: name,
        description: pair.description,
        floor: mean(results.floor),
        folio: mean(results.folio),
        ratio: 0,
        folioRssMb: rssMb(folio.pid),
        ...(TARGETS[name] !== undefined && { target: TARGETS[name] }),
      };
      row.ratio = row.folio.rps / row.floor.rps;
      rows.push(row);
      const rounds = (side: 'floor' | 'folio') => results[side].map((r) => Math.round(r.rps)).join(' / ');
      process.stderr.write(
        `  ${name}: floor ${Math.round(row.floor.rps)} req/s (${rounds('floor')}), ` +
          `Folio ${Math.round(row.folio.rps)} req/s (${rounds('folio')})\n`,
      );
    }
    const rssAfter = rssMb(folio.pid);
    const floorRss = rssMb(floor.pid);
    await folio.stop();
    folio = undefined;

    // Cold start on the existing database, then the same GET through two workers.
    const cold = await startFolio(folioFile, { logFile, fromSource });
    await cold.stop();
    let workers: { result: LoadResult; ratio: number } | undefined;
    const single = rows.find((row) => row.scenario === 'get-key')?.folio.rps;
    if (!args['skip-workers'] && single !== undefined) {
      folio = await startFolio(folioFile, { logFile, workers: 2, fromSource });
      await runLoad(folio.url, scenarios['get-key']!.folio(), warm);
      const result = await runLoad(folio.url, scenarios['get-key']!.folio(), measure);
      workers = { result, ratio: result.rps / single };
      await folio.stop();
      folio = undefined;
    }

    const report = {
      at: new Date().toISOString(),
      notes: NOTES,
      tool,
      connections: measure.connections,
      seconds: measure.seconds,
      rounds: ROUNDS,
      node: process.version,
      scenarios: rows,
      folioRssMbAfterRun: rssAfter,
      floorRssMbAfterRun: floorRss,
      coldStartMs: Math.round(cold.startMs),
      ...(workers && { workers2: workers }),
    };
    printReport(report, rows);
    mkdirSync(args.out, { recursive: true });
    const text = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(path.join(args.out, 'latest.json'), text);
    writeFileSync(path.join(args.out, `run-${report.at.replace(/[:.]/g, '-')}.json`), text);
    process.stderr.write(`results: ${path.relative(process.cwd(), path.join(args.out, 'latest.json'))}\n`);
  } finally {
    await folio?.stop();
    await floor?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printReport(
  report: {
    folioRssMbAfterRun: number;
    coldStartMs: number;
    workers2?: { result: LoadResult; ratio: number };
  },
  rows: Row[],
): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const ms = (n: number) => n.toFixed(2);
  const lines = [
    '| scenario | floor req/s | Folio req/s | Folio/floor | target | Folio p50 ms | Folio p99 ms | floor p99 ms | errors | Folio RSS MB |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  const failures: string[] = [];
  for (const row of rows) {
    const met = row.target === undefined || row.ratio >= row.target;
    if (!met) failures.push(`${row.scenario} ${row.ratio.toFixed(2)}× < ${row.target}×`);
    lines.push(
      `| ${row.description} | ${fmt(row.floor.rps)} | ${fmt(row.folio.rps)} | ${row.ratio.toFixed(2)}× | ` +
        `${row.target === undefined ? '' : `≥ ${row.target}× ${met ? 'ok' : 'MISSED'}`} | ${ms(row.folio.p50)} | ` +
        `${ms(row.folio.p99)} | ${ms(row.floor.p99)} | ${row.folio.errors + row.floor.errors} | ${row.folioRssMb} |`,
    );
  }
  const get = rows.find((row) => row.scenario === 'get-key');
  const checks: [string, boolean][] = [
    [`GET one note p99 ${get ? ms(get.folio.p99) : '?'} ms (≤ 5)`, get !== undefined && get.folio.p99 <= 5],
    [`Folio RSS after the run ${report.folioRssMbAfterRun} MB (≤ 150)`, report.folioRssMbAfterRun <= 150],
    [`cold start to first answer ${report.coldStartMs} ms (≤ 500)`, report.coldStartMs <= 500],
  ];
  if (report.workers2) {
    checks.push([
      `--workers 2: ${fmt(report.workers2.result.rps)} req/s, ${report.workers2.ratio.toFixed(2)}× one process (≥ 1.6)`,
      report.workers2.ratio >= 1.6,
    ]);
  }
  lines.push('');
  for (const [text, ok] of checks) {
    lines.push(`- ${text}: ${ok ? 'ok' : 'MISSED'}`);
    if (!ok) failures.push(text);
  }
  console.log(lines.join('\n'));
  console.log(failures.length === 0 ? '\nall targets met' : `\ntargets missed: ${failures.join('; ')}`);
}

if (args.scale !== undefined || NOTES > 10_000) {
  build();
  const steps = args.scale
    ? args.scale.split(',').map(Number)
    : [10_000, 100_000, 1_000_000].filter((n) => n < NOTES);
  if (!steps.includes(NOTES) && args.scale === undefined) steps.push(NOTES);
  await scaleRun(steps, args.out, fromSource);
} else {
  await main();
}
