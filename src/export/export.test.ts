import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, createNote, expectProblem, signUp } from '../../test/helpers.js';
import type { ExportDocument } from './export.schemas.js';
import { importNotes } from './export.store.js';

// GET /api/export, each test on its own fresh database (SQLite and PostgreSQL).

const TRICKY = {
  title: 'Ünïcødé “quotes” \\ 😀 </script> \u2028',
  content: 'line one\r\nline two\n\ttabbed "quoted" \\ back\\slash\n\u{1F600} e\u0301 \u2029 <b>&amp;</b>',
  tags: ['Reading', 'work/Projects', 'ÉTÉ'],
  pinned: true,
  archived: true,
};

describe('GET /api/export', () => {
  it("streams the caller's notes, and only theirs, as a folio-export attachment", async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const bob = await signUp(app, 'bob');
    const first = await createNote(app, ada, TRICKY);
    const second = await createNote(app, ada, { title: 'plain' });
    const trashed = await createNote(app, ada, { title: 'in the trash' });
    await app.inject({ method: 'DELETE', url: `/api/notes/${trashed.id}`, headers: ada.headers });
    await createNote(app, bob, { title: "bob's" });

    const response = await app.inject({ url: '/api/export', headers: ada.headers });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="folio-export-ada-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(response.headers['cache-control']).toBe('no-store');
    const document = response.json<ExportDocument>();
    expect(document).toEqual({
      format: 'folio-export',
      version: 1,
      exported_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      user: { username: 'ada', email: 'ada@example.com' },
      notes: [
        {
          title: TRICKY.title,
          content: TRICKY.content,
          tags: ['reading', 'work/projects', 'été'],
          pinned: true,
          archived: true,
          created_at: first.created_at,
          updated_at: first.updated_at,
        },
        {
          title: 'plain',
          content: '',
          tags: [],
          pinned: false,
          archived: false,
          created_at: second.created_at,
          updated_at: second.updated_at,
        },
      ],
    });
    // The exact strings, as GET /api/notes/:id answers them.
    const read = await app.inject({ url: `/api/notes/${first.id}`, headers: ada.headers });
    const note = read.json<{ title: string; content: string }>();
    expect([document.notes[0]!.title, document.notes[0]!.content]).toEqual([note.title, note.content]);
  });

  it('answers 401 without credentials', async () => {
    const { app } = await buildTestApp();
    expectProblem(await app.inject({ url: '/api/export' }), 401, 'unauthorized');
  });

  it('serves a key with the notes:read scope', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    await createNote(app, ada, { title: 'readable' });
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: ada.headers,
      payload: { name: 'backups', scopes: ['notes:read'] },
    });
    const { key } = created.json<{ key: string }>();
    const response = await app.inject({ url: '/api/export', headers: { 'x-api-key': key } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<ExportDocument>().notes.map((n) => n.title)).toEqual(['readable']);
  });

  it('answers a valid document with no notes for a user who has none', async () => {
    const { app } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    const response = await app.inject({ url: '/api/export', headers: ada.headers });
    expect(response.statusCode).toBe(200);
    const document = response.json<ExportDocument>();
    expect(document.notes).toEqual([]);
    expect(document.user.username).toBe('ada');
  });

  it('carries every note of many pages, oldest first, ties in the order they were made', async () => {
    const { app, database } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    // Three notes a second, the later ones older: the export's order is not the order of ids.
    const base = Date.parse('2020-01-01T00:00:00.000Z');
    const notes = Array.from({ length: 1200 }, (_, i) => {
      const time = new Date(base + Math.floor((1199 - i) / 3) * 1000).toISOString();
      return { title: `note ${i}`, created_at: time, updated_at: time };
    });
    for (let i = 0; i < notes.length; i += 500)
      await importNotes(database.db, ada.id, notes.slice(i, i + 500));

    const response = await app.inject({ url: '/api/export', headers: ada.headers });
    expect(response.statusCode).toBe(200);
    const exported = response.json<ExportDocument>().notes;
    const expected = notes
      .map((note, i) => ({ ...note, i }))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.i - b.i)
      .map((note) => note.title);
    expect(exported).toHaveLength(1200);
    expect(exported.map((note) => note.title)).toEqual(expected);
    expect(exported[0]).toEqual({
      title: 'note 1197',
      content: '',
      tags: [],
      pinned: false,
      archived: false,
      created_at: '2020-01-01T00:00:00.000Z',
      updated_at: '2020-01-01T00:00:00.000Z',
    });
  });

  it('cuts the download short when reading fails midway, and goes on serving', async () => {
    const { app, database } = await buildTestApp();
    const ada = await signUp(app, 'ada');
    await importNotes(
      database.db,
      ada.id,
      Array.from({ length: 700 }, (_, i) => ({ title: `note ${i}` })),
    );
    // A row that cannot be read, on the second page.
    const broken = await database.db
      .selectFrom('notes')
      .select('id')
      .orderBy('id')
      .offset(600)
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`update notes set tags = 'not json' where id = ${broken.id}`.execute(database.db);

    // Over a real connection, to see what arrived before the cut.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const { complete, body } = await new Promise<{ complete: boolean; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/api/export', headers: ada.headers }, (res) => {
        expect(res.statusCode).toBe(200);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', () => undefined); // the cut: reported by `complete`
        res.on('close', () => resolve({ complete: res.complete, body: text }));
      }).on('error', reject);
    });
    expect(complete).toBe(false);
    expect(body.startsWith('{"format":"folio-export"')).toBe(true);
    expect(body).toContain('"title":"note 499"');
    expect(body).not.toContain('"title":"note 500"');
    expect(() => JSON.parse(body)).toThrow();

    const status = await app.inject({ url: '/api/notes?limit=1', headers: ada.headers });
    expect(status.statusCode).toBe(200);
  });

  it('is documented: a JSON attachment, 401 and 403', async () => {
    const { app } = await buildTestApp();
    await app.ready();
    const operation = (
      app.swagger() as {
        paths: Record<string, { get: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
      }
    ).paths['/api/export']!.get;
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '500']));
    expect(Object.keys(operation.responses['200']!.content!)).toEqual(['application/json']);
  });
});
