import { existsSync } from 'node:fs';
import { openDatabase, sqlitePath, type Database } from '../db/database.js';

/** A refusal or a failure a command tells as one line (`folio: …`) before it exits with `code`. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/**
 * Opens the configured database for a command that needs one to be there already: opening a SQLite
 * file that does not exist would create an empty one.
 */
export function openExistingDatabase(url: string): Database {
  if (url.startsWith('sqlite:') && url !== 'sqlite::memory:' && !existsSync(sqlitePath(url))) {
    throw new CommandError(`there is no database at ${sqlitePath(url)} (see FOLIO_DATABASE_URL)`);
  }
  return openDatabase(url);
}

/** Runs a command: a CommandError becomes its one line on standard error and its exit code. */
export async function reportingErrors(command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    console.error(`folio: ${error.message}`);
    return error.code;
  }
}
