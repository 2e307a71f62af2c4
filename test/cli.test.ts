import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, serve } from './cli-helpers.js';
import { tempDir } from './helpers.js';

describe('folio serve', () => {
  it('serves the API over real HTTP on the SQLite default and stops cleanly on SIGTERM', async () => {
    const cwd = tempDir();
    const { base, child } = await serve(cwd);
    // The defaults: ./data/folio.db and a secret generated into ./data/.
    expect(existsSync(path.join(cwd, 'data/folio.db'))).toBe(true);
    expect(existsSync(path.join(cwd, 'data/secret'))).toBe(true);

    const json = { 'content-type': 'application/json' };
    const registered = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'ada', email: 'ada@example.com', password: 'correct horse battery' }),
    });
    expect(registered.status).toBe(201);
    const { access_token: token } = (await registered.json()) as { access_token: string };
    const auth = { ...json, authorization: `Bearer ${token}` };

    const created = await fetch(`${base}/api/notes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ title: 'Read more', content: 'finish the guide', tags: ['reading'] }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/^\/api\/notes\/\d+$/);

    const found = await fetch(`${base}/api/notes?q=guide`, { headers: auth });
    const list = (await found.json()) as { data: { title: string }[] };
    expect(list.data.map((note) => note.title)).toEqual(['Read more']);
    expect(found.headers.get('link')).toContain('rel="self"');

    const unknown = await fetch(`${base}/api/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('keeps a write answered before a restart', async () => {
    const cwd = tempDir();
    const env = {
      FOLIO_DATABASE_URL: `sqlite:${path.join(cwd, 'elsewhere/notes.db')}`,
      FOLIO_SECRET: 'k'.repeat(40),
    };
    const first = await serve(cwd, env);
    const registered = await fetch(`${first.base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', email: 'ada@example.com', password: 'correct horse battery' }),
    });
    const { access_token: token } = (await registered.json()) as { access_token: string };
    await fetch(`${first.base}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: 'survives' }),
    });
    const exited = new Promise((resolve) => first.child.on('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    const second = await serve(cwd, env);
    const list = await fetch(`${second.base}/api/notes`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await list.json()) as { data: { title: string }[] }).data.map((n) => n.title)).toEqual([
      'survives',
    ]);
  });

  it('exits 1 with one line naming a bad variable', async () => {
    const result = await run(['serve'], { cwd: tempDir(), env: { FOLIO_PORT: 'eighty' } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('FOLIO_PORT');
  });

  it('refuses to start in production without FOLIO_SECRET', async () => {
    const result = await run(['serve'], { cwd: tempDir(), env: { FOLIO_ENV: 'production' } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('folio: FOLIO_SECRET is required when FOLIO_ENV=production');
  });
});

describe('folio migrate', () => {
  it('creates the schema once and then reports it up to date', async () => {
    const cwd = tempDir();
    const first = await run(['migrate'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 0001-init');
    const second = await run(['migrate'], { cwd });
    expect(second.stdout.trim()).toBe('already up to date');
  });
});

describe('folio openapi', () => {
  it('prints the OpenAPI document', async () => {
    const result = await run(['openapi'], { cwd: tempDir() });
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/notes/{id}');
  });
});

describe('folio user create', () => {
  it('creates an account that can sign in while sign-up is closed', async () => {
    const cwd = tempDir();
    const created = await run(['user', 'create', '--username', 'root', '--email', 'root@example.com'], {
      cwd,
      input: 'correct horse battery\n',
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('created user root');
    const { base } = await serve(cwd, { FOLIO_SIGNUP: 'closed' });
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    const signup = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'other', email: 'o@example.com', password: 'correct horse battery' }),
    });
    expect(signup.status).toBe(403);
  });

  it('reports bad input and a taken name without a stack trace', async () => {
    const cwd = tempDir();
    const bad = await run(['user', 'create', '--username', 'x', '--email', 'nope', '--password', 'short'], {
      cwd,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--username');
    expect(bad.stderr).toContain('--email');
    expect(bad.stderr).toContain('--password');
    const args = [
      'user',
      'create',
      '--username',
      'root',
      '--email',
      'root@example.com',
      '--password',
      'long enough pw',
    ];
    expect((await run(args, { cwd })).code).toBe(0);
    const again = await run(args, { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('folio: The username root is already taken');
  });
});

describe('folio (no such command)', () => {
  it('prints usage and exits 2', async () => {
    const result = await run(['frobnicate'], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: folio');
  });
});
