/**
 * Mirrors one user's Folio notes into a folder of Markdown files, incrementally: another program
 * using the API through the typed client (client/) and the change feed (GET /api/sync).
 *
 *   npx tsx examples/sync-to-folder.ts --url http://127.0.0.1:8080 --key folio_… --dir ./notes
 *
 * Each note becomes `<id>-<slug>.md`: YAML front matter with its fields, then its content. The
 * folder's `.folio-sync.json` keeps the feed cursor and the file name of every note, so each run
 * asks only for what changed since the last one, renames a file when its note's title changes,
 * and removes the file of a note sent to the trash or purged. Files it did not write are left alone.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFolioClient, type FolioClient, type Note } from '../client/index.js';

/** The state file, kept in the mirrored folder itself so the folder can be moved as a whole. */
export const STATE_FILE = '.folio-sync.json';

interface SyncState {
  /** The last change applied; none before the first run. */
  cursor: string | null;
  /** Every file this program owns: note id → file name inside the folder. */
  files: Record<string, string>;
}

export type SyncOptions = { baseUrl: string; dir: string; pageSize?: number } & (
  { token: string; apiKey?: undefined } | { apiKey: string; token?: undefined }
);

export interface SyncResult {
  /** Files created or changed (a renamed file counts once). */
  written: number;
  /** Files removed. */
  deleted: number;
  /** The cursor the folder is now at: pass nothing, the state file remembers it. */
  cursor: string;
}

/** Brings `dir` up to date with the user's notes and returns what it changed on disk. */
export async function syncToFolder(options: SyncOptions): Promise<SyncResult> {
  const { baseUrl, dir, pageSize = 100 } = options;
  const folio = createFolioClient(
    options.token !== undefined ? { baseUrl, token: options.token } : { baseUrl, apiKey: options.apiKey },
  );
  await mkdir(dir, { recursive: true });
  let state = await readState(dir);
  const result = { written: 0, deleted: 0 };
  let resynced = false;

  for (;;) {
    const page = await fetchChanges(folio, state.cursor, pageSize);
    if (page === 'resync_required') {
      // The cursor is older than the feed keeps (or from another server): whatever happened since
      // is unknown, so drop every file we own and rebuild from the start of the feed. Twice in
      // one run would mean the server keeps refusing a fresh start: give up rather than loop.
      if (resynced) throw new Error('The server asked for a resync twice in a row');
      resynced = true;
      for (const id of Object.keys(state.files)) result.deleted += await removeNoteFile(dir, state, id);
      state = { cursor: null, files: {} };
      await saveState(dir, state);
      continue;
    }

    for (const change of page.changes) {
      if (change.op === 'upsert') result.written += await writeNoteFile(dir, state, change.note);
      else result.deleted += await removeNoteFile(dir, state, String(change.id));
    }
    // Saved after every page: an interrupted run resumes from here, and the page's files are
    // already on disk (rewriting one is harmless: an unchanged file is not counted or touched).
    state.cursor = page.next_cursor;
    await saveState(dir, state);
    if (!page.has_more) break;
  }
  return { ...result, cursor: state.cursor ?? '' };
}

/** One page of changes after `cursor`, or the server's word that the cursor is no good any more. */
async function fetchChanges(folio: FolioClient, cursor: string | null, limit: number) {
  const { data, error, response } = await folio.GET('/api/sync', {
    params: { query: { limit, ...(cursor !== null && { since: cursor }) } },
  });
  if (data) return data;
  if (response.status === 410 && error?.code === 'resync_required') return 'resync_required' as const;
  throw new Error(`GET /api/sync answered ${response.status}: ${error?.detail ?? response.statusText}`);
}

/** Writes a note's file (renaming it when the title changed); 1 when the disk changed, else 0. */
async function writeNoteFile(dir: string, state: SyncState, note: Note): Promise<number> {
  const id = String(note.id);
  const name = fileName(note);
  const previous = state.files[id];
  const text = toMarkdown(note);
  const current = await readFile(path.join(dir, name), 'utf8').catch(() => undefined);
  if (current !== text) await writeFileAtomic(path.join(dir, name), text);
  // The new file first, then the old one goes: the note is never missing from the folder.
  if (previous !== undefined && previous !== name) await rm(path.join(dir, previous), { force: true });
  state.files[id] = name;
  return current !== text || (previous !== undefined && previous !== name) ? 1 : 0;
}

/** Removes the file of a note, if this program wrote one; 1 when a file went, else 0. */
async function removeNoteFile(dir: string, state: SyncState, id: string): Promise<number> {
  const name = state.files[id];
  if (name === undefined) return 0; // trashed before we ever saw it
  delete state.files[id];
  await rm(path.join(dir, name), { force: true });
  return 1;
}

/** `<id>-<slug>.md`: the id keeps names unique and stable, the slug makes them readable. */
export function fileName(note: Pick<Note, 'id' | 'title'>): string {
  const slug = note.title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents: "Café" → "cafe"
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-') // only letters and digits survive: safe on every file system
    .replace(/^-+|-+$/g, '');
  return `${note.id}-${[...slug].slice(0, 60).join('').replace(/-+$/, '') || 'untitled'}.md`;
}

/** Front matter, then the content as it is (plus a final newline when it has none). */
export function toMarkdown(note: Note): string {
  // JSON is valid YAML: quoted strings survive any title (colons, quotes, a leading `#`) and keep
  // timestamps strings rather than YAML dates.
  const field = (name: string, value: unknown) => `${name}: ${JSON.stringify(value)}\n`;
  const body = note.content === '' || note.content.endsWith('\n') ? note.content : `${note.content}\n`;
  return (
    '---\n' +
    field('id', note.id) +
    field('title', note.title) +
    field('tags', note.tags) +
    field('pinned', note.pinned) +
    field('archived', note.archived) +
    field('version', note.version) +
    field('created_at', note.created_at) +
    field('updated_at', note.updated_at) +
    '---\n' +
    body
  );
}

async function readState(dir: string): Promise<SyncState> {
  try {
    const state = JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')) as SyncState;
    return { cursor: state.cursor ?? null, files: state.files ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { cursor: null, files: {} };
    throw error;
  }
}

function saveState(dir: string, state: SyncState): Promise<void> {
  return writeFileAtomic(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** Write, then rename over: a reader (or a crash) never sees half a file. */
async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

// ---- Command line: the only part that reads arguments and the environment. ----

const USAGE = `Usage: npx tsx examples/sync-to-folder.ts --url URL (--token TOKEN | --key KEY) --dir DIR

  --url    where Folio serves, e.g. http://127.0.0.1:8080    (or FOLIO_URL)
  --token  an access token, or an API key sent as a bearer   (or FOLIO_TOKEN)
  --key    an API key with notes:read, sent as X-API-Key     (or FOLIO_API_KEY)
  --dir    the folder to mirror into; created when missing`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      key: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  // eslint-disable-next-line no-restricted-properties -- an example program's own command line
  const env = process.env;
  const baseUrl = values.url ?? env.FOLIO_URL;
  // A flag wins over the environment; exactly one credential must remain.
  const token = values.token ?? (values.key ? undefined : env.FOLIO_TOKEN);
  const apiKey = values.key ?? (token ? undefined : env.FOLIO_API_KEY);
  const credentials = token && !apiKey ? { token } : apiKey && !token ? { apiKey } : undefined;
  if (values.help || !baseUrl || !values.dir || !credentials) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  const { written, deleted, cursor } = await syncToFolder({ baseUrl, dir: values.dir, ...credentials });
  console.log(`${values.dir}: ${written} written, ${deleted} deleted, at cursor ${cursor}`);
  return 0;
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`sync-to-folder: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
