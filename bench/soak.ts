import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildFolio, ROOT, rssMb, seedFolio, startFolio, type Running } from './servers.js';
import { openEventStream, type EventStream } from './soak.events.js';
import { Mix, type InFlight } from './soak.mix.js';
import { renderReport, type Sample } from './soak.report.js';
import { notesOverApi, signUpOverApi } from './soak.setup.js';

// npm run soak [-- --minutes N | --seconds N] [--connections C] [--out FILE]
//              [--url URL [--pid PID] [--key KEY]]
//
// A long run of one fixed mixed load against Folio: does it keep answering without an error,
// and does its memory stay flat? By default it builds the bundle, seeds a fresh SQLite database
// through the stores (a user, an API key, 300 notes), starts dist/server/folio.js with a rate
// limit it never reaches and warn-level logs, and stops it with SIGTERM at the end, expecting
// exit code 0. With --url it soaks a running server instead, signing up a throwaway user over the
// API (or using --key) and seeding through the API; RSS then needs the server's --pid.
//
// The load, from autocannon with `connections` requests in flight, cycles through 20 slots
// (bench/soak.mix.ts): GET one note 30%, list page with total 10%, keyset page 10%, search 10%,
// sync 5%, PATCH with If-Match 15% (1 in 10 from a stale copy, which must answer 412), and 5%
// each for create, trash, restore and purge of the notes it creates, so the note count stays
// where it started. Two clients keep /api/events open throughout. Any answer but 2xx/304 (a 412
// to a PATCH is expected and counted apart), a connection error, a timeout or a dropped event
// stream is an error.
//
// Every few seconds it samples requests, errors and the server's RSS; every 30 s it prints a
// progress line. Memory must stay flat: growth under 10% from the start RSS, the highest sample
// of the warm-up (20% of the run, 15 s to 2 min: V8's heap reaches its working size only after
// its first major GCs, about 100 s into the load), to the end RSS, the median of the last three
// samples (one GC spike decides nothing); see warmupSeconds in bench/soak.report.ts. The report
// (stdout and --out, markdown) ends with the verdicts, and the exit code is 1 when there was an
// error, memory grew 10% or more, or the server did not exit 0 on SIGTERM.

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    connections: { type: 'string', default: '16' },
    url: { type: 'string' },
    pid: { type: 'string' },
    key: { type: 'string' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/soak.md') },
    notes: { type: 'string', default: '300' },
    'skip-build': { type: 'boolean', default: false },
    // Runs src/cli.ts through tsx instead of the bundle (the soak's own test; not for figures).
    'from-source': { type: 'boolean', default: false },
  },
});

const SECONDS = args.seconds !== undefined ? Number(args.seconds) : Number(args.minutes) * 60;
const CONNECTIONS = Number(args.connections);
const NOTES = Number(args.notes);
const STREAMS = 2;
if (!(SECONDS > 0)) throw new Error('--minutes or --seconds must be a positive number');
if (!(CONNECTIONS >= 1)) throw new Error('--connections must be at least 1');
if (!(NOTES >= 32)) throw new Error('--notes must be at least 32');

/** Warn-level (and worse) lines of a pino log file. */
function logProblems(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) >= 40);
}

function readRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return rssMb(pid);
  } catch {
    return undefined; // the process is gone; the exit code will say why
  }
}

const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-soak-'));
  const logFile = path.join(dir, 'folio.log');
  let server: Running | undefined;
  let remove: (() => Promise<void>) | undefined;
  const streams: EventStream[] = [];
  try {
    let url: string;
    let key: string;
    let pid: number | undefined;
    if (args.url) {
      url = args.url.replace(/\/$/, '');
      pid = args.pid === undefined ? undefined : Number(args.pid);
      if (args.key) key = args.key;
      else ({ key, remove } = await signUpOverApi(url));
    } else {
      if (!args['skip-build'] && !args['from-source']) buildFolio();
      const file = path.join(dir, 'folio.db');
      key = await seedFolio(file, NOTES, 'the soak database');
      server = await startFolio(file, { logFile, logLevel: 'warn', fromSource: args['from-source'] });
      url = server.url;
      pid = server.pid;
    }
    const { ids, first } = await notesOverApi(url, key, NOTES);
    for (let i = 0; i < STREAMS; i++) streams.push(await openEventStream(url, key));
    const idleRss = readRss(pid);
    const mix = new Mix(key, ids, first);

    process.stderr.write(
      `soaking ${url} for ${clock(SECONDS)} with ${CONNECTIONS} connections and ${STREAMS} event streams` +
        `${pid === undefined ? ' (no --pid: RSS not measured)' : `, server pid ${pid}`}\n`,
    );
    const samples: Sample[] = [{ t: 0, requests: 0, errors: 0, rss: idleRss }];
    const started = performance.now();
    const sample = () => {
      const t = (performance.now() - started) / 1000;
      samples.push({ t, requests: mix.requests, errors: mix.errors, rss: readRss(pid) });
    };
    // Every 5 s; a short run (the test) samples each second so it still has a few.
    const every = Math.max(1, Math.min(5, Math.floor(SECONDS / 10)));
    let shown = samples[0]!;
    const sampling = setInterval(() => {
      sample();
      const now = samples.at(-1)!;
      if (now.t - shown.t < 29) return;
      const rate = Math.round((now.requests - shown.requests) / (now.t - shown.t));
      const conflicts = mix.preconditionFailed.stale + mix.preconditionFailed.race;
      const events = streams.reduce((sum, s) => sum + s.events, 0);
      process.stderr.write(
        `  ${clock(now.t)}/${clock(SECONDS)}  ${now.requests.toLocaleString('en')} requests ` +
          `(${rate.toLocaleString('en')} req/s)  errors ${now.errors}  412 ${conflicts}  ` +
          `events ${events.toLocaleString('en')}  RSS ${now.rss?.toFixed(1) ?? 'n/a'} MB\n`,
      );
      shown = now;
    }, every * 1000);

    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url,
          connections: CONNECTIONS,
          duration: SECONDS,
          timeout: 10,
          requests: [
            {
              setupRequest: (request, context) => ({ ...request, ...mix.next(context as InFlight) }),
              onResponse: (status, body, context, headers) =>
                mix.answer(context as InFlight, status, body, headers as Record<string, unknown>),
            },
          ],
        },
        (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
      );
      instance.on('reqError', (error: Error & { code?: string }) => mix.fail(error.code ?? error.message));
    });
    clearInterval(sampling);
    sample();
    const seconds = samples.at(-1)!.t;

    for (const stream of streams) {
      if (stream.failure) mix.fail(`event stream: ${stream.failure}`);
    }
    // The streams stay open through SIGTERM, as a deployment's clients would: the server must end
    // them itself (with a reconnect event) and still exit 0.
    let exitCode: number | null | undefined;
    if (server) {
      exitCode = await server.stop();
      server = undefined;
    }
    for (const stream of streams) stream.close();
    await remove?.().catch((error: unknown) =>
      process.stderr.write(`could not delete the soak user: ${String(error)}\n`),
    );

    const { markdown, ok } = renderReport({
      at: new Date().toISOString(),
      url,
      ...(exitCode !== undefined && { started: { exitCode, logProblems: logProblems(logFile) } }),
      seconds,
      plannedSeconds: SECONDS,
      connections: CONNECTIONS,
      notes: ids.length,
      mix,
      latency: { p50: result.latency.p50, p99: result.latency.p99 },
      streams: streams.map((s) => ({ events: s.events, pings: s.pings, reconnects: s.reconnects })),
      idleRss,
      samples,
    });
    console.log(markdown);
    mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    writeFileSync(args.out, markdown);
    process.stderr.write(`report: ${path.relative(process.cwd(), path.resolve(args.out))}\n`);
    return ok ? 0 : 1;
  } finally {
    for (const stream of streams) stream.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
