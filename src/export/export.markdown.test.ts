import { describe, expect, it } from 'vitest';
import { noteFromMarkdown } from './export.markdown.js';

// Reading Markdown files as notes to import (no database).

describe('noteFromMarkdown', () => {
  it('reads every front-matter member, as text first (title 1.10 stays 1.10)', () => {
    const text =
      '---\r\ntitle: 1.10\r\ntags: Work, later\r\npinned: TRUE\r\narchived: false\r\n' +
      'created_at: 2024-01-01 09:30:00+02:00\r\nupdated: 2024-03-01\r\nauthor: ignored\r\n---\r\n\r\nbody\r\n';
    expect(noteFromMarkdown(text, 'x.md')).toEqual({
      note: {
        title: '1.10',
        content: 'body\r\n',
        tags: ['Work', 'later'],
        pinned: true,
        archived: false,
        created_at: '2024-01-01T07:30:00.000Z',
        updated_at: '2024-03-01T00:00:00.000Z',
      },
    });
  });

  it('takes the title from the first heading outside code, else from the file name', () => {
    const fenced = '```\n# not this\n```\n\n## nor this\n# This one #\n';
    expect(noteFromMarkdown(fenced, '/a/b.md')).toEqual({ note: { title: 'This one', content: fenced } });
    expect(noteFromMarkdown('\uFEFFplain', '/a/My note.md')).toEqual({
      note: { title: 'My note', content: 'plain' },
    });
    expect(noteFromMarkdown('---\ntitle:\n---\n# Heading\n', 'c.md')).toEqual({
      note: { title: 'Heading', content: '# Heading\n' },
    });
  });

  it('tells what is wrong with a file that cannot be a note', () => {
    const error = (text: string) => (noteFromMarkdown(text, 'f.md') as { error: string }).error;
    expect(error('---\ntitle: x\n')).toBe(
      'the front matter that starts on the first line has no closing --- line',
    );
    expect(error('---\ntitle: [x\n---\n')).toMatch(/^the front matter is not valid YAML: /);
    expect(error('---\n- a\n---\n')).toBe('the front matter is not a YAML mapping (key: value lines)');
    expect(error('---\npinned: yes\n---\n')).toBe('pinned must be true or false');
    expect(error('---\ncreated: last tuesday\n---\n')).toMatch(/^created must be a date/);
    expect(error('---\ntitle: [a, b]\n---\n')).toBe('title must be text');
    expect(error('---\ntags: {a: b}\n---\n')).toMatch(/^tags must be a list/);
  });
});
