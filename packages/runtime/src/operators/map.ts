/** One output per input: `fn(value)`, timestamp kept. */
import type { MapFunction } from '@sluice/api';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class MapOperator implements StreamOperator {
  private output!: Output;
  constructor(private readonly fn: MapFunction<unknown, unknown>) {}
  open(_ctx: OperatorContext, output: Output): void {
    this.output = output;
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.output.collect(this.fn(value), timestamp);
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
