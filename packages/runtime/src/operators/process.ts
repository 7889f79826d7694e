/** A non-keyed ProcessFunction: records, side outputs and time reads, but no state or timers. */
import type { ProcessFunction } from '@sluice/api';
import { NonKeyedProcessContext, NonKeyedTimerService, TimestampedCollector } from './contexts.js';
import { closeFunction, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class ProcessOperator implements StreamOperator {
  private output!: Output;
  private collector!: TimestampedCollector;
  private timers!: NonKeyedTimerService;
  private pctx!: NonKeyedProcessContext;
  constructor(private readonly fn: ProcessFunction<unknown, unknown>) {}

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.output = output;
    this.collector = new TimestampedCollector(output);
    this.timers = new NonKeyedTimerService(ctx.processingTime, ctx.operatorName);
    this.pctx = new NonKeyedProcessContext(output, this.timers);
    await openFunction(this.fn, new OperatorRuntimeContext(ctx, undefined));
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.collector.currentTimestamp = timestamp;
    this.pctx.currentTimestamp = timestamp;
    this.fn.processElement(value, this.pctx, this.collector);
  }
  processWatermark(watermark: number): void {
    this.timers.watermark = watermark;
    this.output.emitWatermark(watermark);
  }
  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }
  finish(): void {}
  async close(): Promise<void> {
    await closeFunction(this.fn);
  }
}
