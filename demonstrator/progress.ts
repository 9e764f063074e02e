/**
 * Progress for the demonstrators: a one-line bar on stderr (images done/total, images per
 * second, time left), redrawn in place — only when stderr is a terminal that understands
 * escape codes (not TERM=dumb, no NO_COLOR) and not --quiet, so logs, pipes and plain
 * terminals never see an escape code. The summary line is always available to print at the end.
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: ProgressStream;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Minimum ms between redraws; default 100. */
  interval?: number;
  /** Environment to read TERM and NO_COLOR from; default process.env. */
  env?: Record<string, string | undefined>;
}

/** False when the environment asks for plain output: TERM=dumb, or NO_COLOR set to anything non-empty (no-color.org). */
export function escapesAllowed(env: Record<string, string | undefined> = process.env): boolean {
  if (env.TERM === 'dumb') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return true;
}

export class Progress {
  private done = 0;
  private failed = 0;
  private readonly start: number;
  private lastDraw = -Infinity;
  private readonly enabled: boolean;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly interval: number;
  private drawn = false;

  constructor(
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => Date.now());
    this.interval = opts.interval ?? 100;
    this.enabled = !opts.quiet && this.stream.isTTY === true && escapesAllowed(opts.env);
    this.start = this.now();
  }

  /** Counts finished images (failed ones too) and redraws if due. */
  tick(n = 1, failed = 0): void {
    this.done += n;
    this.failed += failed;
    const t = this.now();
    if (this.enabled && (t - this.lastDraw >= this.interval || this.done >= this.total)) {
      this.lastDraw = t;
      this.draw(t);
    }
  }

  /** Prints a message above the bar (e.g. a per-image error) without garbling it. */
  log(message: string): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(message.endsWith('\n') ? message : `${message}\n`);
    if (this.enabled && this.drawn) this.draw(this.now());
  }

  /** Removes the bar (call before printing the summary). */
  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Current line text (without control characters). */
  line(t = this.now()): string {
    const elapsed = Math.max(0, (t - this.start) / 1000);
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const left = this.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : '--:--';
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 60));
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const fails = this.failed ? `, ${this.failed} failed` : '';
    return `[${bar}] ${this.done}/${this.total} images${fails}, ${rate.toFixed(rate < 10 ? 2 : 1)} img/s, ETA ${eta}`;
  }

  private draw(t: number): void {
    this.stream.write(`\r\x1b[K${this.line(t)}`);
    this.drawn = true;
  }
}

/** "1:02:03", "02:03": hours only when needed. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

/** The final line: "12 images in 3.4 s (3.53 img/s): 11 written, 1 failed". */
export function summaryLine(total: number, failed: number, seconds: number): string {
  const rate = seconds > 0 ? total / seconds : 0;
  const time = seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds);
  const noun = total === 1 ? 'image' : 'images';
  return `${total} ${noun} in ${time} (${rate.toFixed(2)} img/s): ${total - failed} written, ${failed} failed`;
}
