import { CYCLE, DESCRIPTIONS, OPS, type Mix } from './soak.mix.js';

// The soak's figures and verdicts (bench/soak.ts), as the markdown it prints and writes.

/** One look at the run, every few seconds; `t` is seconds since the load started. */
export interface Sample {
  t: number;
  requests: number;
  errors: number;
  /** The server's resident set size, MB; undefined when it cannot be read (--url without --pid). */
  rss: number | undefined;
}

export interface SoakRun {
  at: string;
  url: string;
  /** The server the soak started itself, or undefined for --url. */
  started?: { exitCode: number | null; logProblems: string[] };
  /** How long the load ran, and how long it was asked to. */
  seconds: number;
  plannedSeconds: number;
  connections: number;
  notes: number;
  mix: Mix;
  latency: { p50: number; p99: number };
  streams: { events: number; pings: number; reconnects: number }[];
  /** RSS before the load, after seeding and start. */
  idleRss: number | undefined;
  samples: Sample[];
}

export interface Memory {
  warmupSeconds: number;
  start: number;
  end: number;
  max: number;
  growth: number;
  /** MB per minute after the warm-up, by least squares: the direction, not the verdict. */
  trend: number;
}

/** Memory must stay flat: growth below this share of the start RSS. */
export const GROWTH_LIMIT = 0.1;

/**
 * The warm-up the start RSS is taken after: 20% of the run, at least 15 s and at most 2 minutes,
 * never more than half the run. Measured with FOLIO_METRICS during a 3-minute soak at ~700 req/s:
 * new space grows to 16 MB in the first 20 s, old space from 14 to 30 MB until the first major
 * GC at ~110 s brings it back to ~24 MB, and RSS follows V8's heap total to a plateau (~146 MB)
 * at ~100 s, then saws up and down with the GCs. Growth measured from before that is the warm-up,
 * not a leak; for the default 10-minute run the first 2 minutes cover it.
 */
export function warmupSeconds(seconds: number): number {
  return Math.min(seconds / 2, Math.max(15, Math.min(120, seconds / 5)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Start RSS: the highest sample of the warm-up (the working size, whatever GC did at the moment
 * of one sample). End RSS: the median of the last three samples, so one GC spike or trough at the
 * end decides nothing. Undefined without RSS samples.
 */
export function memory(samples: Sample[], seconds: number): Memory | undefined {
  const measured = samples.filter((s): s is Sample & { rss: number } => s.t > 0 && s.rss !== undefined);
  if (measured.length === 0) return undefined;
  const warmup = warmupSeconds(seconds);
  const during = measured.filter((s) => s.t <= warmup);
  const start = Math.max(...(during.length > 0 ? during : measured.slice(0, 1)).map((s) => s.rss));
  const after = measured.filter((s) => s.t > warmup);
  const tail = (after.length > 0 ? after : measured).slice(-3);
  const end = median(tail.map((s) => s.rss));
  const max = Math.max(...measured.map((s) => s.rss));
  let trend = 0;
  if (after.length >= 2) {
    const mt = after.reduce((sum, s) => sum + s.t, 0) / after.length;
    const mr = after.reduce((sum, s) => sum + s.rss, 0) / after.length;
    const cov = after.reduce((sum, s) => sum + (s.t - mt) * (s.rss - mr), 0);
    const varT = after.reduce((sum, s) => sum + (s.t - mt) ** 2, 0);
    trend = varT > 0 ? (cov / varT) * 60 : 0;
  }
  return { warmupSeconds: warmup, start, end, max, growth: (end - start) / start, trend };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const mb = (n: number | undefined) => (n === undefined ? 'n/a' : n.toFixed(1));
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

/**
 * The minutes of the run (the last one possibly shorter): req/s, errors and RSS in each. The
 * sample taken as the load ends, a moment past the planned time, belongs to the last minute.
 */
function perMinute(samples: Sample[], plannedSeconds: number): string[] {
  const lines = ['| minute | req/s | errors | RSS MB at end | RSS MB max |', '|---|---:|---:|---:|---:|'];
  const last = Math.max(0, Math.ceil(plannedSeconds / 60) - 1);
  // A sample due at 60 s is taken a few milliseconds later: it still closes the first minute.
  const minuteOf = (s: Sample) => Math.min(last, Math.max(0, Math.ceil(s.t / 60 - 0.01) - 1));
  let previous = samples[0] ?? { t: 0, requests: 0, errors: 0, rss: undefined };
  for (let minute = 0; minute <= last; minute++) {
    const inside = samples.filter((s) => s.t > 0 && minuteOf(s) === minute);
    const end = inside.at(-1);
    if (!end) continue;
    const rss = inside.map((s) => s.rss).filter((r): r is number => r !== undefined);
    lines.push(
      `| ${clock(previous.t)}–${clock(end.t)} | ${fmt((end.requests - previous.requests) / (end.t - previous.t))} | ` +
        `${end.errors - previous.errors} | ${mb(end.rss)} | ${mb(rss.length ? Math.max(...rss) : undefined)} |`,
    );
    previous = end;
  }
  return lines;
}

/** The report as markdown, and whether the run met its two rules (no error, flat memory). */
export function renderReport(run: SoakRun): { markdown: string; ok: boolean } {
  const { mix } = run;
  const events = run.streams.reduce((sum, s) => sum + s.events, 0);
  const pings = run.streams.reduce((sum, s) => sum + s.pings, 0);
  const mem = memory(run.samples, run.plannedSeconds);
  const lines = [
    `# Soak ${run.at}`,
    '',
    '| | |',
    '|---|---:|',
    `| server | ${run.started ? 'started by the soak (dist bundle, fresh SQLite)' : run.url} |`,
    `| duration | ${run.seconds.toFixed(1)} s |`,
    `| connections | ${run.connections} (+ ${run.streams.length} event streams) |`,
    `| seeded notes | ${run.notes} |`,
    `| total requests | ${fmt(mix.requests)} |`,
    `| throughput | ${fmt(mix.requests / run.seconds)} req/s |`,
    `| latency p50 / p99 (2xx) | ${run.latency.p50} / ${run.latency.p99} ms |`,
    `| errors | ${mix.errors} |`,
    `| 412 to PATCH (expected): from a stale copy / lost a race | ${fmt(mix.preconditionFailed.stale)} / ${fmt(mix.preconditionFailed.race)} |`,
    `| SSE events received | ${fmt(events)} (${pings} pings) |`,
    `| created notes not yet purged at the end | ${mix.pending} |`,
    `| server RSS idle / start / end / max | ${mb(run.idleRss)} / ${mb(mem?.start)} / ${mb(mem?.end)} / ${mb(mem?.max)} MB |`,
    `| RSS trend after warm-up | ${mem ? `${mem.trend >= 0 ? '+' : ''}${mem.trend.toFixed(2)} MB/min` : 'n/a'} |`,
    '',
    '## Per minute',
    '',
    ...perMinute(run.samples, run.plannedSeconds),
    '',
    '## Operations',
    '',
    '| operation | share | answered 2xx/304 |',
    '|---|---:|---:|',
    ...OPS.map((op) => {
      const share = CYCLE.filter((slot) => slot === op).length / CYCLE.length;
      return `| ${DESCRIPTIONS[op]} | ${Math.round(share * 100)}% | ${fmt(mix.answered[op])} |`;
    }),
    '',
    `Lifecycle slots with no created note ready, sent as GET instead: ${mix.substituted}.`,
  ];
  if (mix.errors > 0) {
    lines.push('', '## Errors', '', '| kind | count |', '|---|---:|');
    for (const [kind, count] of [...mix.errorKinds].sort((a, b) => b[1] - a[1])) {
      lines.push(`| ${kind} | ${count} |`);
    }
    lines.push('', 'First answers:', '', ...mix.errorSamples.map((sample) => `- \`${sample}\``));
  }
  if (run.started && run.started.logProblems.length > 0) {
    lines.push('', `## Server log (warn and above): ${run.started.logProblems.length} line(s)`, '');
    lines.push(...run.started.logProblems.slice(0, 5).map((line) => `- \`${line.slice(0, 400)}\``));
  }
  const errorsOk = mix.errors === 0;
  const memoryOk = mem === undefined || mem.growth < GROWTH_LIMIT;
  const exitOk = run.started === undefined || run.started.exitCode === 0;
  lines.push(
    '',
    '## Verdict',
    '',
    `- errors: ${errorsOk ? '0 ok' : `${mix.errors} MISSED`}`,
    mem
      ? `- memory growth ${(mem.growth * 100).toFixed(1)}% (target < ${GROWTH_LIMIT * 100}%) ${memoryOk ? 'ok' : 'MISSED'}` +
          ` (start: max RSS over the first ${mem.warmupSeconds.toFixed(0)} s; end: median of the last 3 samples)`
      : '- memory growth: not measured (--url without --pid)',
  );
  if (run.started) {
    const told = run.streams.filter((s) => s.reconnects > 0).length;
    lines.push(
      `- server exit code on SIGTERM: ${run.started.exitCode} ${exitOk ? 'ok' : 'MISSED'}` +
        ` (event streams told to reconnect: ${told}/${run.streams.length})`,
    );
  }
  return { markdown: `${lines.join('\n')}\n`, ok: errorsOk && memoryOk && exitOk };
}
