/**
 * Text lines gathered into chunks before they are written, for the print and file sinks: one
 * write per chunk instead of one per record. A chunk goes out when it is large, when it has
 * waited `maxDelayMs` of processing time (so a slow stream still shows up promptly), and on
 * flush (finish and close).
 */
import type { ProcessingTimeService, ScheduledCallback } from './types.js';

export class LineBuffer {
  private readonly lines: string[] = [];
  private chars = 0;
  private scheduled: ScheduledCallback | undefined;
  private readonly onTimer: () => void;

  constructor(
    private readonly write: (chunk: string) => void,
    private readonly time: ProcessingTimeService,
    private readonly maxChars = 64 * 1024,
    private readonly maxDelayMs = 100,
  ) {
    this.onTimer = () => {
      this.scheduled = undefined;
      this.flush();
    };
  }

  append(line: string): void {
    this.lines.push(line);
    this.chars += line.length + 1;
    if (this.chars >= this.maxChars) this.flush();
    else if (this.scheduled === undefined) this.scheduled = this.time.registerTimer(this.time.now() + this.maxDelayMs, this.onTimer);
  }

  flush(): void {
    if (this.scheduled !== undefined) {
      this.scheduled.cancel();
      this.scheduled = undefined;
    }
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('\n') + '\n';
    this.lines.length = 0;
    this.chars = 0;
    this.write(chunk);
  }
}

/** Strings as they are; anything else as compact JSON (bigints as their decimal text). */
export function formatRecord(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'bigint' ? value.toString() : toJson(value);
}

/** Compact JSON of a record; never throws (bigints become strings, cycles their String()). */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    try {
      return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
    } catch {
      return String(value);
    }
  }
}
