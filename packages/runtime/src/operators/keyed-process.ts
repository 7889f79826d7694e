/**
 * A KeyedProcessFunction: keyed state, event/processing-time timers and side outputs. Output of
 * an event-time timer carries the timer's timestamp; output of a processing-time timer carries
 * none, because processing time says nothing about event time.
 */
import type { KeyedProcessFunction, KeySelector } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import { InternalTimerService, type Timer, type TimerTarget } from '../state/timer-service.js';
import { KeyedProcessContextImpl, TimestampedCollector } from './contexts.js';
import { closeFunction, createKeyedBackend, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class KeyedProcessOperator implements StreamOperator, TimerTarget {
  private output!: Output;
  backend!: HeapKeyedStateBackend;
  timers!: InternalTimerService;
  private collector!: TimestampedCollector;
  private pctx!: KeyedProcessContextImpl;

  constructor(private readonly keySelector: KeySelector<unknown, unknown>, private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {}

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.output = output;
    this.backend = createKeyedBackend(ctx);
    this.timers = new InternalTimerService(this.backend, ctx.processingTime, this);
    this.collector = new TimestampedCollector(output);
    this.pctx = new KeyedProcessContextImpl(output, this.backend, this.timers);
    await openFunction(this.fn, new OperatorRuntimeContext(ctx, this.backend));
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    this.backend.setCurrentKey(this.keySelector(value));
    this.collector.timestamp = timestamp;
    this.pctx.currentTimestamp = timestamp;
    this.fn.processElement(value, this.pctx, this.collector);
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

  processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }

  finish(): void {}

  async close(): Promise<void> {
    this.timers?.close();
    await closeFunction(this.fn);
  }
}
