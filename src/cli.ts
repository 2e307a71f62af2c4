#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { backupCommand } from './cli/backup.js';
import { exportCommand } from './cli/export.js';
import { importCommand } from './cli/import.js';
import { migrateDataCommand } from './cli/migrate-data.js';
import { createUserCommand } from './cli/user-create.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { serve } from './main.js';
import { serveCluster } from './cluster.js';
import { availableParallelism } from 'node:os';

const USAGE = `Usage: folio <command>

Commands:
  serve [--workers N]    start the server (the default); N processes share the port (auto: one per core)
  migrate                bring the database schema up to date
  openapi                print the OpenAPI document as JSON
  migrate-data --from URL --to URL
                         copy everything from one database to another, empty one (e.g. SQLite to PostgreSQL)
  user create --username NAME --email EMAIL [--password PASSWORD]
                         create an account (the password is read from stdin when not given)
  backup [--force] [--progress] FILE
                         copy the SQLite database into FILE (a new file unless --force) while the server
                         keeps serving, and check the copy; exits 1 on PostgreSQL (use pg_dump). Restore:
                         stop the server, copy FILE over the database file, delete its -wal and -shm files
  export --user NAME [--out FILE] [--progress]
                         write NAME's notes (not the trash) as JSON, format folio-export version 1, to
                         stdout or FILE
  import --user NAME [--strict] [--progress] FILE.json|FILE.md|FOLDER
                         add notes to NAME from an export, or from Markdown files (FOLDER: every *.md in it)
                         with optional YAML front matter (title, tags, pinned, archived, created, updated);
                         an invalid note is reported and skipped, and the exit code is then 1; --strict
                         imports nothing when any note is invalid

Configuration comes from FOLIO_* environment variables; see .env.example.`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { workers: { type: 'string' } } });
      const workers =
        values.workers === undefined
          ? 1
          : values.workers === 'auto'
            ? availableParallelism()
            : Number(values.workers);
      if (!Number.isSafeInteger(workers) || workers < 1 || workers > 256) {
        console.error('folio: --workers must be a whole number from 1 to 256, or auto');
        return 2;
      }
      if (workers === 1) await serve(config);
      else await serveCluster(config, workers);
      return -1; // keep running
    }
    case 'migrate': {
      const database = openDatabase(config.databaseUrl);
      try {
        const { results = [] } = await migrateToLatest(database.db);
        console.log(
          results.length ? results.map((r) => `applied ${r.migrationName}`).join('\n') : 'already up to date',
        );
      } finally {
        await database.close();
      }
      return 0;
    }
    case 'openapi': {
      // The document comes from the routes alone, so an in-memory database is enough to build them.
      const database = openDatabase('sqlite::memory:');
      const app = await buildApp({
        config: { ...config, secret: 'x'.repeat(32), logLevel: 'silent' },
        database,
      });
      await app.ready();
      console.log(JSON.stringify(app.swagger(), null, 2));
      await app.close();
      await database.close();
      return 0;
    }
    case 'migrate-data': {
      const { values } = parseArgs({
        args: rest,
        options: { from: { type: 'string' }, to: { type: 'string' } },
      });
      if (!values.from || !values.to) {
        console.error(`folio: migrate-data needs --from URL and --to URL\n\n${USAGE}`);
        return 2;
      }
      return migrateDataCommand(values.from, values.to);
    }
    case 'user': {
      if (rest[0] !== 'create') break;
      const { values } = parseArgs({
        args: rest.slice(1),
        options: { username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
      });
      return createUserCommand(config, values);
    }
    case 'backup':
      return backupCommand(config, rest);
    case 'export':
      return exportCommand(config, rest);
    case 'import':
      return importCommand(config, rest);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
  }
  console.error(`folio: unknown command "${argv.join(' ')}"\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // A configuration mistake is one clear line, not a stack trace.
    if (error instanceof ConfigError) console.error(`folio: ${error.message}`);
    else if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`folio: ${error.message}\n\n${USAGE}`);
    } else console.error(error);
    process.exit(1);
  },
);
