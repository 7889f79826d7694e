/** A non-keyed CoProcessFunction over two inputs; its watermark is the min of both inputs. */
import type { CoProcessFunction } from '@sluice/api';
import { NonKeyedProcessContext, NonKeyedTimerService, TimestampedCollector } from './contexts.js';
import { closeFunction, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import { TwoInputWatermarks } from './two-input-watermarks.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class CoProcessOperator implements StreamOperator {
  private collector!: TimestampedCollector;
  private timers!: NonKeyedTimerService;
  private pctx!: NonKeyedProcessContext;
  private watermarks!: TwoInputWatermarks;

  constructor(private readonly fn: CoProcessFunction<unknown, unknown, unknown>) {}

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.collector = new TimestampedCollector(output);
    const timers = new NonKeyedTimerService(ctx.processingTime, ctx.operatorName);
    this.timers = timers;
    this.pctx = new NonKeyedProcessContext(output, timers);
    this.watermarks = new TwoInputWatermarks({
      emitWatermark(wm) {
        timers.watermark = wm;
        output.emitWatermark(wm);
      },
      emitWatermarkStatus(idle) {
        output.emitWatermarkStatus(idle);
      },
    });
    await openFunction(this.fn, new OperatorRuntimeContext(ctx, undefined));
  }

  processElement(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void {
    this.collector.currentTimestamp = timestamp;
    this.pctx.currentTimestamp = timestamp;
    if (inputIndex === 0) this.fn.processElement1(value, this.pctx, this.collector);
    else this.fn.processElement2(value, this.pctx, this.collector);
  }

  processWatermark(watermark: number, inputIndex: 0 | 1): void {
    this.watermarks.processWatermark(watermark, inputIndex);
  }

  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void {
    this.watermarks.processWatermarkStatus(idle, inputIndex);
  }

  finish(): void {}

  async close(): Promise<void> {
    await closeFunction(this.fn);
  }
}
