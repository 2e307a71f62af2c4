import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lineChart } from './chart.js';
import { SEARCH_WORD } from './data.js';
import { seedFolio, startFolio } from './servers.js';

// The scale run (npm run bench -- --notes 1000000): one user's notes grow through each step
// (10k, 100k, 1M), and at each the latency of the list queries is measured one request at a
// time, so the numbers are the queries' own cost and not queueing.

const SAMPLES = 100;
const WARMUP = 20;

interface Query {
  /** The same at every step, so the chart can join the points. */
  kind: string;
  path: string;
}

export interface ScalePoint {
  notes: number;
  queries: Record<string, { p50: number; p99: number }>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(url: string, key: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return performance.now() - started;
}

async function cursorAfter(base: string, key: string, page: number): Promise<string> {
  const response = await fetch(`${base}/api/notes?page=${page}&limit=20`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await response.json()) as { meta: { next_cursor: string | null } };
  if (!body.meta.next_cursor) throw new Error(`no cursor after page ${page}`);
  return body.meta.next_cursor;
}

async function queriesFor(base: string, key: string, notes: number): Promise<Query[]> {
  const pages = Math.ceil(notes / 20);
  const deep = Math.min(500, pages);
  const deepest = Math.max(deep, Math.floor(pages * 0.9));
  return [
    { kind: 'first page (page mode, with total)', path: '/api/notes?page=1' },
    { kind: 'page 500 by offset', path: `/api/notes?page=${deep}` },
    { kind: 'keyset page 2', path: `/api/notes?after=${await cursorAfter(base, key, 1)}` },
    { kind: 'keyset page 500', path: `/api/notes?after=${await cursorAfter(base, key, deep - 1)}` },
    { kind: 'keyset at 90% depth', path: `/api/notes?after=${await cursorAfter(base, key, deepest - 1)}` },
    { kind: 'search', path: `/api/notes?q=${SEARCH_WORD}` },
  ];
}

/** Seeds, serves and measures at each step; prints a table, writes scale.json and scale.svg. */
export async function scaleRun(steps: number[], outDir: string, fromSource = false): Promise<ScalePoint[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-scale-'));
  const file = path.join(dir, 'folio.db');
  const points: ScalePoint[] = [];
  try {
    for (const notes of steps) {
      const key = await seedFolio(file, notes);
      const folio = await startFolio(file, { logFile: path.join(dir, 'folio.log'), fromSource });
      try {
        const point: ScalePoint = { notes, queries: {} };
        for (const query of await queriesFor(folio.url, key, notes)) {
          for (let i = 0; i < WARMUP; i++) await timed(folio.url + query.path, key);
          const samples: number[] = [];
          for (let i = 0; i < SAMPLES; i++) samples.push(await timed(folio.url + query.path, key));
          samples.sort((a, b) => a - b);
          point.queries[query.kind] = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
        }
        points.push(point);
        process.stderr.write(`  ${notes.toLocaleString('en')} notes measured\n`);
      } finally {
        await folio.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report(points, outDir);
  return points;
}

function report(points: ScalePoint[], outDir: string): void {
  const kinds = Object.keys(points[0]?.queries ?? {});
  const lines = [
    `| query (p50 / p99 ms) | ${points.map((p) => `${p.notes.toLocaleString('en')} notes`).join(' | ')} |`,
    `|---|${points.map(() => '---:').join('|')}|`,
    ...kinds.map(
      (kind) =>
        `| ${kind} | ${points.map((p) => `${p.queries[kind]!.p50.toFixed(2)} / ${p.queries[kind]!.p99.toFixed(2)}`).join(' | ')} |`,
    ),
  ];
  const last = points.at(-1);
  if (last) {
    const page2 = last.queries['keyset page 2']!.p50;
    const deepest = Math.max(last.queries['keyset page 500']!.p50, last.queries['keyset at 90% depth']!.p50);
    const search = last.queries.search!.p50;
    lines.push(
      '',
      `- at ${last.notes.toLocaleString('en')} notes, the deepest keyset page takes ${deepest.toFixed(2)} ms (p50), ` +
        `${(deepest / page2).toFixed(2)}× keyset page 2 (target ≤ 1.5×): ${deepest / page2 <= 1.5 ? 'ok' : 'MISSED'}`,
      `- search q=${SEARCH_WORD} takes ${search.toFixed(2)} ms (p50; target ≤ 20 ms): ${search <= 20 ? 'ok' : 'MISSED'}`,
    );
  }
  console.log(lines.join('\n'));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'scale.json'), `${JSON.stringify(points, null, 2)}\n`);
  const svg = lineChart({
    title: 'Folio list latency as one user\u2019s notes grow (p50, one request at a time)',
    xLabel: 'notes',
    yLabel: 'ms (p50)',
    xs: points.map((p) => p.notes),
    series: kinds.map((kind) => ({ name: kind, ys: points.map((p) => p.queries[kind]!.p50) })),
  });
  const chart = path.join(outDir, 'scale.svg');
  writeFileSync(chart, svg);
  process.stderr.write(`chart: ${path.relative(process.cwd(), chart)}\n`);
}
