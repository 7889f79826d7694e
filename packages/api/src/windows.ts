/**
 * Window assigners: pure functions from an element's timestamp to the windows it belongs to.
 * Times are milliseconds. A window [start, end) fires when time passes `maxTimestamp = end − 1`.
 */
import { ConfigurationError } from '@sluice/common';

export class TimeWindow {
  constructor(readonly start: number, readonly end: number) {}
  maxTimestamp(): number {
    return this.end - 1;
  }
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }
  equals(other: TimeWindow): boolean {
    return this.start === other.start && this.end === other.end;
  }
  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }
}

/** Start of the window of length `size` (shifted by `offset`) that contains `timestamp`. */
export function windowStart(timestamp: number, offset: number, size: number): number {
  const r = (timestamp - offset) % size;
  return r < 0 ? timestamp - (r + size) : timestamp - r;
}

export type WindowTimeDomain = 'event' | 'processing';

export interface WindowAssigner {
  readonly kind: 'tumbling' | 'sliding' | 'session';
  readonly timeDomain: WindowTimeDomain;
  /** Session windows merge; the others do not. */
  readonly isMerging: boolean;
  /** Windows for an element at `timestamp` (event time, or processing time for processing-time windows). */
  assignWindows(timestamp: number): TimeWindow[];
  /**
   * Fixed-size assigners: writes the start of every window for `timestamp` into `out` and returns
   * how many; each window ends at start + `size`. Lets the runtime assign windows without
   * allocating per record.
   */
  assignWindowStarts?(timestamp: number, out: number[]): number;
  /** Window length for fixed-size assigners. */
  readonly size?: number;
  describe(): string;
}

function checkPositive(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) throw new ConfigurationError(`${name} must be a positive number of milliseconds, got ${v}`);
}

class TumblingWindows implements WindowAssigner {
  readonly kind = 'tumbling' as const;
  readonly isMerging = false;
  constructor(readonly timeDomain: WindowTimeDomain, readonly size: number, readonly offset: number) {
    checkPositive('window size', size);
    if (Math.abs(offset) >= size) throw new ConfigurationError(`window offset must be smaller than the size (${size} ms), got ${offset}`);
  }
  assignWindows(timestamp: number): TimeWindow[] {
    const start = windowStart(timestamp, this.offset, this.size);
    return [new TimeWindow(start, start + this.size)];
  }
  assignWindowStarts(timestamp: number, out: number[]): number {
    out[0] = windowStart(timestamp, this.offset, this.size);
    return 1;
  }
  describe(): string {
    return `Tumbling${this.timeDomain === 'event' ? 'EventTime' : 'ProcessingTime'}Windows(${this.size})`;
  }
}

class SlidingWindows implements WindowAssigner {
  readonly kind = 'sliding' as const;
  readonly isMerging = false;
  constructor(readonly timeDomain: WindowTimeDomain, readonly size: number, readonly slide: number, readonly offset: number) {
    checkPositive('window size', size);
    checkPositive('window slide', slide);
    if (Math.abs(offset) >= slide) throw new ConfigurationError(`window offset must be smaller than the slide (${slide} ms), got ${offset}`);
  }
  assignWindows(timestamp: number): TimeWindow[] {
    const out: TimeWindow[] = [];
    const last = windowStart(timestamp, this.offset, this.slide);
    for (let start = last; start > timestamp - this.size; start -= this.slide) out.push(new TimeWindow(start, start + this.size));
    return out;
  }
  assignWindowStarts(timestamp: number, out: number[]): number {
    let n = 0;
    const last = windowStart(timestamp, this.offset, this.slide);
    for (let start = last; start > timestamp - this.size; start -= this.slide) out[n++] = start;
    return n;
  }
  describe(): string {
    return `Sliding${this.timeDomain === 'event' ? 'EventTime' : 'ProcessingTime'}Windows(${this.size}, ${this.slide})`;
  }
}

class SessionWindows implements WindowAssigner {
  readonly kind = 'session' as const;
  readonly isMerging = true;
  constructor(readonly timeDomain: WindowTimeDomain, readonly gap: number) {
    checkPositive('session gap', gap);
  }
  assignWindows(timestamp: number): TimeWindow[] {
    return [new TimeWindow(timestamp, timestamp + this.gap)];
  }
  describe(): string {
    return `${this.timeDomain === 'event' ? 'EventTime' : 'ProcessingTime'}SessionWindows(${this.gap})`;
  }
}

export const TumblingEventTimeWindows = {
  of: (size: number, offset = 0): WindowAssigner => new TumblingWindows('event', size, offset),
};
export const TumblingProcessingTimeWindows = {
  of: (size: number, offset = 0): WindowAssigner => new TumblingWindows('processing', size, offset),
};
export const SlidingEventTimeWindows = {
  of: (size: number, slide: number, offset = 0): WindowAssigner => new SlidingWindows('event', size, slide, offset),
};
export const SlidingProcessingTimeWindows = {
  of: (size: number, slide: number, offset = 0): WindowAssigner => new SlidingWindows('processing', size, slide, offset),
};
export const EventTimeSessionWindows = {
  withGap: (gap: number): WindowAssigner => new SessionWindows('event', gap),
};
export const ProcessingTimeSessionWindows = {
  withGap: (gap: number): WindowAssigner => new SessionWindows('processing', gap),
};

/** Durations in milliseconds, for readable window definitions. */
export const Time = {
  milliseconds: (n: number): number => n,
  seconds: (n: number): number => n * 1000,
  minutes: (n: number): number => n * 60_000,
  hours: (n: number): number => n * 3_600_000,
  days: (n: number): number => n * 86_400_000,
};
