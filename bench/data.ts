// The notes both servers are seeded with: deterministic, so runs compare, with a vocabulary wide
// enough that a search for one word matches a small share of the notes (as a real search does).

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'te', 'vo', 'zi', 'po', 'da', 'fe'];

/** Word n of a 1,728-word vocabulary of made-up words ("kalomi", "rusate", …). */
export function word(n: number): string {
  const s = SYLLABLES.length;
  return SYLLABLES[n % s]! + SYLLABLES[Math.floor(n / s) % s]! + SYLLABLES[Math.floor(n / (s * s)) % s]!;
}

/** The word the search scenario looks for: about 1 note in 600 has it. */
export const SEARCH_WORD = word(42);

export interface SeedNote {
  title: string;
  content: string;
  tags: string[];
}

/** Note i of the data set: a title, a paragraph of about 40 words, one tag. */
export function seedNote(i: number): SeedNote {
  // Three words per note from a pseudo-random walk over the vocabulary.
  const a = (i * 7919) % 1728;
  const b = (i * 104729 + 13) % 1728;
  const c = (i * 1299709 + 101) % 1728;
  return {
    title: `Note ${i} about ${word(a)}`,
    content:
      `Meeting notes for ${word(b)} and ${word(c)}. ` +
      'Ideas, lists and follow-ups: call the team, review the draft, plan the week, write the summary, '.repeat(
        2,
      ) +
      `item ${i % 97}.`,
    tags: [`tag${i % 10}`],
  };
}
