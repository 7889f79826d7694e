/**
 * The head of a source chain: drives a SourceReader, stamps records with the WatermarkStrategy's
 * timestamps (or the reader's own record timestamps) and generates watermarks. A reader that
 * reads several splits can give each split its own output (createSplitOutput): each split then
 * has its own generator, and the subtask's watermark is the minimum over splits that are not
 * idle, so one slow or empty partition neither races ahead nor stalls the others forever.
 * Readers that never ask for split outputs get one generator for the whole reader.
 */
import type { ReaderOutput, ReaderStatus, Source, SourceReader, SourceSplit, WatermarkGenerator, WatermarkStrategy, WatermarkStrategyContext } from '@sluice/api';
import { takeSourcePosition } from '@sluice/checkpoint';
import { SluiceError } from '@sluice/common';
import type { SourcePosition } from '@sluice/protocol';
import { PeriodicTimer } from './periodic.js';
import type { OperatorContext, Output, SourceStreamOperator } from './types.js';
import { WatermarkMultiplexer, type WatermarkChannel } from './watermark-multiplexer.js';

/** One watermark-generating output: the reader's main output or one split's. */
class GeneratingOutput implements ReaderOutput<unknown> {
  constructor(
    private readonly op: SourceOperator,
    private readonly out: Output,
    private readonly strategy: WatermarkStrategy<unknown>,
    readonly generator: WatermarkGenerator<unknown>,
    readonly channel: WatermarkChannel,
    /** Auto watermark interval 0: ask the generator for a watermark after every record. */
    private readonly perRecord: boolean,
  ) {}

  collect(value: unknown, timestamp?: number): void {
    const ts = this.strategy.extractTimestamp(value, timestamp);
    if (ts !== undefined) this.generator.onEvent(value, ts, this.channel);
    this.out.collect(value, ts);
    if (this.perRecord) this.generator.onPeriodicEmit(this.channel);
  }

  createSplitOutput(splitId: string): ReaderOutput<unknown> {
    return this.op.createSplitOutput(splitId);
  }

  releaseSplitOutput(splitId: string): void {
    this.op.releaseSplitOutput(splitId);
  }

  markIdle(): void {
    this.op.markIdle();
  }
}

/** The reader's main output; its generator exists until the reader turns to split outputs. */
class MainOutput implements ReaderOutput<unknown> {
  target: GeneratingOutput | undefined;
  used = false;
  constructor(private readonly op: SourceOperator) {}

  collect(value: unknown, timestamp?: number): void {
    if (this.target === undefined) this.target = this.op.createGeneratingOutput();
    this.used = true;
    this.target.collect(value, timestamp);
  }

  createSplitOutput(splitId: string): ReaderOutput<unknown> {
    return this.op.createSplitOutput(splitId);
  }

  releaseSplitOutput(splitId: string): void {
    this.op.releaseSplitOutput(splitId);
  }

  markIdle(): void {
    this.op.markIdle();
  }
}

export class SourceOperator implements SourceStreamOperator {
  private reader!: SourceReader<unknown, SourceSplit>;
  private output!: Output;
  private mux!: WatermarkMultiplexer;
  private generatorContext!: WatermarkStrategyContext;
  private main!: MainOutput;
  private readonly splits = new Map<string, GeneratingOutput>();
  private periodic: PeriodicTimer | undefined;
  private ended = false;
  private operatorName = '';
  private perRecordWatermarks = false;

  constructor(private readonly source: Source<unknown, SourceSplit>, private readonly strategy: WatermarkStrategy<unknown>) {}

  open(ctx: OperatorContext, output: Output): void {
    this.output = output;
    this.operatorName = ctx.operatorName;
    this.perRecordWatermarks = ctx.config.autoWatermarkIntervalMs === 0;
    const time = ctx.processingTime;
    const now = (): number => time.now();
    this.generatorContext = { now };
    this.mux = new WatermarkMultiplexer(output);
    this.main = new MainOutput(this);
    // Created up front so that an idle timeout runs even before the first record.
    this.main.target = this.createGeneratingOutput();
    this.reader = this.source.createReader({ taskInfo: ctx.taskInfo, params: ctx.params, now, metrics: ctx.customMetrics });
    this.periodic = new PeriodicTimer(time, ctx.config.autoWatermarkIntervalMs, () => this.emitPeriodic());
    this.periodic.start();
    // Restored event time: downstream resumes at the checkpoint's watermark, and the fresh
    // generators, which start from nothing, cannot send it backwards.
    const restored = ctx.restored?.watermark;
    if (restored !== undefined && restored > -Infinity) {
      this.mux.current = restored;
      output.emitWatermark(restored);
    }
  }

  /**
   * The splits with their positions, and the watermark sent so far, as plain data copied now
   * (the reader's objects keep changing). Throws `SOURCE_POSITION_NOT_PLAIN` for splits JSON
   * cannot hold.
   */
  snapshotPosition(checkpointId: number): SourcePosition {
    return takeSourcePosition(this.reader.snapshotState(checkpointId), this.mux.current, `'${this.operatorName}'`);
  }

  notifyCheckpointComplete(checkpointId: number): void | Promise<void> {
    return this.reader.notifyCheckpointComplete?.(checkpointId);
  }

  addSplits(splits: unknown[]): void {
    this.reader.addSplits(splits as SourceSplit[]);
  }

  noMoreSplits(): void {
    this.reader.notifyNoMoreSplits();
  }

  emitNext(): ReaderStatus {
    if (this.ended) return 'end';
    const status = this.reader.pollNext(this.main);
    if (status === 'end') {
      this.ended = true;
      this.periodic?.stop();
      this.mux.emitFinal();
    }
    return status;
  }

  isAvailable(): Promise<void> {
    return this.reader.isAvailable();
  }

  emitFinalWatermark(): void {
    this.periodic?.stop();
    this.mux.emitFinal();
  }

  /** @internal for the reader outputs */
  createGeneratingOutput(): GeneratingOutput {
    return new GeneratingOutput(this, this.output, this.strategy, this.strategy.createGenerator(this.generatorContext), this.mux.createChannel(), this.perRecordWatermarks);
  }

  /** @internal */
  createSplitOutput(splitId: string): ReaderOutput<unknown> {
    let out = this.splits.get(splitId);
    if (out !== undefined) return out;
    // Per-split watermarks replace the reader-wide generator unless the reader also used it.
    const main = this.main.target;
    if (main !== undefined && !this.main.used) {
      this.main.target = undefined;
      this.mux.releaseChannel(main.channel);
    }
    out = this.createGeneratingOutput();
    this.splits.set(splitId, out);
    return out;
  }

  /** @internal */
  releaseSplitOutput(splitId: string): void {
    const out = this.splits.get(splitId);
    if (out === undefined) return;
    this.splits.delete(splitId);
    this.mux.releaseChannel(out.channel);
  }

  /** @internal: every watermark channel of this source goes idle (see ReaderOutput.markIdle). */
  markIdle(): void {
    // With no channel left there would be nothing to mark; a fresh main channel carries the status.
    if (this.main.target === undefined && this.splits.size === 0) this.main.target = this.createGeneratingOutput();
    this.main.target?.channel.markIdle();
    for (const out of this.splits.values()) out.channel.markIdle();
  }

  private emitPeriodic(): void {
    const main = this.main.target;
    if (main !== undefined) main.generator.onPeriodicEmit(main.channel);
    for (const out of this.splits.values()) out.generator.onPeriodicEmit(out.channel);
  }

  processElement(): void {
    throw new SluiceError('INTERNAL', `source operator '${this.operatorName}' has no input, yet a record was pushed into it`);
  }

  processWatermark(): void {}
  processWatermarkStatus(): void {}

  finish(): void {
    this.periodic?.stop();
  }

  async close(): Promise<void> {
    this.periodic?.stop();
    await this.reader?.close();
  }
}
