/**
 * A job whose own source, user function and sink publish custom metrics, for the custom-metrics
 * test. The source reads SPLITS splits of RECORDS_PER_SPLIT readings each (payloads of 5, 50 and
 * 500 bytes in turn) and counts them per split, observes payload sizes in a histogram and shows
 * its assigned splits in a gauge; a process function counts large readings; the sink counts
 * what it wrote.
 * Params: hold ('true': the source stays open after its splits, so the job runs until
 * cancelled), failOnce ('true': the first attempt of subtask 0 fails after reading all its
 * splits; the job restarts once).
 */
import {
  WatermarkStrategy,
  type Collector,
  type Counter,
  type ProcessContext,
  type ProcessFunction,
  type ReaderOutput,
  type ReaderStatus,
  type RuntimeContext,
  type Sink,
  type Source,
  type SourceReader,
  type SourceReaderContext,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from '@sluice/api';

export const SPLITS = 4;
export const RECORDS_PER_SPLIT = 30;
export const PAYLOAD_SIZES = [5, 50, 500] as const;
export const SIZE_BUCKETS = [10, 100];

interface Reading {
  split: string;
  seq: number;
  payload: string;
}

class ReadingsReader implements SourceReader<Reading, SourceSplit> {
  private readonly splits: SourceSplit[] = [];
  private noMore = false;
  private seq = 0;
  private readonly records;
  private readonly sizes;
  private readonly assigned;

  constructor(private readonly ctx: SourceReaderContext, private readonly hold: boolean, private readonly failOnce: boolean) {
    this.records = ctx.metrics.counter('demo_records_read_total', 'Readings read, per split.', ['split']);
    this.sizes = ctx.metrics.histogram('demo_payload_bytes', 'Payload size of the readings read.', SIZE_BUCKETS);
    this.assigned = ctx.metrics.gauge('demo_assigned_splits', 'Splits assigned to this reader.');
  }

  addSplits(splits: SourceSplit[]): void {
    this.splits.push(...splits);
    this.assigned.set(this.splits.length);
  }

  notifyNoMoreSplits(): void {
    this.noMore = true;
  }

  pollNext(output: ReaderOutput<Reading>): ReaderStatus {
    const split = this.splits[Math.floor(this.seq / RECORDS_PER_SPLIT)];
    if (split === undefined) {
      const t = this.ctx.taskInfo;
      if (this.failOnce && t.attempt === 0 && t.subtaskIndex === 0) throw new Error('injected failure after reading every split');
      return this.hold || !this.noMore ? 'nothing' : 'end';
    }
    const payload = 'x'.repeat(PAYLOAD_SIZES[this.seq % PAYLOAD_SIZES.length]!);
    this.records.inc(1, { split: split.splitId });
    this.sizes.observe(payload.length);
    output.collect({ split: split.splitId, seq: this.seq, payload });
    this.seq++;
    return 'more';
  }

  isAvailable(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 50));
  }

  snapshotState(): SourceSplit[] {
    return this.splits;
  }

  close(): void {}
}

class LargeReadings implements ProcessFunction<Reading, Reading> {
  private large!: Counter;
  open(ctx: RuntimeContext): void {
    this.large = ctx.getMetricGroup().counter('demo_large_readings_total', 'Readings with a payload over 100 bytes.');
  }
  processElement(r: Reading, _ctx: ProcessContext, out: Collector<Reading>): void {
    if (r.payload.length > 100) this.large.inc();
    out.collect(r);
  }
}

const countingSink: Sink<Reading> = {
  createWriter: (ctx) => {
    const written = ctx.metrics.counter('demo_written_total', 'Readings the sink wrote.');
    return { write: () => written.inc(), flush: () => {}, close: () => {} };
  },
  describe: () => 'counting sink',
};

export default function build(env: StreamExecutionEnvironment): void {
  const hold = env.params.hold === 'true';
  const failOnce = env.params.failOnce === 'true';
  env.setJobName('custom metrics');
  if (failOnce) env.setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 50 });
  const source: Source<Reading, SourceSplit> = {
    boundedness: hold ? 'unbounded' : 'bounded',
    enumerateSplits: () => Array.from({ length: SPLITS }, (_, i) => ({ splitId: `s${i}` })),
    createReader: (ctx) => new ReadingsReader(ctx, hold, failOnce),
    describe: () => 'readings',
  };
  env
    .fromSource(source, WatermarkStrategy.noWatermarks(), 'readings')
    .process(new LargeReadings())
    .name('large')
    .sinkTo(countingSink)
    .name('written');
}
