import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/servers.js';
import { tempDir } from './helpers.js';

// `npm run build` bundles the server into dist/server/folio.js (what `npm start` and the `folio`
// command run). The bundle leaves some packages outside (native add-ons, Swagger UI's files):
// this proves the built file serves the API, the pages, their stylesheet and the docs.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = path.join(ROOT, 'dist/server/folio.js');

beforeAll(async () => {
  await promisify(execFile)(process.execPath, ['scripts/bundle.mjs'], { cwd: ROOT });
}, 120_000);

describe('the bundled server', () => {
  it('serves the API, pages and docs, logs a line per request, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('FOLIO_')),
    );
    const child = spawn(process.execPath, [BUNDLE, 'serve'], {
      cwd: tempDir(),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...env,
        FOLIO_PORT: String(port),
        FOLIO_DATABASE_URL: `sqlite:${path.join(tempDir(), 'folio.db')}`,
        FOLIO_SECRET: 'bundle-test-secret-bundle-test-secret-0123456789',
        FOLIO_LOG_LEVEL: 'info',
      },
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let tries = 0; ; tries++) {
        const up = await fetch(`${base}/api/status`).catch(() => undefined);
        if (up?.ok) break;
        if (tries > 300 || child.exitCode !== null) throw new Error(`the bundle did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Sign-up hashes with Argon2 (a native add-on outside the bundle).
      const registered = await fetch(`${base}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: 'bundled',
          email: 'b@example.com',
          password: 'correct horse battery',
        }),
      });
      expect(registered.status).toBe(201);
      const { access_token: token } = (await registered.json()) as { access_token: string };
      const auth = { authorization: `Bearer ${token}` };
      const created = await fetch(`${base}/api/notes`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'From the bundle', content: '**bold**', tags: ['Built'] }),
      });
      expect(created.status).toBe(201);
      const note = (await created.json()) as { id: number; tags: string[] };
      expect(note.tags).toEqual(['built']);
      const read = await fetch(`${base}/api/notes/${note.id}`, { headers: auth });
      expect(((await read.json()) as { title: string }).title).toBe('From the bundle');
      const found = await fetch(`${base}/api/notes?q=bundle`, { headers: auth });
      expect(((await found.json()) as { data: unknown[] }).data).toHaveLength(1);

      const login = await fetch(`${base}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('/static/folio.css');
      const css = await fetch(`${base}/static/folio.css`);
      expect(css.headers.get('content-type')).toContain('text/css');
      expect((await css.text()).length).toBeGreaterThan(100);

      const docs = await fetch(`${base}/docs/`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger');
      const openapi = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: object };
      expect(Object.keys(openapi.paths)).toContain('/api/notes/{id}');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    // Standard output is written once per turn of the event loop, and what waits at exit too.
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; method?: string; url?: string; status?: number });
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.map((line) => `${line.method} ${line.url} ${line.status}`)).toEqual(
      expect.arrayContaining(['POST /api/auth/register 201', 'POST /api/notes 201', 'GET /login 200']),
    );
    expect(lines.at(-1)?.msg).toBe('shutting down');
    expect(stdout).not.toContain('correct horse battery');
  }, 60_000);
});
