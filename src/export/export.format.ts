import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.js';
import type { FieldError } from '../errors.js';
import { checkAgainst } from '../http/validation.js';
import { EXPORT_FORMAT, EXPORT_VERSION, ImportedNote, type ExportedNote } from './export.schemas.js';
import { BATCH_SIZE, exportPage, type ExportPosition } from './export.store.js';

/** Whose notes an export holds. */
export interface ExportOwner {
  id: number;
  username: string;
  email: string;
}

/**
 * The owner's export document as text, a page of notes at a time, so memory stays flat however
 * many notes there are. The first chunk already holds the first page: a database that fails at
 * once fails before anything is sent. Each page is read on its own, so a note changed while the
 * export runs comes out as it was when its page was read. `onPage` hears how many notes each page held.
 */
export async function* exportJson(
  db: Kysely<DB>,
  owner: ExportOwner,
  options: { exportedAt?: Date; pageSize?: number; onPage?: (notes: number) => void } = {},
): AsyncGenerator<string> {
  const header = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: (options.exportedAt ?? new Date()).toISOString(),
    user: { username: owner.username, email: owner.email },
  };
  // `{…,"notes":[` then one note a line, then `]}`: valid JSON, and readable a line at a time.
  let prefix = `${JSON.stringify(header).slice(0, -1)},"notes":[\n`;
  let after: ExportPosition | undefined;
  let first = true;
  for (;;) {
    const page = await exportPage(db, owner.id, after, options.pageSize ?? BATCH_SIZE);
    if (page.notes.length > 0) {
      const lines = page.notes.map((note) => JSON.stringify(note satisfies ExportedNote));
      yield `${prefix}${first ? '' : ',\n'}${lines.join(',\n')}`;
      prefix = '';
      first = false;
      options.onPage?.(page.notes.length);
    }
    if (!page.last || page.notes.length < (options.pageSize ?? BATCH_SIZE)) break;
    after = page.last;
  }
  yield `${prefix}${first ? '' : '\n'}]}\n`;
}

/** What is wrong with a note to import, as the API would say it (`title must …`); empty when nothing. */
export function importProblems(note: unknown): FieldError[] {
  const errors = checkAgainst(ImportedNote, note);
  if (errors.length > 0) return errors;
  const { created_at: created, updated_at: updated } = note as ImportedNote;
  if (created && updated && Date.parse(updated) < Date.parse(created)) {
    return [{ field: 'updated_at', message: 'must not be before created_at' }];
  }
  return [];
}

/** A JSON document to import: its notes, or why it is not an export this version can read. */
export function readExportDocument(text: string): { notes: unknown[] } | { error: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { error: `is not valid JSON (${(error as Error).message})` };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { error: `is not a ${EXPORT_FORMAT} document (not a JSON object)` };
  }
  const { format, version, notes } = document as Record<string, unknown>;
  if (format !== EXPORT_FORMAT)
    return { error: `is not a ${EXPORT_FORMAT} document (format is not "${EXPORT_FORMAT}")` };
  if (version !== EXPORT_VERSION) {
    return {
      error: `is ${EXPORT_FORMAT} version ${JSON.stringify(version)}; this Folio reads version ${EXPORT_VERSION}`,
    };
  }
  if (!Array.isArray(notes)) return { error: 'has no "notes" array' };
  return { notes };
}
