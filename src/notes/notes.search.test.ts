import { describe, it, expect } from 'vitest';
import { createNote, expectProblem, signUp } from '../../test/helpers.js';
import { createInTimeOrder, fieldsOf, ids, list, setup, titles } from '../../test/notes-helpers.js';

// Behaviour of searching notes with q.

describe('GET /api/notes', () => {
  describe('search', () => {
    it('keeps only notes that match all the words of q', async () => {
      const { app, user } = await setup();
      for (const title of ['red apple', 'green apple', 'red car', 'blue sky'])
        await createNote(app, user, { title });
      expect(titles((await list(app, user, 'q=red%20apple')).body)).toEqual(['red apple']);
      expect(titles((await list(app, user, 'q=apple&sort=title')).body)).toEqual([
        'green apple',
        'red apple',
      ]);
      expect(titles((await list(app, user, 'q=red%20sky')).body)).toEqual([]);
    });

    it('matches words by their beginning', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Gardening tips', content: 'apples and pears' });
      await createNote(app, user, { title: 'Other', content: 'nothing here' });
      for (const q of ['gard', 'garde', 'app', 'pea', 'ti']) {
        expect(titles((await list(app, user, `q=${q}`)).body), q).toEqual(['Gardening tips']);
      }
    });

    it('matches a word by any beginning, even one longer than its stem (runni finds running)', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Gardening tips', content: 'running every morning' });
      for (const q of ['gardeni', 'runn', 'runni', 'mornin', 'running']) {
        expect(titles((await list(app, user, `q=${q}`)).body), q).toEqual(['Gardening tips']);
      }
    });

    it('gives each hit a snippet with the matched term in <mark>, and no snippet outside search', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Pets', content: 'the cats sleep all day' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet).toContain('<mark>cats</mark>');
      const [prefixHit] = (await list(app, user, 'q=cat')).body.data;
      expect(prefixHit!.snippet).toContain('<mark>cats</mark>');
      const [plain] = (await list(app, user)).body.data;
      expect(plain).not.toHaveProperty('snippet');
    });

    it('escapes HTML from the note in the snippet', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Pets', content: '<script>x</script> cats & "dogs"' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet).toContain('&lt;script&gt;');
      expect(hit!.snippet).not.toContain('<script>');
      expect(hit!.snippet).toContain('<mark>cats</mark>');
      expect(hit!.snippet).toContain('&amp;');
      expect(hit!.content).toBe('<script>x</script> cats & "dogs"');
    });

    it('puts <mark> only around matched terms: notes cannot hold the control characters it marks with', async () => {
      const { app, user } = await setup();
      const rejected = await app.inject({
        method: 'POST',
        url: '/api/notes',
        headers: user.headers,
        payload: { title: 'Pets', content: 'a\u0002b\u0003 and cats' },
      });
      expect(rejected.statusCode).toBe(400);
      expect(rejected.json().errors).toEqual([
        {
          field: 'content',
          message:
            'must not contain control characters other than tab and line breaks, nor unpaired surrogates',
        },
      ]);
      await createNote(app, user, { title: 'Pets', content: 'a\tb\r\nand cats' });
      const [hit] = (await list(app, user, 'q=cats')).body.data;
      expect(hit!.snippet!.match(/<mark>/g)).toHaveLength(1);
      expect(hit!.snippet!.match(/<\/mark>/g)).toHaveLength(1);
      expect(hit!.snippet).toContain('<mark>cats</mark>');
    });

    it('ranks a note whose title matches above notes where only the body matches', async () => {
      const { app, user } = await setup();
      // Body-only matches both before (lower id) and after (more recent) the title match, so
      // neither id order nor recency could put the title match first by chance.
      await createNote(app, user, { title: 'Misc', content: 'the quarterly report is late again' });
      await createNote(app, user, { title: 'Quarterly report', content: 'numbers' });
      await createNote(app, user, { title: 'Other', content: 'send the report to finance' });
      for (const title of ['alpha', 'beta', 'gamma', 'delta'])
        await createNote(app, user, { title, content: 'unrelated' });
      const { body } = await list(app, user, 'q=report');
      expect(titles(body)[0]).toBe('Quarterly report');
      expect([...titles(body)].sort()).toEqual(['Misc', 'Other', 'Quarterly report']);
      expect(body.meta.total).toBe(3);
    });

    it('sorts search hits by title when sort=title is given', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Misc', content: 'the report is late' });
      await createNote(app, user, { title: 'Report', content: 'numbers' });
      await createNote(app, user, { title: 'another', content: 'report again' });
      await createNote(app, user, { title: 'Zebra', content: 'no match' });
      const { body } = await list(app, user, 'q=report&sort=title');
      expect(titles(body)).toEqual(['another', 'Misc', 'Report']);
      expect(body.data.every((note) => typeof note.snippet === 'string')).toBe(true);
    });

    it('continues a search in keyset mode with the same q, in relevance order', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'Misc', content: 'the report is late' });
      await createNote(app, user, { title: 'Report', content: 'numbers' });
      await createNote(app, user, { title: 'another', content: 'report again' });
      const all = titles((await list(app, user, 'q=report')).body);
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const after: string = cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`;
        const { body } = await list(app, user, `q=report&limit=1${after}`);
        walked.push(...titles(body));
        cursor = body.meta.next_cursor;
      } while (cursor !== null && walked.length < 10);
      expect(walked).toEqual(all);
    });

    it('answers 400 naming after when a search cursor is sent without q', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'report one' });
      await createNote(app, user, { title: 'report two' });
      const cursor = (await list(app, user, 'q=report&limit=1')).body.meta.next_cursor!;
      const response = await app.inject({
        url: `/api/notes?after=${encodeURIComponent(cursor)}`,
        headers: user.headers,
      });
      expect(fieldsOf(expectProblem(response, 400, 'validation_failed'))).toEqual(['after']);
    });

    it('sees each hit exactly once walking a search by cursor with a sort while matching notes are created', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple apple apple', content: 'x' });
      await createNote(app, user, { title: 'apple pie', content: 'apple' });
      await createNote(app, user, { title: 'an apple', content: 'y' });
      for (let i = 0; i < 5; i++) await createNote(app, user, { title: `other ${i}` });
      const original = ids((await list(app, user, 'q=apple')).body);
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const after: string = cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`;
        const { body } = await list(app, user, `q=apple&sort=-created_at&limit=1${after}`);
        seen.push(...ids(body));
        cursor = body.meta.next_cursor;
        for (let i = 0; i < 3; i++) await createNote(app, user, { title: `filler ${i}`, content: 'apple' });
      } while (cursor !== null && seen.length < 100);
      expect(seen.length).toBe(new Set(seen).size);
      expect([...seen].sort()).toEqual([...original].sort());
    });

    it('reads only words from q, so search syntax characters are plain text', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple crumble' });
      for (const q of ['"apple', 'apple*', '(apple)', 'apple:', 'title:apple', '^apple']) {
        const response = await app.inject({
          url: `/api/notes?q=${encodeURIComponent(q)}`,
          headers: user.headers,
        });
        expect(response.statusCode, `${q}: ${response.body}`).toBe(200);
      }
      expect(titles((await list(app, user, `q=${encodeURIComponent('"apple*')}`)).body)).toEqual([
        'apple crumble',
      ]);
    });

    it.each(['', '?!', ' -- ... ', '"*()'])('answers as if there were no q when q is %j', async (q) => {
      const { app, user } = await setup();
      await createInTimeOrder(app, user, [
        { title: 'first' },
        { title: 'second' },
        { title: 'third', archived: true },
      ]);
      const plain = await list(app, user);
      const searched = await list(app, user, `q=${encodeURIComponent(q)}`);
      expect(ids(searched.body)).toEqual(ids(plain.body));
      expect(titles(searched.body)).toEqual(['second', 'first']);
      expect(searched.body.meta.total).toBe(2);
      expect(searched.body.data.some((note) => 'snippet' in note)).toBe(false);
    });

    it('finds a note by its new words and not its old ones after an update', async () => {
      const { app, user } = await setup();
      const note = await createNote(app, user, { title: 'Dessert', content: 'apple crumble with cream' });
      expect(ids((await list(app, user, 'q=cream')).body)).toEqual([note.id]);
      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/notes/${note.id}`,
        headers: user.headers,
        payload: { title: 'Pudding', content: 'with custard' },
      });
      expect(patch.statusCode).toBe(200);
      expect(ids((await list(app, user, 'q=cream')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=dessert')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=custard')).body)).toEqual([note.id]);
      expect(ids((await list(app, user, 'q=pudding')).body)).toEqual([note.id]);
      const put = await app.inject({
        method: 'PUT',
        url: `/api/notes/${note.id}`,
        headers: user.headers,
        payload: { title: 'Soup' },
      });
      expect(put.statusCode).toBe(200);
      expect(ids((await list(app, user, 'q=custard')).body)).toEqual([]);
      expect(ids((await list(app, user, 'q=soup')).body)).toEqual([note.id]);
    });

    it('no longer finds a deleted note', async () => {
      const { app, user } = await setup();
      const note = await createNote(app, user, { title: 'Ephemeral', content: 'quince' });
      const kept = await createNote(app, user, { title: 'Kept', content: 'quince' });
      await app.inject({ method: 'DELETE', url: `/api/notes/${note.id}`, headers: user.headers });
      expect(ids((await list(app, user, 'q=quince')).body)).toEqual([kept.id]);
      expect(ids((await list(app, user, 'q=ephemeral')).body)).toEqual([]);
    });

    it('finds only the caller’s own notes', async () => {
      const { app, user } = await setup();
      const other = await signUp(app);
      const mine = await createNote(app, user, { title: 'apple mine' });
      await createNote(app, other, { title: 'apple theirs' });
      const { body } = await list(app, user, 'q=apple');
      expect(ids(body)).toEqual([mine.id]);
      expect(body.meta.total).toBe(1);
      expect(ids((await list(app, user, 'q=theirs')).body)).toEqual([]);
    });

    it('combines q with tag and pinned filters', async () => {
      const { app, user } = await setup();
      await createNote(app, user, { title: 'apple work', tags: ['work'], pinned: true });
      await createNote(app, user, { title: 'apple home', tags: ['home'], pinned: true });
      await createNote(app, user, { title: 'apple loose', tags: ['work'] });
      expect(titles((await list(app, user, 'q=apple&tag=work&pinned=true')).body)).toEqual(['apple work']);
    });
  });
});
