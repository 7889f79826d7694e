/**
 * The live status line `sluice run` keeps at the bottom of an interactive terminal (stderr):
 * state, elapsed time, records per second in and out, checkpoints and restarts. It is redrawn
 * about once a second from the engine's progress reading; the terminal (main.ts) clears it
 * before any other output and draws it again after. Formatting is pure.
 */
import type { JobProgress } from './engine.js';
import { formatDuration } from './summary.js';

/** Where the line is drawn: an interactive stderr. */
export interface StatusTerminal {
  /** Width of the terminal; the line is cut to fit, never wrapped. */
  columns(): number;
  /** Replaces the line with `line`. */
  draw(line: string): void;
  /** Removes the line (before the run's last words). */
  clear(): void;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export interface Rates {
  /** Records per second; undefined before there are two readings to compare. */
  in: number | undefined;
  out: number | undefined;
}

export function formatStatusLine(p: JobProgress, elapsedMs: number, rates: Rates, columns: number): string {
  const rate = (r: number | undefined): string => (r === undefined ? '…' : integer.format(r));
  const checkpoints = p.checkpoints.completed + p.checkpoints.failed === 0 ? '' : ` | checkpoints ${p.checkpoints.completed}${p.checkpoints.failed === 0 ? '' : ` (${p.checkpoints.failed} failed)`}`;
  const line = `${p.status} ${formatDuration(elapsedMs)} | in ${rate(rates.in)} rec/s | out ${rate(rates.out)} rec/s${checkpoints} | restarts ${p.restarts}`;
  const width = Math.max(10, columns - 1);
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

export interface StatusLineOptions {
  terminal: StatusTerminal;
  progress(): JobProgress;
  now(): number;
  intervalMs?: number;
}

/** Redraws the status line every interval until stopped; the first draw is immediate. */
export class StatusLine {
  private readonly startedAt: number;
  private last: { at: number; in: number; out: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StatusLineOptions) {
    this.startedAt = options.now();
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.options.intervalMs ?? 1000);
    // The job, not this line, keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.terminal.clear();
  }

  refresh(): void {
    const p = this.options.progress();
    const at = this.options.now();
    const rates: Rates = { in: undefined, out: undefined };
    const prev = this.last;
    if (prev !== undefined && at > prev.at) {
      // A restart resets the running subtasks' counters: no negative rates.
      const seconds = (at - prev.at) / 1000;
      rates.in = Math.max(0, p.recordsIn - prev.in) / seconds;
      rates.out = Math.max(0, p.recordsOut - prev.out) / seconds;
    }
    this.last = { at, in: p.recordsIn, out: p.recordsOut };
    this.options.terminal.draw(formatStatusLine(p, at - this.startedAt, rates, this.options.terminal.columns()));
  }
}
