import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

// The benchmark harness (npm run bench), run once on a tiny data set to prove it works end to end:
// seeding through the stores, both servers, every scenario, the report and the scale chart. The
// figures of such a run mean nothing and are not checked; that no request failed is.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--from-source', '--tool', 'autocannon', ...args],
      { cwd: ROOT, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Report {
  notes: number;
  scenarios: {
    scenario: string;
    ratio: number;
    folio: { requests: number; errors: number };
    floor: { requests: number; errors: number };
  }[];
  folioRssMbAfterRun: number;
  coldStartMs: number;
}

describe('npm run bench', () => {
  it('seeds both servers, runs every scenario against each without an error and writes the report', async () => {
    const out = tempDir();
    const run = await bench([
      '--notes',
      '400',
      '--seconds',
      '1',
      '--warmup',
      '0.5',
      '--rounds',
      '1',
      '--connections',
      '4',
      '--skip-workers',
      '--out',
      out,
    ]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('| scenario | floor req/s | Folio req/s | Folio/floor |');
    const report = JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as Report;
    expect(report.notes).toBe(400);
    expect(report.scenarios.map((row) => row.scenario)).toEqual([
      'get-key',
      'get-jwt',
      'list-page',
      'keyset-deep',
      'search',
      'patch',
      'create',
    ]);
    for (const row of report.scenarios) {
      expect(row.folio.requests, row.scenario).toBeGreaterThan(0);
      expect(row.floor.requests, row.scenario).toBeGreaterThan(0);
      expect(row.folio.errors + row.floor.errors, row.scenario).toBe(0);
      expect(row.ratio, row.scenario).toBeGreaterThan(0);
    }
    expect(report.folioRssMbAfterRun).toBeGreaterThan(0);
    expect(report.coldStartMs).toBeGreaterThan(0);
  }, 240_000);

  it('measures the list queries at each step of a scale run and draws them', async () => {
    const out = tempDir();
    const run = await bench(['--scale', '200,600', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\| keyset page 500 \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|/);
    const points = JSON.parse(readFileSync(path.join(out, 'scale.json'), 'utf8')) as {
      notes: number;
      queries: Record<string, { p50: number }>;
    }[];
    expect(points.map((point) => point.notes)).toEqual([200, 600]);
    expect(Object.keys(points[1]!.queries)).toEqual([
      'first page (page mode, with total)',
      'page 500 by offset',
      'keyset page 2',
      'keyset page 500',
      'keyset at 90% depth',
      'search',
    ]);
    expect(existsSync(path.join(out, 'scale.svg'))).toBe(true);
    const svg = readFileSync(path.join(out, 'scale.svg'), 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline /g)).toHaveLength(6);
  }, 240_000);
});
