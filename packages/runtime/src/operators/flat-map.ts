/** Zero or more outputs per input through a reused collector carrying the input's timestamp. */
import type { FlatMapFunction } from '@sluice/api';
import { TimestampedCollector } from './contexts.js';
import { PassThroughOperator } from './pass-through.js';
import type { OperatorContext, Output } from './types.js';

export class FlatMapOperator extends PassThroughOperator {
  private collector!: TimestampedCollector;
  constructor(private readonly fn: FlatMapFunction<unknown, unknown>) {
    super();
  }
  override open(_ctx: OperatorContext, output: Output): void {
    super.open(_ctx, output);
    this.collector = new TimestampedCollector(output);
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.collector.currentTimestamp = timestamp;
    this.fn(value, this.collector);
  }
}
