import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import SQLite from 'better-sqlite3';
import { seedNote } from './data.js';

// The floor: the fastest this machine serves Folio's reads and writes in Node. A bare node:http
// server over better-sqlite3 with prepared statements, and nothing else: no framework, no auth,
// no validation, no logging. The benchmark reports Folio as a fraction of it.
//
//   tsx bench/floor.ts <database file> <port> [seed count]
//
// It answers the same requests as the scenarios send to Folio, with the same queries Folio makes
// (owner, trash and archive filters; FTS5 with bm25 and a snippet; a transaction per write).

const [file, portArg, seedArg] = process.argv.slice(2);
if (!file || !portArg) throw new Error('usage: floor.ts <database file> <port> [seed count]');
const OWNER = 1;

const sqlite = new SQLite(file);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
sqlite.exec(`
  create table if not exists notes (
    id integer primary key, owner_id integer not null, title text not null, content text not null,
    tags text not null, pinned integer not null, archived integer not null, version integer not null,
    created_at text not null, updated_at text not null, deleted_at text);
  create index if not exists notes_live_updated_idx on notes (owner_id, archived, updated_at, id) where deleted_at is null;
  create virtual table if not exists notes_fts using fts5(title, content, tags, tokenize = 'unicode61 remove_diacritics 2');
`);

const COLUMNS = 'id, title, content, tags, pinned, archived, version, created_at, updated_at';
const LIVE = 'owner_id = ? and deleted_at is null and archived = 0';
const statements = {
  get: sqlite.prepare(`select ${COLUMNS} from notes where id = ? and owner_id = ?`),
  page: sqlite.prepare(
    `select ${COLUMNS} from notes where ${LIVE} order by updated_at desc, id desc limit ? offset ?`,
  ),
  count: sqlite.prepare(`select count(*) as total from notes where ${LIVE}`),
  after: sqlite.prepare(
    `select ${COLUMNS} from notes where ${LIVE} and (updated_at, id) < (?, ?)
     order by updated_at desc, id desc limit ?`,
  ),
  search: sqlite.prepare(
    `select ${COLUMNS.split(', ')
      .map((column) => `n.${column}`)
      .join(', ')},
       snippet(notes_fts, -1, '<mark>', '</mark>', '…', 16) as snippet
     from notes n join notes_fts on notes_fts.rowid = n.id
     where n.owner_id = ? and n.deleted_at is null and n.archived = 0 and notes_fts match ?
     order by bm25(notes_fts, 10.0, 1.0, 4.0), n.id limit ?`,
  ),
  insert: sqlite.prepare(
    `insert into notes (owner_id, title, content, tags, pinned, archived, version, created_at, updated_at)
     values (?, ?, ?, ?, 0, 0, 1, ?, ?) returning ${COLUMNS}`,
  ),
  update: sqlite.prepare(
    `update notes set title = ?, content = ?, version = version + 1, updated_at = ?
     where id = ? and owner_id = ? returning ${COLUMNS}`,
  ),
  unindex: sqlite.prepare('delete from notes_fts where rowid = ?'),
  index: sqlite.prepare('insert into notes_fts (rowid, title, content, tags) values (?, ?, ?, ?)'),
};

interface Row {
  id: number;
  title: string;
  content: string;
  tags: string;
  pinned: number;
  archived: number;
  version: number;
  created_at: string;
  updated_at: string;
  snippet?: string;
}

function toNote(row: Row): object {
  return {
    id: row.id,
    title: row.title,
    content: row.content,
    tags: JSON.parse(row.tags) as string[],
    pinned: row.pinned === 1,
    archived: row.archived === 1,
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
    ...(row.snippet !== undefined && { snippet: row.snippet }),
  };
}

const create = sqlite.transaction((title: string, content: string, tags: string[]) => {
  const now = new Date().toISOString();
  const row = statements.insert.get(OWNER, title, content, JSON.stringify(tags), now, now) as Row;
  statements.index.run(row.id, title, content, tags.join(' '));
  return row;
});

const patch = sqlite.transaction(
  (id: number, ifMatch: string | undefined, body: { title?: string; content?: string }) => {
    const current = statements.get.get(id, OWNER) as Row | undefined;
    if (!current) return 404;
    if (ifMatch !== undefined && ifMatch !== `"${current.id}-${current.version}"`) return 412;
    const title = body.title ?? current.title;
    const content = body.content ?? current.content;
    const row = statements.update.get(title, content, new Date().toISOString(), id, OWNER) as Row;
    statements.unindex.run(id);
    statements.index.run(id, title, content, (JSON.parse(row.tags) as string[]).join(' '));
    return row;
  },
);

if (seedArg) {
  const count = Number(seedArg);
  const seed = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const note = seedNote(i);
      create(note.title, note.content, note.tags);
    }
  });
  for (let i = 0; i < count; i += 10_000) seed(i, Math.min(count, i + 10_000));
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    ...headers,
  });
  res.end(json);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://floor');
  const match = /^\/notes(?:\/(\d+))?$/.exec(url.pathname);
  if (!match) return send(res, 404, { title: 'Not Found' });
  const id = match[1] === undefined ? undefined : Number(match[1]);
  if (req.method === 'GET' && id !== undefined) {
    const row = statements.get.get(id, OWNER) as Row | undefined;
    if (!row) return send(res, 404, { title: 'Not Found' });
    return send(res, 200, toNote(row), { etag: `"${row.id}-${row.version}"` });
  }
  if (req.method === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const q = url.searchParams.get('q');
    if (q) {
      const words = q.match(/[\p{L}\p{N}_]+/gu) ?? [];
      const rows = statements.search.all(
        OWNER,
        words.map((word) => `"${word}"*`).join(' '),
        limit + 1,
      ) as Row[];
      return send(res, 200, { data: rows.slice(0, limit).map(toNote), meta: { limit } });
    }
    const after = url.searchParams.get('after');
    if (after) {
      const [value, lastId] = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [
        string,
        number,
      ];
      const rows = statements.after.all(OWNER, value, lastId, limit + 1) as Row[];
      const last = rows[limit - 1];
      return send(res, 200, {
        data: rows.slice(0, limit).map(toNote),
        meta: {
          limit,
          next_cursor:
            rows.length > limit && last
              ? Buffer.from(JSON.stringify([last.updated_at, last.id])).toString('base64url')
              : null,
        },
      });
    }
    const page = Number(url.searchParams.get('page') ?? 1);
    const rows = statements.page.all(OWNER, limit + 1, (page - 1) * limit) as Row[];
    const { total } = statements.count.get(OWNER) as { total: number };
    return send(res, 200, {
      data: rows.slice(0, limit).map(toNote),
      meta: { limit, page, total, total_pages: Math.ceil(total / limit) },
    });
  }
  if (req.method === 'POST' && id === undefined) {
    const body = JSON.parse(await readBody(req)) as { title: string; content?: string; tags?: string[] };
    const row = create(body.title, body.content ?? '', body.tags ?? []);
    return send(res, 201, toNote(row), { etag: `"${row.id}-${row.version}"`, location: `/notes/${row.id}` });
  }
  if (req.method === 'PATCH' && id !== undefined) {
    const body = JSON.parse(await readBody(req)) as { title?: string; content?: string };
    const ifMatch = req.headers['if-match'];
    const result = patch(id, typeof ifMatch === 'string' ? ifMatch : undefined, body);
    if (result === 404) return send(res, 404, { title: 'Not Found' });
    if (result === 412) return send(res, 412, toNote(statements.get.get(id, OWNER) as Row));
    return send(res, 200, toNote(result), { etag: `"${result.id}-${result.version}"` });
  }
  send(res, 405, { title: 'Method Not Allowed' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => send(res, 500, { title: String(error) }));
});
server.listen(Number(portArg), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
