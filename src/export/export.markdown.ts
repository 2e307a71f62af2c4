import path from 'node:path';
import { parse as parseYaml } from 'yaml';

// A Markdown file as a note to import (`folio import … <folder>`):
//
//   ---
//   title: Read more            (else the first "# heading", else the file name without .md)
//   tags: [reading, Later]      (or "reading, later"; stored lower-case)
//   pinned: true                (true or false)
//   archived: false
//   created: 2024-01-01T09:30:00Z   (or created_at; a date alone is midnight UTC)
//   updated: 2024-02-01         (or updated_at; either time alone stands for both)
//   ---
//   the body, which is the note's content
//
// The front matter is optional and other keys in it are ignored (other tools write their own).

/** A note read from Markdown (to be checked like any imported note), or why the file cannot be one. */
export type MarkdownNote = { note: Record<string, unknown> } | { error: string };

const FENCE = /^---[ \t]*$/;

/** Splits a file into its front matter (the text between a first line `---` and the next) and body. */
function splitFrontMatter(text: string): { yaml: string | undefined; body: string } | { error: string } {
  const lines = text.split(/(?<=\n)/);
  if (lines.length === 0 || !FENCE.test(lines[0]!.replace(/\r?\n$/, '')))
    return { yaml: undefined, body: text };
  const end = lines.findIndex((line, i) => i > 0 && FENCE.test(line.replace(/\r?\n$/, '')));
  if (end < 0) return { error: 'the front matter that starts on the first line has no closing --- line' };
  return { yaml: lines.slice(1, end).join(''), body: lines.slice(end + 1).join('') };
}

/** The text of the first level-one heading (`# Title`) outside code blocks. */
function firstHeading(body: string): string | undefined {
  let fenced: string | undefined;
  for (const line of body.split(/\r?\n/)) {
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (fenced === undefined) fenced = fence[0];
      else if (fence[0] === fenced) fenced = undefined;
      continue;
    }
    if (fenced !== undefined) continue;
    const heading = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line)?.[1]?.trim();
    if (heading) return heading;
  }
  return undefined;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** A front-matter time as an ISO-8601 UTC time, or undefined when it is not one. */
function timeOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DATE_ONLY.test(text)) return Number.isNaN(Date.parse(text)) ? undefined : `${text}T00:00:00.000Z`;
  if (!DATE_TIME.test(text)) return undefined;
  const time = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function booleanOf(value: unknown): boolean | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

/** Reads one Markdown file (its text and its name) as a note. */
export function noteFromMarkdown(text: string, fileName: string): MarkdownNote {
  const split = splitFrontMatter(text.replace(/^\uFEFF/, ''));
  if ('error' in split) return split;
  let front: Record<string, unknown> = {};
  if (split.yaml !== undefined) {
    let parsed: unknown;
    try {
      // failsafe: every value is text, so `title: 1.10` stays "1.10"; booleans and times are read here.
      parsed = parseYaml(split.yaml, { schema: 'failsafe' });
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0]!.replace(/:\s*$/, '');
      return { error: `the front matter is not valid YAML: ${reason}` };
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      return { error: 'the front matter is not a YAML mapping (key: value lines)' };
    }
    front = (parsed ?? {}) as Record<string, unknown>;
  }
  const body = split.body.replace(/^(?:[ \t]*\r?\n)+/, '');
  const note: Record<string, unknown> = { content: body };

  const title = front.title;
  if (title !== undefined && typeof title !== 'string') return { error: 'title must be text' };
  note.title =
    title?.trim() || firstHeading(body) || path.basename(fileName).replace(/\.(md|markdown)$/i, '');

  const tags = front.tags;
  if (typeof tags === 'string') {
    note.tags = tags
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== '');
  } else if (Array.isArray(tags) && tags.every((tag) => typeof tag === 'string')) {
    note.tags = tags.map((tag) => tag.trim());
  } else if (tags !== undefined) {
    return { error: 'tags must be a list of words ([a, b]) or text (a, b)' };
  }

  for (const key of ['pinned', 'archived'] as const) {
    if (front[key] === undefined) continue;
    const value = booleanOf(front[key]);
    if (value === undefined) return { error: `${key} must be true or false` };
    note[key] = value;
  }

  for (const [key, field] of [
    ['created', 'created_at'],
    ['updated', 'updated_at'],
  ] as const) {
    const given = front[field] ?? front[key];
    if (given === undefined) continue;
    const time = timeOf(given);
    if (time === undefined) {
      return {
        error: `${front[field] === undefined ? key : field} must be a date (2024-01-31) or a date and time with its zone (2024-01-31T09:30:00Z)`,
      };
    }
    note[field] = time;
  }
  return { note };
}
