/** Keeps the inputs for which `fn(value)` is true. */
import type { FilterFunction } from '@sluice/api';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class FilterOperator implements StreamOperator {
  private output!: Output;
  constructor(private readonly fn: FilterFunction<unknown>) {}
  open(_ctx: OperatorContext, output: Output): void {
    this.output = output;
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    if (this.fn(value)) this.output.collect(value, timestamp);
  }
  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }
  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }
  finish(): void {}
  close(): void {}
}
