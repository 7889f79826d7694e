/** Zero or more outputs per input through a reused collector carrying the input's timestamp. */
import type { FlatMapFunction } from '@sluice/api';
import { TimestampedCollector } from './contexts.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class FlatMapOperator implements StreamOperator {
  private output!: Output;
  private collector!: TimestampedCollector;
  constructor(private readonly fn: FlatMapFunction<unknown, unknown>) {}
  open(_ctx: OperatorContext, output: Output): void {
    this.output = output;
    this.collector = new TimestampedCollector(output);
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.collector.timestamp = timestamp;
    this.fn(value, this.collector);
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
