import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import type { Config } from '../config.js';
import { openDatabase, sqlitePath, type Database } from '../db/database.js';
import { CommandError, openExistingDatabase, reportingErrors } from './command-error.js';
import { progressBar } from './progress.js';

// `folio backup FILE`: a copy of the SQLite database, taken while the server keeps serving (SQLite's
// online backup, page by page, in this process), checked, and only then put in place.
//
// Restore: stop the server, copy FILE over the database file (FOLIO_DATABASE_URL), delete the
// database file's -wal and -shm files if they are there, start the server.

/** Pages copied per step (4 MiB at SQLite's 4 KiB pages); the server writes between steps. */
const STEP_PAGES = 1000;
/**
 * A write by another connection between two steps makes SQLite start the copy again. After this
 * many restarts the rest is copied in one step, during which writers go on (WAL mode: a reader
 * never blocks them) but the copy cannot be overtaken.
 */
const MAX_RESTARTS = 3;
/** Below this many pages (10 MiB) a backup takes a moment: no bar unless --progress. */
const LARGE_PAGES = 2560;

const USAGE = 'usage: folio backup [--force] [--progress] FILE';

/** `folio backup`: an online backup of the SQLite database into a new file. */
export function backupCommand(config: Config, args: string[]): Promise<number> {
  return reportingErrors(async () => {
    const { values, positionals } = parseArgs({
      args,
      options: { force: { type: 'boolean' }, progress: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new CommandError(`backup needs one FILE to write (${USAGE})`, 2);
    const url = config.databaseUrl;
    if (!url.startsWith('sqlite:')) {
      throw new CommandError(
        'backup copies a SQLite database; back up PostgreSQL with pg_dump (pg_dump -Fc "$FOLIO_DATABASE_URL" > folio.dump)',
      );
    }
    if (url === 'sqlite::memory:') throw new CommandError('an in-memory database has nothing to back up');
    const source = sqlitePath(url);
    const target = path.resolve(positionals[0]!);
    if (target === source) throw new CommandError('the backup FILE is the database itself');
    if (existsSync(target) && !values.force) {
      throw new CommandError(`${target} already exists; pass --force to overwrite it`);
    }
    if (!existsSync(path.dirname(target))) {
      throw new CommandError(`cannot write ${target}: the folder ${path.dirname(target)} does not exist`);
    }

    // Written beside the target and renamed over it once checked: a failed backup never leaves a
    // half-written file under the name, nor spoils the previous one.
    const partial = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.partial`);
    try {
      const database = openExistingDatabase(url);
      let pages: number;
      try {
        pages = await copyPages(database, partial, values.progress === true);
      } finally {
        await database.close();
      }
      const checked = await verify(partial);
      // A -wal or -shm left by an earlier database of that name must not be read with the new file.
      for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
      renameSync(partial, target);
      const mib = (statSync(target).size / 1048576).toFixed(1);
      console.log(
        `backed up ${source} to ${target}: ${pages} pages (${mib} MiB), integrity ok, ` +
          `${checked.users} users, ${checked.notes} notes`,
      );
      return 0;
    } finally {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
    }
  });
}

/** Copies every page into `file`; returns how many there were. */
async function copyPages(database: Database, file: string, force: boolean): Promise<number> {
  if (!database.backup) throw new CommandError('this database cannot be backed up');
  const bar = progressBar('backup', 'pages', force);
  let restarts = 0;
  let lastRemaining = Infinity;
  let shown = false;
  try {
    const { totalPages } = await database.backup(file, {
      progress: ({ totalPages: total, remainingPages: remaining }) => {
        if (remaining > lastRemaining) restarts += 1; // another connection wrote: SQLite began again
        lastRemaining = remaining;
        if (!shown && (force || total >= LARGE_PAGES)) {
          bar.start(total);
          shown = true;
        }
        bar.update(total - remaining, total);
        return restarts >= MAX_RESTARTS ? 0x7fffffff : STEP_PAGES;
      },
    });
    bar.update(totalPages, totalPages);
    return totalPages;
  } catch (error) {
    throw new CommandError(`the backup failed: ${(error as Error).message}`);
  } finally {
    bar.stop();
  }
}

/** Opens the copy as Folio would and checks it: SQLite's integrity check, and that its tables read. */
async function verify(file: string): Promise<{ users: number; notes: number }> {
  const copy = openDatabase(`sqlite:${file}`);
  try {
    const { rows } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(copy.db);
    const problems = rows.map((row) => row.integrity_check).filter((line) => line !== 'ok');
    if (problems.length > 0 || rows.length === 0) {
      throw new CommandError(`the backup failed its integrity check: ${problems.slice(0, 3).join('; ')}`);
    }
    const count = async (table: 'users' | 'notes') =>
      Number(
        (
          await copy.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { users: await count('users'), notes: await count('notes') };
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError(`the backup does not read as a Folio database: ${(error as Error).message}`);
  } finally {
    await copy.close();
  }
}
