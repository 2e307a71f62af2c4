import cliProgress from 'cli-progress';

/** A progress bar for a long command; every method is a no-op when it is not shown. */
export interface Progress {
  /** Whether the bar is drawn at all (a command may hold its messages back while it is). */
  readonly shown: boolean;
  start(total: number): void;
  update(done: number, total?: number): void;
  increment(by: number): void;
  /** Draws the last state and ends the line, so what follows starts on a line of its own. */
  stop(): void;
}

const SILENT: Progress = { shown: false, start() {}, update() {}, increment() {}, stop() {} };

/**
 * A bar on standard error, never standard output (which may be carrying data, as for `folio
 * export > notes.json`): redrawn in place on a terminal; elsewhere only with `force` (--progress),
 * then as a line a second.
 */
export function progressBar(label: string, unit: string, force = false): Progress {
  const stream = process.stderr;
  const tty = stream.isTTY === true;
  if (!tty && !force) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
      noTTYOutput: !tty,
      notTTYSchedule: 1000,
      hideCursor: tty,
      barsize: 30,
      // Off a terminal, the last line drawn already ends the output: no blank line after it.
      clearOnComplete: !tty,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    shown: true,
    start(total) {
      started = true;
      bar.start(total, 0);
    },
    update(done, total) {
      if (total !== undefined) bar.setTotal(total);
      bar.update(done);
    },
    increment(by) {
      bar.increment(by);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
