import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { importProblems, readExportDocument } from '../export/export.format.js';
import { noteFromMarkdown } from '../export/export.markdown.js';
import type { ImportedNote } from '../export/export.schemas.js';
import { BATCH_SIZE, importNotes } from '../export/export.store.js';
import { findUserByLogin } from '../users/users.store.js';
import { CommandError, openExistingDatabase, reportingErrors } from './command-error.js';
import { progressBar } from './progress.js';

const USAGE = 'usage: folio import --user NAME [--strict] [--progress] FILE.json|FILE.md|FOLDER';
/** A Markdown file larger than this cannot be a note (content is at most 100,000 characters). */
const MAX_MARKDOWN_BYTES = 1 << 20;

/** One note to import, or why it cannot be; `label` tells a person which (file, or place in the file). */
type Candidate = { label: string; note: ImportedNote } | { label: string; problem: string };

interface Source {
  total: number;
  candidates(): Iterable<Candidate>;
}

/**
 * `folio import`: adds notes to a user from a folio-export document or from Markdown files,
 * checked by the API's rules, 500 to a transaction, through the notes store (so the change feed
 * and webhooks see new notes). An invalid note is reported on standard error and skipped, and the
 * command then exits 1; with --strict nothing is imported when any note is invalid. Imports add
 * notes: running one twice makes each note twice.
 */
export function importCommand(config: Config, args: string[]): Promise<number> {
  return reportingErrors(async () => {
    const { values, positionals } = parseArgs({
      args,
      options: { user: { type: 'string' }, strict: { type: 'boolean' }, progress: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (!values.user) throw new CommandError(`import needs --user NAME (${USAGE})`, 2);
    if (positionals.length !== 1) {
      throw new CommandError(`import needs one FILE.json, FILE.md or FOLDER to read (${USAGE})`, 2);
    }
    const source = readSource(path.resolve(positionals[0]!));
    const database = openExistingDatabase(config.databaseUrl);
    try {
      const { db } = database;
      const user = await findUserByLogin(db, values.user);
      if (!user) throw new CommandError(`there is no user ${values.user}`);

      if (values.strict) {
        const invalid = [...source.candidates()].filter((candidate) => 'problem' in candidate);
        for (const candidate of invalid) console.error(`folio: ${describe(candidate)}`);
        if (invalid.length > 0) {
          throw new CommandError(
            `${invalid.length} of ${source.total} notes are invalid; with --strict nothing was imported`,
          );
        }
      }

      const bar = progressBar('import', 'notes', values.progress === true);
      // While a bar is drawn, skipped notes are told after it, not through it.
      const held: string[] = [];
      let imported = 0;
      let skipped = 0;
      let batch: ImportedNote[] = [];
      const flush = async () => {
        try {
          await importNotes(db, user.id, batch);
        } catch (error) {
          throw new CommandError(
            `the import stopped after ${imported} notes (each batch of ${BATCH_SIZE} is imported whole or not at all): ${(error as Error).message}`,
          );
        }
        imported += batch.length;
        bar.update(imported + skipped);
        batch = [];
      };
      bar.start(source.total);
      try {
        for (const candidate of source.candidates()) {
          if ('problem' in candidate) {
            skipped += 1;
            const line = `folio: skipped ${describe(candidate)}`;
            if (bar.shown) held.push(line);
            else console.error(line);
            continue;
          }
          batch.push(candidate.note);
          if (batch.length >= BATCH_SIZE) await flush();
        }
        if (batch.length > 0) await flush();
      } finally {
        bar.stop();
        for (const line of held) console.error(line);
      }
      console.log(`imported ${imported} notes into ${user.username}, skipped ${skipped}`);
      return skipped > 0 ? 1 : 0;
    } finally {
      await database.close();
    }
  });
}

function describe(candidate: Candidate): string {
  return 'problem' in candidate ? `${candidate.label}: ${candidate.problem}` : candidate.label;
}

/** A note as a candidate: itself when it passes the API's rules, else its first problems. */
function checked(label: string, note: unknown): Candidate {
  const problems = importProblems(note);
  if (problems.length === 0) return { label, note: note as ImportedNote };
  return { label, problem: problems.map((error) => `${error.field} ${error.message}`).join('; ') };
}

/** What `path` holds: a folder of Markdown files, one Markdown file, or an export document. */
function readSource(file: string): Source {
  let isFolder: boolean;
  try {
    isFolder = statSync(file).isDirectory();
  } catch (error) {
    throw new CommandError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (isFolder) return markdownFolder(file);
  if (/\.(md|markdown)$/i.test(file)) {
    return { total: 1, candidates: () => [markdownCandidate(file, path.basename(file))] };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const read = readExportDocument(text);
  if ('error' in read) throw new CommandError(`${file} ${read.error}`);
  const { notes } = read;
  return {
    total: notes.length,
    *candidates() {
      for (const [i, note] of notes.entries()) {
        const title = (note as { title?: unknown } | null)?.title;
        const named = typeof title === 'string' ? ` ("${title.slice(0, 40)}")` : '';
        yield checked(`${path.basename(file)}: notes[${i}]${named}`, note);
      }
    },
  };
}

/** Every `*.md` file under `folder`, in path order; hidden files and folders (.git, .obsidian) are passed over. */
function markdownFolder(folder: string): Source {
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((relative) => /\.(md|markdown)$/i.test(relative))
    .filter((relative) => !relative.split(path.sep).some((segment) => segment.startsWith('.')))
    .filter((relative) => statSync(path.join(folder, relative)).isFile())
    .sort();
  return {
    total: files.length,
    *candidates() {
      for (const relative of files) {
        yield markdownCandidate(path.join(folder, relative), relative.split(path.sep).join('/'));
      }
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function markdownCandidate(file: string, label: string): Candidate {
  let text: string;
  try {
    if (statSync(file).size > MAX_MARKDOWN_BYTES) {
      return { label, problem: 'is larger than 1 MiB, more than a note can hold' };
    }
    text = utf8.decode(readFileSync(file));
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    return { label, problem: code ? `cannot be read (${code})` : 'is not UTF-8 text' };
  }
  const read = noteFromMarkdown(text, file);
  return 'error' in read ? { label, problem: read.error } : checked(label, read.note);
}
