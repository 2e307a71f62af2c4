// A progress bar on standard error for long seeding runs: redrawn in place on a terminal, a line
// every ten per cent otherwise (CI logs).

export class Progress {
  private readonly started = performance.now();
  private shownTenth = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const share = this.total === 0 ? 1 : done / this.total;
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      process.stderr.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString('en')}/${this.total.toLocaleString('en')} (${rate.toLocaleString('en')}/s) `,
      );
      return;
    }
    const tenth = Math.floor(share * 10);
    if (tenth > this.shownTenth) {
      this.shownTenth = tenth;
      process.stderr.write(
        `${this.label}: ${tenth * 10}% (${done.toLocaleString('en')}/${this.total.toLocaleString('en')})\n`,
      );
    }
  }

  done(): void {
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}
