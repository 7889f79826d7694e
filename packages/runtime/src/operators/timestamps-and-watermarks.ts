/**
 * assignTimestampsAndWatermarks: stamps records with the strategy's timestamp and generates this
 * stream's watermarks, replacing upstream ones. Like Flink, upstream watermarks are ignored
 * except the final +Infinity (end of input), which always passes so that bounded jobs finish.
 */
import type { WatermarkGenerator, WatermarkStrategy } from '@sluice/api';
import { PeriodicTimer } from './periodic.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';
import { WatermarkMultiplexer, type WatermarkChannel } from './watermark-multiplexer.js';

export class TimestampsAndWatermarksOperator implements StreamOperator {
  private output!: Output;
  private generator!: WatermarkGenerator<unknown>;
  private mux!: WatermarkMultiplexer;
  private channel!: WatermarkChannel;
  private periodic: PeriodicTimer | undefined;
  /** Auto watermark interval 0: a watermark after every record (deterministic tests, punctuated streams). */
  private perRecord = false;

  constructor(private readonly strategy: WatermarkStrategy<unknown>) {}

  open(ctx: OperatorContext, output: Output): void {
    this.output = output;
    const time = ctx.processingTime;
    this.generator = this.strategy.createGenerator({ now: () => time.now() });
    this.mux = new WatermarkMultiplexer(output);
    this.channel = this.mux.createChannel();
    this.perRecord = ctx.config.autoWatermarkIntervalMs === 0;
    this.periodic = new PeriodicTimer(time, ctx.config.autoWatermarkIntervalMs, () => this.generator.onPeriodicEmit(this.channel));
    this.periodic.start();
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const ts = this.strategy.extractTimestamp(value, timestamp);
    if (ts !== undefined) this.generator.onEvent(value, ts, this.channel);
    this.output.collect(value, ts);
    if (this.perRecord) this.generator.onPeriodicEmit(this.channel);
  }

  processWatermark(watermark: number): void {
    if (watermark === Infinity) {
      this.periodic?.stop();
      this.mux.emitFinal();
    }
  }

  processWatermarkStatus(): void {
    // Idleness downstream is decided by this operator's own generator.
  }

  finish(): void {
    this.periodic?.stop();
  }

  close(): void {
    this.periodic?.stop();
  }
}
