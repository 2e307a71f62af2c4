import { createWriteStream, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { exportJson } from '../export/export.format.js';
import { countExported } from '../export/export.store.js';
import { findUserByLogin } from '../users/users.store.js';
import { CommandError, openExistingDatabase, reportingErrors } from './command-error.js';
import { progressBar } from './progress.js';

const USAGE = 'usage: folio export --user NAME [--out FILE] [--progress]';

/**
 * `folio export`: a user's notes as a folio-export document (src/export/export.schemas.ts) on
 * standard output, or in FILE, read a page at a time. Standard output carries only the document;
 * messages and the bar go to standard error.
 */
export function exportCommand(config: Config, args: string[]): Promise<number> {
  return reportingErrors(async () => {
    const { values } = parseArgs({
      args,
      options: { user: { type: 'string' }, out: { type: 'string' }, progress: { type: 'boolean' } },
    });
    if (!values.user) throw new CommandError(`export needs --user NAME (${USAGE})`, 2);
    const database = openExistingDatabase(config.databaseUrl);
    try {
      const { db } = database;
      const user = await findUserByLogin(db, values.user);
      if (!user) throw new CommandError(`there is no user ${values.user}`);
      const bar = progressBar('export', 'notes', values.progress === true);
      if (bar.shown) bar.start(await countExported(db, user.id));
      let notes = 0;
      const text = exportJson(db, user, {
        onPage: (count) => {
          notes += count;
          bar.increment(count);
        },
      });
      try {
        if (values.out === undefined) {
          await write(text, process.stdout, false);
        } else {
          // Written beside FILE and renamed over it at the end: FILE is never a half export.
          const out = path.resolve(values.out);
          const partial = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.partial`);
          try {
            await write(text, createWriteStream(partial), true);
            renameSync(partial, out);
          } finally {
            rmSync(partial, { force: true });
          }
        }
      } finally {
        bar.stop();
      }
      const where = values.out === undefined ? '' : ` to ${path.resolve(values.out)}`;
      console.error(`exported ${notes} notes of ${user.username}${where}`);
      return 0;
    } finally {
      await database.close();
    }
  });
}

/** Writes the document, waiting whenever the reader falls behind. */
async function write(text: AsyncIterable<string>, stream: Writable, end: boolean): Promise<void> {
  try {
    await pipeline(Readable.from(text, { objectMode: false }), stream, { end });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new CommandError(`the export was not written in full: ${code ?? message}`);
  }
}
