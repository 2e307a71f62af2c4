import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onTestFinished } from 'vitest';
import { freePort } from '../bench/servers.js';

// `folio serve` as a child process (from source, through tsx), for tests that need a real
// process: killed, stopped by a signal, restarted on the same database.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ServerProcess {
  base: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process has ended. */
  exited: Promise<number | string>;
  /** Everything the process wrote to standard output (its JSON log lines) so far. */
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `folio serve` with only the given FOLIO_* variables (the test's own never leak in) and
 * waits until `/api/status` answers; a process still running when the test ends is killed.
 */
export async function startFolio(
  env: Record<string, string>,
  cwd: string,
  args: string[] = [],
): Promise<ServerProcess> {
  const port = env.FOLIO_PORT ?? String(await freePort());
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('FOLIO_')),
  );
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', ...args], {
    cwd,
    env: {
      ...inherited,
      FOLIO_LOG_LEVEL: 'warn',
      FOLIO_SECRET: 'process-test-secret-process-test-secret-0123',
      FOLIO_RATE_LIMIT: '0',
      ...env,
      FOLIO_PORT: port,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`folio serve exited with ${child.exitCode}: ${stderr}`);
    const up = await fetch(`${base}/api/status`).catch(() => undefined);
    if (up?.ok) break;
    if (Date.now() > deadline) throw new Error(`folio serve did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { base, child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Signs up a user over HTTP and returns headers that authenticate as them. */
export async function signUpOver(
  base: string,
  username: string,
): Promise<{ authorization: string; 'content-type': string }> {
  const response = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, password: 'correct horse battery' }),
  });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const { access_token: token } = (await response.json()) as { access_token: string };
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}
