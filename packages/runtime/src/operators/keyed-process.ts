/**
 * A KeyedProcessFunction: keyed state, event/processing-time timers and side outputs. Output of
 * an event-time timer carries the timer's timestamp; output of a processing-time timer carries
 * none, because processing time says nothing about event time.
 */
import type { KeyedProcessFunction, KeySelector } from '@sluice/api';
import { KeyedFunctionOperator } from './keyed-function-base.js';
import type { Output } from './types.js';

export class KeyedProcessOperator extends KeyedFunctionOperator<KeyedProcessFunction<unknown, unknown, unknown>> {
  private output!: Output;

  constructor(private readonly keySelector: KeySelector<unknown, unknown>, fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    super(fn);
  }

  protected openInputs(output: Output): void {
    this.output = output;
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    this.backend.setCurrentKey(this.keySelector(value));
    this.stamp(timestamp);
    this.fn.processElement(value, this.pctx, this.collector);
  }

  processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }
}
