import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

// The soak (npm run soak), run for a few seconds to prove it works end to end: seeding, the
// server it starts and stops, the mixed load with its event streams, the samples and the report.
// Such a run says nothing about leaks; that no request failed and the server exited 0 it does.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function soak(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/soak.ts', '--from-source', ...args],
      { cwd: ROOT, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run soak', () => {
  it('runs the mixed load without an error, stops the server cleanly and writes the report', async () => {
    const out = path.join(tempDir(), 'soak.md');
    const run = await soak(['--seconds', '6', '--connections', '4', '--out', out]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code, run.stdout).toBe(0);
    const report = readFileSync(out, 'utf8');
    expect(report).toBe(`${run.stdout.trimEnd()}\n`);
    const total = Number(/\| total requests \| ([\d,]+) \|/.exec(report)?.[1]?.replace(/,/g, ''));
    expect(total).toBeGreaterThan(0);
    expect(report).toMatch(/\| errors \| 0 \|/);
    expect(report).toMatch(/\| POST a note \| 5% \| [1-9][\d,]* \|/);
    expect(report).toMatch(/\| SSE events received \| [1-9][\d,]* /);
    expect(report).toContain('- errors: 0 ok');
    expect(report).toMatch(/- memory growth -?[\d.]+% \(target < 10%\) ok/);
    expect(report).toMatch(/- server exit code on SIGTERM: 0 ok \(event streams told to reconnect: 2\/2\)/);
  }, 90_000);
});
