/**
 * A KeyedCoProcessFunction: two inputs keyed by their own selectors into one key space, sharing
 * keyed state and timers. Timers fire when the combined (min) watermark advances, before it is
 * forwarded.
 */
import type { KeyedCoProcessFunction, KeySelector } from '@sluice/api';
import { KeyedFunctionOperator } from './keyed-function-base.js';
import { TwoInputWatermarks } from './two-input-watermarks.js';
import type { Output } from './types.js';

export class KeyedCoProcessOperator extends KeyedFunctionOperator<KeyedCoProcessFunction<unknown, unknown, unknown, unknown>> {
  private watermarks!: TwoInputWatermarks;

  constructor(
    private readonly keySelector1: KeySelector<unknown, unknown>,
    private readonly keySelector2: KeySelector<unknown, unknown>,
    fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
  ) {
    super(fn);
  }

  protected openInputs(output: Output): void {
    const timers = this.timers;
    this.watermarks = new TwoInputWatermarks({
      emitWatermark(wm) {
        timers.advanceWatermark(wm);
        output.emitWatermark(wm);
      },
      emitWatermarkStatus(idle) {
        output.emitWatermarkStatus(idle);
      },
    });
  }

  processElement(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void {
    this.stamp(timestamp);
    if (inputIndex === 0) {
      this.backend.setCurrentKey(this.keySelector1(value));
      this.fn.processElement1(value, this.pctx, this.collector);
    } else {
      this.backend.setCurrentKey(this.keySelector2(value));
      this.fn.processElement2(value, this.pctx, this.collector);
    }
  }

  processWatermark(watermark: number, inputIndex: 0 | 1): void {
    this.watermarks.processWatermark(watermark, inputIndex);
  }

  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void {
    this.watermarks.processWatermarkStatus(idle, inputIndex);
  }
}
