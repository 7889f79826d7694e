/**
 * A KeyedCoProcessFunction: two inputs keyed by their own selectors into one key space, sharing
 * keyed state and timers. Timers fire when the combined (min) watermark advances, before it is
 * forwarded.
 */
import type { KeyedCoProcessFunction, KeySelector } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import { InternalTimerService, type Timer, type TimerTarget } from '../state/timer-service.js';
import { KeyedProcessContextImpl, TimestampedCollector } from './contexts.js';
import { closeFunction, createKeyedBackend, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import { TwoInputWatermarks } from './two-input-watermarks.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class KeyedCoProcessOperator implements StreamOperator, TimerTarget {
  backend!: HeapKeyedStateBackend;
  timers!: InternalTimerService;
  private collector!: TimestampedCollector;
  private pctx!: KeyedProcessContextImpl;
  private watermarks!: TwoInputWatermarks;

  constructor(
    private readonly keySelector1: KeySelector<unknown, unknown>,
    private readonly keySelector2: KeySelector<unknown, unknown>,
    private readonly fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
  ) {}

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.backend = createKeyedBackend(ctx);
    const timers = new InternalTimerService(this.backend, ctx.processingTime, this);
    this.timers = timers;
    this.collector = new TimestampedCollector(output);
    this.pctx = new KeyedProcessContextImpl(output, this.backend, timers);
    this.watermarks = new TwoInputWatermarks({
      emitWatermark(wm) {
        timers.advanceWatermark(wm);
        output.emitWatermark(wm);
      },
      emitWatermarkStatus(idle) {
        output.emitWatermarkStatus(idle);
      },
    });
    await openFunction(this.fn, new OperatorRuntimeContext(ctx, this.backend));
  }

  processElement(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void {
    this.collector.timestamp = timestamp;
    this.pctx.currentTimestamp = timestamp;
    if (inputIndex === 0) {
      this.backend.setCurrentKey(this.keySelector1(value));
      this.fn.processElement1(value, this.pctx, this.collector);
    } else {
      this.backend.setCurrentKey(this.keySelector2(value));
      this.fn.processElement2(value, this.pctx, this.collector);
    }
  }

  onEventTime(timer: Timer): void {
    this.fireTimer(timer.timestamp, timer.timestamp, 'event');
  }

  onProcessingTime(timer: Timer): void {
    this.fireTimer(timer.timestamp, undefined, 'processing');
  }

  private fireTimer(time: number, outTimestamp: number | undefined, domain: 'event' | 'processing'): void {
    if (this.fn.onTimer === undefined) return;
    this.collector.timestamp = outTimestamp;
    this.pctx.currentTimestamp = outTimestamp;
    this.pctx.domain = domain;
    this.fn.onTimer(time, this.pctx, this.collector);
  }

  processWatermark(watermark: number, inputIndex: 0 | 1): void {
    this.watermarks.processWatermark(watermark, inputIndex);
  }

  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void {
    this.watermarks.processWatermarkStatus(idle, inputIndex);
  }

  finish(): void {}

  async close(): Promise<void> {
    this.timers?.close();
    await closeFunction(this.fn);
  }
}
