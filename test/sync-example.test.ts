import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createFolioClient, type FolioClient, type Note, type NoteInput } from '../client/index.js';
import { fileName, STATE_FILE, syncToFolder } from '../examples/sync-to-folder.js';
import { buildTestApp, signUp, tempDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** Folio listening on a free local port, closed when the test ends (buildTestApp does that). */
async function liveServer() {
  const { app } = await buildTestApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function create(folio: FolioClient, body: NoteInput): Promise<Note> {
  const { data, error } = await folio.POST('/api/notes', { body });
  if (!data) throw new Error(`create failed: ${JSON.stringify(error)}`);
  return data;
}

/** The folder's Markdown files, each split into its front matter (one JSON value a line) and body. */
async function readMirror(
  dir: string,
): Promise<Record<string, { front: Record<string, unknown>; body: string }>> {
  const mirror: Record<string, { front: Record<string, unknown>; body: string }> = {};
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.md'))) {
    const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(await readFile(path.join(dir, name), 'utf8'));
    if (!match) throw new Error(`${name} has no front matter`);
    const front = Object.fromEntries(
      match[1]!.split('\n').map((line) => {
        const [, key, value] = /^(\w+): (.*)$/.exec(line)!;
        return [key, JSON.parse(value!)];
      }),
    );
    mirror[name] = { front, body: match[2]! };
  }
  return mirror;
}

/** What a note's file must hold. */
function expected(note: Note) {
  const { id, title, tags, pinned, archived, version, created_at, updated_at } = note;
  const front = { id, title, tags, pinned, archived, version, created_at, updated_at };
  return {
    front,
    body: note.content === '' || note.content.endsWith('\n') ? note.content : `${note.content}\n`,
  };
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('examples/sync-to-folder.ts', () => {
  it('mirrors notes, then applies edits, renames, trash and purge incrementally (bearer token)', async () => {
    const { app, baseUrl } = await liveServer();
    const user = await signUp(app);
    const folio = createFolioClient({ baseUrl, token: user.token });
    const groceries = await create(folio, {
      title: 'Groceries',
      content: 'milk\neggs',
      tags: ['home'],
      pinned: true,
    });
    const reading = await create(folio, {
      title: 'Reading: "Dune" & more',
      content: '# Dune\n\n---\nnot front matter\n',
      tags: ['reading', 'work/folio'],
    });
    const idea = await create(folio, { title: 'Café idea', archived: true });
    const keep = await create(folio, { title: 'Keep me', content: 'stays' });
    const dir = tempDir();

    // A page size of 3 makes the first run page through has_more.
    const first = await syncToFolder({ baseUrl, token: user.token, dir, pageSize: 3 });
    expect(first).toMatchObject({ written: 4, deleted: 0 });
    expect(await files(dir)).toEqual(
      [
        STATE_FILE,
        `${groceries.id}-groceries.md`,
        `${reading.id}-reading-dune-more.md`,
        `${idea.id}-cafe-idea.md`,
        `${keep.id}-keep-me.md`,
      ].sort(),
    );
    expect(await readMirror(dir)).toEqual({
      [fileName(groceries)]: expected(groceries),
      [fileName(reading)]: expected(reading),
      [fileName(idea)]: expected(idea),
      [fileName(keep)]: expected(keep),
    });

    const patched = await folio.PATCH('/api/notes/{id}', {
      params: { path: { id: groceries.id } },
      body: { title: 'Shopping list', content: 'milk\neggs\nbread' },
    });
    expect(patched.data?.version).toBe(2);
    const fresh = await create(folio, { title: 'Fresh', content: 'new since the first run' });
    const trashed = await folio.DELETE('/api/notes/{id}', { params: { path: { id: reading.id } } });
    expect(trashed.response.status).toBe(204);
    const purged = await folio.DELETE('/api/notes/{id}', {
      params: { path: { id: idea.id }, query: { purge: true } },
    });
    expect(purged.response.status).toBe(204);

    const second = await syncToFolder({ baseUrl, token: user.token, dir, pageSize: 3 });
    expect(second).toMatchObject({ written: 2, deleted: 2 });
    expect(Number(second.cursor)).toBeGreaterThan(Number(first.cursor));
    expect(await files(dir)).toEqual(
      [
        STATE_FILE,
        `${groceries.id}-shopping-list.md`,
        `${keep.id}-keep-me.md`,
        `${fresh.id}-fresh.md`,
      ].sort(),
    );
    expect(await readMirror(dir)).toEqual({
      [fileName(patched.data!)]: expected(patched.data!),
      [fileName(keep)]: expected(keep),
      [fileName(fresh)]: expected(fresh),
    });

    const before = await readMirror(dir);
    const third = await syncToFolder({ baseUrl, token: user.token, dir });
    expect(third).toEqual({ written: 0, deleted: 0, cursor: second.cursor });
    expect(await readMirror(dir)).toEqual(before);
  });

  it('mirrors with a read-only API key, and removes the file of a note sent to the trash', async () => {
    const { app, baseUrl } = await liveServer();
    const user = await signUp(app);
    const folio = createFolioClient({ baseUrl, token: user.token });
    const key = await folio.POST('/api/keys', { body: { name: 'mirror', scopes: ['notes:read'] } });
    const apiKey = key.data!.key;
    const one = await create(folio, { title: 'One', content: 'first' });
    const two = await create(folio, { title: 'Two', content: 'second' });
    const dir = tempDir();

    expect(await syncToFolder({ baseUrl, apiKey, dir })).toMatchObject({ written: 2, deleted: 0 });
    expect(await readMirror(dir)).toEqual({ [fileName(one)]: expected(one), [fileName(two)]: expected(two) });

    await folio.DELETE('/api/notes/{id}', { params: { path: { id: two.id } } });
    expect(await syncToFolder({ baseUrl, apiKey, dir })).toMatchObject({ written: 0, deleted: 1 });
    expect(await files(dir)).toEqual([STATE_FILE, fileName(one)].sort());

    // Restored from the trash: the feed upserts it again.
    const restored = await folio.POST('/api/notes/{id}/restore', { params: { path: { id: two.id } } });
    expect(await syncToFolder({ baseUrl, apiKey, dir })).toMatchObject({ written: 1, deleted: 0 });
    expect(await readMirror(dir)).toEqual({
      [fileName(one)]: expected(one),
      [fileName(two)]: expected(restored.data!),
    });
  });

  it('resyncs from scratch on 410 resync_required, replacing only the files it owns', async () => {
    const { app, baseUrl } = await liveServer();
    const user = await signUp(app);
    const folio = createFolioClient({ baseUrl, token: user.token });
    const kept = await create(folio, { title: 'Kept' });
    const gone = await create(folio, { title: 'Gone' });
    const dir = tempDir();
    await syncToFolder({ baseUrl, token: user.token, dir });
    await writeFile(path.join(dir, 'my-own-notes.txt'), 'not Folio’s');

    await folio.DELETE('/api/notes/{id}', { params: { path: { id: gone.id }, query: { purge: true } } });
    const added = await create(folio, { title: 'Added' });
    // A cursor past the end of this user's feed (another server's, say) is answered 410 like an expired one.
    const state = JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8'));
    await writeFile(path.join(dir, STATE_FILE), JSON.stringify({ ...state, cursor: '999999' }));

    const result = await syncToFolder({ baseUrl, token: user.token, dir });
    // Both owned files removed, then everything the feed holds written again.
    expect(result).toMatchObject({ written: 2, deleted: 2 });
    expect(await files(dir)).toEqual(
      [STATE_FILE, fileName(added), fileName(kept), 'my-own-notes.txt'].sort(),
    );
    expect(await readMirror(dir)).toEqual({
      [fileName(kept)]: expected(kept),
      [fileName(added)]: expected(added),
    });
  });

  it('runs from the command line with flags or FOLIO_* variables, and prints its usage otherwise', async () => {
    const { app, baseUrl } = await liveServer();
    const user = await signUp(app);
    const note = await create(createFolioClient({ baseUrl, token: user.token }), { title: 'From the shell' });
    const dir = tempDir();
    // Asynchronous on purpose: the server answering the child runs in this process.
    const run = (args: string[], env: Record<string, string> = {}) =>
      promisify(execFile)(process.execPath, ['--import', TSX, 'examples/sync-to-folder.ts', ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
      });

    const { stdout } = await run(['--url', baseUrl, '--dir', dir], { FOLIO_TOKEN: user.token });
    expect(stdout).toMatch(/1 written, 0 deleted, at cursor \d+/);
    expect(await files(dir)).toEqual([STATE_FILE, fileName(note)].sort());

    await expect(run(['--dir', dir])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^Usage:/),
    });
  });
});
