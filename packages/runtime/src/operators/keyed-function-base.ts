/**
 * What the operators running a user's keyed function (KeyedProcessFunction,
 * KeyedCoProcessFunction) share: the keyed state backend, the timer service, the reused
 * context and collector, timer firing and the function's lifecycle. Subclasses decide how
 * records and watermarks come in.
 */
import type { Collector, Lifecycle, OnTimerContext } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { InternalTimerService, Timer, TimerTarget } from '../state/timer-service.js';
import { KeyedProcessContextImpl, TimestampedCollector } from './contexts.js';
import { closeFunction, createKeyedBackend, createTimerService, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export interface KeyedTimerFunction extends Lifecycle {
  onTimer?(timestamp: number, ctx: OnTimerContext<unknown>, out: Collector<unknown>): void;
}

export abstract class KeyedFunctionOperator<F extends KeyedTimerFunction> implements StreamOperator, TimerTarget {
  backend!: HeapKeyedStateBackend;
  timers!: InternalTimerService;
  protected collector!: TimestampedCollector;
  protected pctx!: KeyedProcessContextImpl;

  constructor(protected readonly fn: F) {}

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.backend = createKeyedBackend(ctx);
    this.timers = createTimerService(ctx, this.backend, this);
    this.collector = new TimestampedCollector(output);
    this.pctx = new KeyedProcessContextImpl(output, this.backend, this.timers);
    this.openInputs(output);
    await openFunction(this.fn, new OperatorRuntimeContext(ctx, this.backend));
  }

  /** Set up watermark handling; called by open before the user function opens. */
  protected abstract openInputs(output: Output): void;

  abstract processElement(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void;
  abstract processWatermark(watermark: number, inputIndex: 0 | 1): void;
  abstract processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void;

  /** Sets the record's timestamp on the collector and the context before a user call. */
  protected stamp(timestamp: number | undefined): void {
    this.collector.currentTimestamp = timestamp;
    this.pctx.currentTimestamp = timestamp;
  }

  onEventTime(timer: Timer): void {
    this.fireTimer(timer.timestamp, timer.timestamp, 'event');
  }

  /** Output of a processing-time timer carries no timestamp: processing time says nothing about event time. */
  onProcessingTime(timer: Timer): void {
    this.fireTimer(timer.timestamp, undefined, 'processing');
  }

  private fireTimer(time: number, outTimestamp: number | undefined, domain: 'event' | 'processing'): void {
    if (this.fn.onTimer === undefined) return;
    this.stamp(outTimestamp);
    this.pctx.domain = domain;
    this.fn.onTimer(time, this.pctx, this.collector);
  }

  finish(): void {}

  async close(): Promise<void> {
    this.timers?.close();
    await closeFunction(this.fn);
  }
}
