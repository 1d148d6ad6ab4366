// Progress display for long CLI commands (`synthesize --wait`, uploads): a bar redrawn in place on a terminal, or,
// when stderr is a file or a pipe (CI logs, lab scripts), one line per ~10% so logs stay short. Always on stderr, so
// stdout carries only results a script can parse.

export interface ProgressOutput {
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** A terminal: redraw one line with \r. Otherwise one line per `step` of the fraction. */
  tty: boolean;
  /** Written before the bar, e.g. "upload" or "batch 1a2b…". */
  label?: string;
  width?: number;
  /** Fraction between two lines when not a terminal (default 0.1). */
  step?: number;
}

/** A bar of `fraction` (clamped to [0, 1], so an overshoot or a bad total can never make a negative repeat count). */
export function progressBar(fraction: number, width = 30): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

/** "ETA 42s", "ETA 3m 05s", "ETA 1h 02m"; "ETA --" while there is no estimate. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "ETA --";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `ETA ${s}s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `ETA ${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Bytes as B / KiB / MiB / GiB with one decimal. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * One progress display. `update(fraction, text)` redraws (terminal) or prints a line when the fraction crossed the
 * next step (not a terminal; the first update and the final 100% always print); `done()` ends the line.
 */
export class ProgressDisplay {
  private lastLine = "";
  private lastPrinted = "";
  private lastStep = -1;
  private ended = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly options: ProgressOptions,
  ) {}

  /** `final`: the last state (printed even without crossing a step, unless the same line was the last printed). */
  update(fraction: number, text: string, final = false): void {
    if (this.ended) return;
    const prefix = this.options.label ? `${this.options.label} ` : "";
    const line = `${prefix}${progressBar(fraction, this.options.width)} ${text}`;
    if (this.options.tty) {
      // \x1b[K clears what a longer previous line left behind.
      if (line !== this.lastLine) this.out.write(`\r${line}\x1b[K`);
    } else {
      const step = Math.floor(Math.min(1, Math.max(0, fraction)) / (this.options.step ?? 0.1) + 1e-9);
      if (step > this.lastStep || (final && line !== this.lastPrinted)) {
        this.out.write(`${line}\n`);
        this.lastPrinted = line;
      }
      this.lastStep = Math.max(step, this.lastStep);
    }
    this.lastLine = line;
  }

  done(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.options.tty && this.lastLine) this.out.write("\n");
  }
}

/**
 * Upload progress on stderr (`models add`, `stimuli add`): bytes of all files, and files done when several. Off a
 * terminal it prints a few lines (one per ~25%), enough for a log to show the upload moved.
 */
export class UploadProgress {
  private readonly display: ProgressDisplay;
  private sentBefore = 0;
  private filesDone = 0;

  constructor(
    private readonly totalBytes: number,
    private readonly totalFiles: number,
    out: ProgressOutput = process.stderr,
    tty = out === process.stderr && Boolean(process.stderr.isTTY),
  ) {
    this.display = new ProgressDisplay(out, { tty, label: "upload", step: 0.25 });
  }

  /** Bytes of the current file sent so far. */
  bytes(sentOfCurrentFile: number): void {
    this.show(this.sentBefore + sentOfCurrentFile, false);
  }

  /** The current file is sent (`size` bytes). */
  fileDone(size: number): void {
    this.sentBefore += size;
    this.filesDone += 1;
    this.show(this.sentBefore, this.filesDone === this.totalFiles);
    if (this.filesDone === this.totalFiles) this.display.done();
  }

  private show(sent: number, final: boolean): void {
    const fraction = this.totalBytes > 0 ? sent / this.totalBytes : this.filesDone / Math.max(1, this.totalFiles);
    const files = this.totalFiles > 1 ? `${this.filesDone}/${this.totalFiles} files, ` : "";
    this.display.update(fraction, `${files}${formatBytes(sent)} / ${formatBytes(this.totalBytes)}`, final);
  }
}
