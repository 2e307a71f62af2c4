import fc from 'fast-check';

// The byte-for-byte property's inputs and its oracle: which notes the contract accepts, written
// from the rules (product.md, "A note" and "Input"; the schemas' documented patterns), not from
// the server's code.

/** Characters that text handling gets wrong: combining marks, bidi controls, zero-width, astral. */
const TRICKY = [
  'a',
  ' ',
  'e\u0301',
  '\u0301',
  '\u0645',
  '\u05d0',
  '\u202e',
  '\u200f',
  '\u200b',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00a0',
  '\u3000',
  '\u{1f600}',
  '\u{1f469}\u200d\u{1f4bb}',
  '\u{10ffff}',
  '\u{1d400}',
  'ß',
  'İ',
  'Σ',
  'ǅ',
  '\ufffd',
  '\ufffe',
  '\n',
  '\r\n',
  '\t',
  ',',
  '/',
  '<',
  '&',
  '"',
  "'",
  '\\',
  '%',
  '\u0000',
  '\u0085',
  '\ud800',
  '\udc00',
];

// Refused everywhere, and line breaks and tabs, which only content may hold.
const INVALID = new Set(['\u0000', '\u0085', '\ud800', '\udc00']);
const BREAKS = new Set(['\n', '\r\n', '\t']);
const CLEAN = TRICKY.filter((c) => !INVALID.has(c) && !BREAKS.has(c));

/** Text of every kind, mostly short and mostly storable; now and then around the limits. */
export function text(maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom(...CLEAN), minLength: 1, maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...TRICKY), minLength: 1, maxLength }) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,15}$/) },
  );
}

/** Content: text, or long text up to and just past the 100,000 code point limit. */
export const content: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: text(400) },
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...CLEAN, ...BREAKS), maxLength: 400 }) },
  { weight: 1, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', '\u{1f600}', 'e\u0301', 'ab\n'), fc.integer({ min: 30_000, max: 100_001 }))
      .map(([unit, n]) => unit.repeat(Math.floor(n / [...unit].length))),
  },
);

/** Titles: text, and now and then exactly at or past the 200 code point limit. */
export const title: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: text(60) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '\u{1f600}'.repeat(200),
      '\u{1f600}'.repeat(201),
      'x'.repeat(200),
      'x'.repeat(201),
    ),
  },
);

/** Tags: a few, or around the limit of 20. */
export const tags: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 9, arbitrary: fc.array(text(20), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(text(20), { minLength: 18, maxLength: 21 }) },
);

export interface NoteText {
  title: string;
  content: string;
  tags: string[];
}

const codePoints = (s: string) => [...s].length;
// In a Unicode regular expression an unpaired surrogate is a code point of category Cs.
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;

/** Text that UTF-8 (so every database) can store: no unpaired surrogates. */
function storable(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

function titleOk(s: string): boolean {
  return codePoints(s) >= 1 && codePoints(s) <= 200 && !CONTROL.test(s) && storable(s);
}

function contentOk(s: string): boolean {
  return codePoints(s) <= 100_000 && !/[^\P{Cc}\t\n\r]/u.test(s) && storable(s);
}

function tagOk(s: string): boolean {
  const n = codePoints(s);
  return n >= 1 && n <= 50 && !CONTROL.test(s) && !s.includes(',') && !/^\s|\s$/u.test(s) && storable(s);
}

/** The fields a 400 must name for this note (`tags[2]` for one tag), none when it is valid. */
export function badFields(note: Partial<NoteText>): string[] {
  const bad: string[] = [];
  if (note.title !== undefined && !titleOk(note.title)) bad.push('title');
  if (note.content !== undefined && !contentOk(note.content)) bad.push('content');
  if (note.tags !== undefined) {
    if (note.tags.length > 20) bad.push('tags');
    note.tags.forEach((tag, i) => {
      if (!tagOk(tag)) bad.push(`tags[${i}]`);
    });
  }
  return bad.sort();
}

/** Cuts long strings in a failure message. */
export function short(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}…(${v.length} chars)` : v,
  );
}
