/**
 * Watermark strategies: how event timestamps are extracted and watermarks generated. A strategy
 * is a recipe; each source split (or each subtask of an assigner) gets its own generator.
 * Idleness: an input that produced nothing for `idleTimeout` ms of processing time is marked
 * idle, so downstream operators stop waiting for it.
 */
import { ConfigurationError } from '@sluice/common';

export interface WatermarkOutput {
  emitWatermark(watermark: number): void;
  markIdle(): void;
  markActive(): void;
}

export interface WatermarkGenerator<T> {
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void;
  /** Called every `autoWatermarkInterval` ms of processing time. */
  onPeriodicEmit(output: WatermarkOutput): void;
}

/** Extracts an event timestamp; `recordTimestamp` is the source's own (e.g. Kafka) timestamp, if any. */
export type TimestampAssigner<T> = (event: T, recordTimestamp: number | undefined) => number;

export interface WatermarkStrategyContext {
  /** Processing time, ms. */
  now(): number;
}

export class WatermarkStrategy<T> {
  private constructor(
    readonly kind: 'boundedOutOfOrderness' | 'none',
    readonly maxOutOfOrdernessMs: number,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly idleTimeoutMs: number | undefined,
  ) {}

  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new ConfigurationError(`max out-of-orderness must be a non-negative number of milliseconds, got ${maxOutOfOrdernessMs}`);
    }
    return new WatermarkStrategy<T>('boundedOutOfOrderness', maxOutOfOrdernessMs, undefined, undefined);
  }

  /** Timestamps never decrease: a bounded out-of-orderness of zero. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>('boundedOutOfOrderness', 0, undefined, undefined);
  }

  /** No watermarks: event-time windows and timers never fire until the end of a bounded input. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>('none', 0, undefined, undefined);
  }

  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.kind, this.maxOutOfOrdernessMs, assigner, this.idleTimeoutMs);
  }

  withIdleness(idleTimeoutMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0) {
      throw new ConfigurationError(`idle timeout must be a positive number of milliseconds, got ${idleTimeoutMs}`);
    }
    return new WatermarkStrategy<T>(this.kind, this.maxOutOfOrdernessMs, this.timestampAssigner, idleTimeoutMs);
  }

  /** Timestamp of an event under this strategy; falls back to the record's own timestamp. */
  extractTimestamp(event: T, recordTimestamp: number | undefined): number | undefined {
    // Compared with undefined, not tested for truth: that is one comparison per record where
    // ToBoolean on a field V8 cannot type was five.
    return this.timestampAssigner !== undefined ? this.timestampAssigner(event, recordTimestamp) : recordTimestamp;
  }

  createGenerator(ctx: WatermarkStrategyContext): WatermarkGenerator<T> {
    const base: WatermarkGenerator<T> =
      this.kind === 'none' ? new NoWatermarksGenerator<T>() : new BoundedOutOfOrdernessGenerator<T>(this.maxOutOfOrdernessMs);
    return this.idleTimeoutMs === undefined ? base : new IdlenessGenerator<T>(base, this.idleTimeoutMs, ctx);
  }

  describe(): string {
    if (this.kind === 'none') return 'noWatermarks';
    const idle = this.idleTimeoutMs === undefined ? '' : `, idle after ${this.idleTimeoutMs} ms`;
    return `boundedOutOfOrderness(${this.maxOutOfOrdernessMs} ms${idle})`;
  }
}

/** Watermark = max timestamp seen − maxOutOfOrderness − 1 (Flink's definition). */
export class BoundedOutOfOrdernessGenerator<T> implements WatermarkGenerator<T> {
  // Initialised here, not in the constructor: a class field declared without a value starts as
  // undefined, is then stored tagged, and every new maximum (every in-order record) was boxed.
  private maxTimestamp = -Infinity;
  constructor(private readonly maxOutOfOrderness: number) {}
  onEvent(_event: T, timestamp: number): void {
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.maxTimestamp !== -Infinity) output.emitWatermark(this.maxTimestamp - this.maxOutOfOrderness - 1);
  }
}

export class NoWatermarksGenerator<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/** Marks the output idle after `idleTimeout` ms without events, and active again on the next event. */
export class IdlenessGenerator<T> implements WatermarkGenerator<T> {
  private lastActivity: number;
  private idle = false;
  constructor(private readonly inner: WatermarkGenerator<T>, private readonly idleTimeout: number, private readonly ctx: WatermarkStrategyContext) {
    this.lastActivity = ctx.now();
  }
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void {
    this.lastActivity = this.ctx.now();
    if (this.idle) {
      this.idle = false;
      output.markActive();
    }
    this.inner.onEvent(event, timestamp, output);
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.idle) return;
    if (this.ctx.now() - this.lastActivity >= this.idleTimeout) {
      this.idle = true;
      output.markIdle();
      return;
    }
    this.inner.onPeriodicEmit(output);
  }
}
