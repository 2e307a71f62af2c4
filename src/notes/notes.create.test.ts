import { describe, it, expect } from 'vitest';
import { buildTestApp, expectProblem } from '../../test/helpers.js';
import { FORM, fieldsOf, post, setup, type NoteBody } from '../../test/notes-helpers.js';

// Behaviour of creating a note, each test on its own fresh database.

const NOTE_KEYS = [
  'archived',
  'content',
  'created_at',
  'id',
  'pinned',
  'tags',
  'title',
  'updated_at',
  'version',
];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /api/notes', () => {
  it('answers 201 with Location, ETag and exactly the note fields when created from JSON', async () => {
    const { app, user } = await setup();
    const response = await post(app, user, {
      title: 'Read more',
      content: 'finish the guide',
      tags: ['reading'],
      pinned: true,
      archived: false,
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const note = response.json<NoteBody>();
    expect(Object.keys(note).sort()).toEqual(NOTE_KEYS);
    expect(note).toMatchObject({
      title: 'Read more',
      content: 'finish the guide',
      tags: ['reading'],
      pinned: true,
      archived: false,
      version: 1,
    });
    expect(Number.isInteger(note.id)).toBe(true);
    expect(note.created_at).toMatch(ISO_TIME);
    expect(note.updated_at).toBe(note.created_at);
    expect(response.headers.location).toBe(`/api/notes/${note.id}`);
    expect(response.headers.etag).toMatch(/^"[^"]+"$/);
  });

  it('answers with content "", tags [], pinned and archived false when they are left out', async () => {
    const { app, user } = await setup();
    const response = await post(app, user, { title: 'Only a title' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      title: 'Only a title',
      content: '',
      tags: [],
      pinned: false,
      archived: false,
    });
  });

  it('creates from form data, with repeated tags fields and pinned parsed from text', async () => {
    const { app, user } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, ...FORM },
      payload: 'title=From+a+form&content=hello%20there&tags=Home&tags=garden&pinned=true',
    });
    expect(response.statusCode).toBe(201);
    const note = response.json<NoteBody>();
    expect(note).toMatchObject({
      title: 'From a form',
      content: 'hello there',
      tags: ['home', 'garden'],
      pinned: true,
      version: 1,
    });
    expect(response.headers.location).toBe(`/api/notes/${note.id}`);
    expect(response.headers.etag).toBeDefined();
  });

  it('reads a single tags form field as a list of one tag', async () => {
    const { app, user } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, ...FORM },
      payload: 'title=One&tags=solo&pinned=false',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ tags: ['solo'], pinned: false, content: '' });
  });

  it('answers 400 validation_failed for form data with a pinned that is not a boolean', async () => {
    const { app, user } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, ...FORM },
      payload: 'title=One&pinned=maybe',
    });
    expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['pinned']);
  });

  it('stores tags lower-case and once each, in the order first given', async () => {
    const { app, user } = await setup();
    const response = await post(app, user, {
      title: 'Tags',
      tags: ['Work', 'IDEAS', 'work', 'ideas', 'Later'],
    });
    expect(response.statusCode).toBe(201);
    expect(response.json<NoteBody>().tags).toEqual(['work', 'ideas', 'later']);
  });

  it('counts title length in code points: accepts 200 emoji and rejects 201', async () => {
    const { app, user } = await setup();
    const accepted = await post(app, user, { title: '😀'.repeat(200) });
    expect(accepted.statusCode).toBe(201);
    expect(accepted.json<NoteBody>().title).toBe('😀'.repeat(200));
    const rejected = await post(app, user, { title: '😀'.repeat(201) });
    expect(fieldsOf(expectProblem(rejected, 400, 'validation_failed'))).toEqual(['title']);
  });

  it('accepts a title of 200 characters and answers 400 naming title when it is empty or 201 long', async () => {
    const { app, user } = await setup();
    expect((await post(app, user, { title: 'a'.repeat(200) })).statusCode).toBe(201);
    for (const title of ['', 'a'.repeat(201)]) {
      const problem = expectProblem(await post(app, user, { title }), 400, 'validation_failed');
      expect(fieldsOf(problem)).toEqual(['title']);
    }
  });

  it('answers 400 naming title when it is missing', async () => {
    const { app, user } = await setup();
    const problem = expectProblem(await post(app, user, { content: 'no title' }), 400, 'validation_failed');
    expect(fieldsOf(problem)).toEqual(['title']);
  });

  it('accepts content of 100000 code points and rejects 100001', async () => {
    const { app, user } = await setup();
    const emoji = await post(app, user, { title: 'Long', content: '😀'.repeat(100_000) });
    expect(emoji.statusCode).toBe(201);
    expect([...emoji.json<NoteBody>().content]).toHaveLength(100_000);
    const rejected = await post(app, user, { title: 'Too long', content: 'a'.repeat(100_001) });
    expect(fieldsOf(expectProblem(rejected, 400, 'validation_failed'))).toEqual(['content']);
  });

  it('accepts 20 tags and answers 400 naming tags for 21', async () => {
    const { app, user } = await setup();
    const twenty = Array.from({ length: 20 }, (_, i) => `tag${i}`);
    const accepted = await post(app, user, { title: 'Twenty', tags: twenty });
    expect(accepted.statusCode).toBe(201);
    expect(accepted.json<NoteBody>().tags).toEqual(twenty);
    const rejected = await post(app, user, { title: 'Too many', tags: [...twenty, 'tag20'] });
    expect(fieldsOf(expectProblem(rejected, 400, 'validation_failed'))).toEqual(['tags']);
  });

  it('accepts a tag of 50 code points and answers 400 for an empty tag or one of 51', async () => {
    const { app, user } = await setup();
    const accepted = await post(app, user, { title: 'Tag lengths', tags: ['t'.repeat(50), '😀'.repeat(50)] });
    expect(accepted.statusCode).toBe(201);
    for (const tag of ['', 't'.repeat(51), '😀'.repeat(51)]) {
      const problem = expectProblem(
        await post(app, user, { title: 'Bad tag', tags: ['fine', tag] }),
        400,
        'validation_failed',
      );
      expect(fieldsOf(problem)).toEqual(['tags[1]']);
    }
  });

  it('answers 400 naming the tag when a tag contains a comma', async () => {
    const { app, user } = await setup();
    const problem = expectProblem(
      await post(app, user, { title: 'Comma', tags: ['a,b'] }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(problem)).toEqual(['tags[0]']);
  });

  it('answers 400 naming each field with an unpaired surrogate, and stores nothing', async () => {
    const { app, user } = await setup();
    // JSON can escape half a surrogate pair; no UTF-8 database can store one, so it would come
    // back as U+FFFD: a different note than the one sent.
    const problem = expectProblem(
      await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: { ...user.headers, 'content-type': 'application/json' },
        payload: '{"title":"a\\ud800b","content":"x\\udc00","tags":["fine","t\\ud83d"]}',
      }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(problem)).toEqual(['title', 'content', 'tags[1]']);
    const listed = await app.inject({ url: '/api/notes', headers: user.headers });
    expect(listed.json().meta.total).toBe(0);
    const paired = await post(app, user, {
      title: 'a\ud83d\ude00b',
      content: '\ud83d\ude00',
      tags: ['\ud83d\ude00'],
    });
    expect(paired.json<NoteBody>()).toMatchObject({ title: 'a😀b', content: '😀', tags: ['😀'] });
  });

  it('answers 400 validation_failed instead of coercing a number title or a "true" pinned', async () => {
    const { app, user } = await setup();
    const numberTitle = expectProblem(await post(app, user, { title: 123 }), 400, 'validation_failed');
    expect(fieldsOf(numberTitle)).toEqual(['title']);
    const textPinned = expectProblem(
      await post(app, user, { title: 'ok', pinned: 'true' }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(textPinned)).toEqual(['pinned']);
    const textTags = expectProblem(
      await post(app, user, { title: 'ok', tags: 'single' }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(textTags)).toEqual(['tags']);
  });

  it('answers 400 naming an unknown member', async () => {
    const { app, user } = await setup();
    const problem = expectProblem(
      await post(app, user, { title: 'ok', colour: 'red' }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(problem)).toEqual(['colour']);
    expect(problem.detail).toContain('colour');
  });

  it.each([
    ['id', 5],
    ['version', 3],
    ['created_at', '2020-01-01T00:00:00.000Z'],
    ['updated_at', '2020-01-01T00:00:00.000Z'],
    ['owner_id', 1],
  ])('answers 400 naming %s when the client sets it, and creates nothing', async (field, value) => {
    const { app, user } = await setup();
    const problem = expectProblem(
      await post(app, user, { title: 'ok', [field]: value }),
      400,
      'validation_failed',
    );
    expect(fieldsOf(problem)).toEqual([field]);
    const list = await app.inject({ url: '/api/notes', headers: user.headers });
    expect(list.json<{ meta: { total: number } }>().meta.total).toBe(0);
  });

  it('answers once with every bad field, each listed exactly once', async () => {
    const { app, user } = await setup();
    const response = await post(app, user, {
      title: 123,
      content: false,
      pinned: 'true',
      tags: ['ok', 'a,b', ''],
      id: 7,
      version: 2,
      colour: 'red',
    });
    const fields = fieldsOf(expectProblem(response, 400, 'validation_failed'));
    expect([...fields].sort()).toEqual([
      'colour',
      'content',
      'id',
      'pinned',
      'tags[1]',
      'tags[2]',
      'title',
      'version',
    ]);
    expect(new Set(fields).size).toBe(fields.length);
  });

  it('answers 400 invalid_json for a body that is not JSON or is empty', async () => {
    const { app, user } = await setup();
    const broken = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '{"title": ',
    });
    expectProblem(broken, 400, 'invalid_json');
    const empty = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: '',
    });
    expectProblem(empty, 400, 'invalid_json');
  });

  it('answers 415 unsupported_media_type for a text/plain body', async () => {
    const { app, user } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { ...user.headers, 'content-type': 'text/plain' },
      payload: 'title=plain',
    });
    expectProblem(response, 415, 'unsupported_media_type');
  });

  it('answers 401 with WWW-Authenticate when no token is sent', async () => {
    const { app } = await buildTestApp();
    const response = await app.inject({ method: 'POST', url: '/api/notes', payload: { title: 'anonymous' } });
    expectProblem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});
