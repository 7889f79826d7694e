/**
 * Base of one-input operators without timers: they keep their Output and pass watermarks and
 * idleness straight through. Subclasses only say what happens to a record.
 */
import type { OperatorContext, Output, StreamOperator } from './types.js';

export abstract class PassThroughOperator implements StreamOperator {
  protected output!: Output;

  open(_ctx: OperatorContext, output: Output): void {
    this.output = output;
  }

  abstract processElement(value: unknown, timestamp: number | undefined): void;

  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }

  finish(): void {}
  close(): void {}
}
