import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createFolioClient, type Change, type Note, type NoteInput, type SyncPage } from '../client/index.js';
import { DOCUMENT_FILE, liveDocument, renderClient, SCHEMA_FILE } from '../scripts/generate-client.js';
import { buildTestApp, signUp } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('client/ (the typed SDK)', () => {
  it('is generated from the live OpenAPI document (else: npm run client:generate)', async () => {
    const document = await liveDocument();
    const files = await renderClient(document);
    const checkedIn = async (file: string) => readFile(path.join(ROOT, file), 'utf8');
    // Compared as JSON first, so a drift shows as a readable diff of the document.
    expect(JSON.parse(await checkedIn(DOCUMENT_FILE)), `${DOCUMENT_FILE} is stale`).toEqual(document);
    expect((await checkedIn(DOCUMENT_FILE)) === files[DOCUMENT_FILE], `${DOCUMENT_FILE} is stale`).toBe(true);
    expect((await checkedIn(SCHEMA_FILE)) === files[SCHEMA_FILE], `${SCHEMA_FILE} is stale`).toBe(true);
  });

  it('types notes, changes and bodies from the schemas the routes declare', () => {
    // Checked by `npm run typecheck`: a schema that degrades to `any` or drifts fails there.
    expectTypeOf<Note['id']>().toEqualTypeOf<number>();
    expectTypeOf<Note['tags']>().toEqualTypeOf<string[]>();
    expectTypeOf<Change>().toEqualTypeOf<
      { cursor: string; op: 'upsert'; note: Note } | { cursor: string; op: 'delete'; id: number }
    >();
    expectTypeOf<SyncPage>().toEqualTypeOf<{ changes: Change[]; next_cursor: string; has_more: boolean }>();
    expectTypeOf<NoteInput['title']>().toEqualTypeOf<string>();
  });

  it('sends a bearer token or an API key, and returns a problem as error', async () => {
    const { app } = await buildTestApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    const user = await signUp(app);

    const withToken = createFolioClient({ baseUrl, token: user.token });
    const me = await withToken.GET('/api/me');
    expect(me.data?.username).toBe(user.username);
    const key = await withToken.POST('/api/keys', { body: { name: 'client test', scopes: ['notes:read'] } });
    expect(key.response.status).toBe(201);

    const withKey = createFolioClient({ baseUrl, apiKey: key.data!.key });
    const list = await withKey.GET('/api/notes', { params: { query: { limit: 5 } } });
    expect(list.data?.data).toEqual([]);
    const write = await withKey.POST('/api/notes', { body: { title: 'not allowed' } });
    expect(write.response.status).toBe(403);
    expect(write.error).toMatchObject({ status: 403, code: 'insufficient_scope' });

    const anonymous = createFolioClient({ baseUrl });
    const missing = await anonymous.GET('/api/notes/{id}', { params: { path: { id: 1 } } });
    expect(missing.error?.code).toBe('unauthorized');
    expect(() => createFolioClient({ baseUrl, token: 't', apiKey: 'k' })).toThrow(/not both/);
  });
});
