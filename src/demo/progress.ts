// Progress bars on stderr: redrawn in place on a terminal, one line per 10% step otherwise (logs, CI).

export function progressLine(label: string, done: number, total: number, extra = "", width = 30): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  return `${label.padEnd(28)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} ${(fraction * 100).toFixed(0).padStart(3)}%${extra ? ` ${extra}` : ""}`;
}

export class ProgressBar {
  private lastDecile = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, extra = ""): void {
    const line = progressLine(this.label, done, this.total, extra);
    if (this.tty) {
      process.stderr.write(`\r${line}`);
      return;
    }
    const decile = this.total > 0 ? Math.floor((10 * done) / this.total) : 10;
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`${line}\n`);
    }
  }

  finish(extra = ""): void {
    this.lastDecile = -1;
    this.update(this.total, extra);
    if (this.tty) process.stderr.write("\n");
  }
}

/** One step of a demo phase (registering, synthesizing, recognition): `finished` closes the phase. */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
  detail?: string;
  finished?: boolean;
}

/** Where runDemo reports progress: stderr bars for `npm run demo`, anything (or nothing) for a script or a test. */
export type ProgressSink = (event: ProgressEvent) => void;

/** A ProgressBar per phase on stderr. */
export function stderrProgress(): ProgressSink {
  let bar: ProgressBar | undefined;
  let phase: string | undefined;
  return (e) => {
    if (!bar || e.phase !== phase) {
      bar = new ProgressBar(e.phase, e.total);
      phase = e.phase;
    }
    if (e.finished) {
      bar.finish(e.detail);
      bar = undefined;
    } else bar.update(e.done, e.detail);
  };
}
