/**
 * A hand-written source whose split keeps its position as a bigint — what a checkpoint cannot
 * store as JSON. With checkpointing on, the first checkpoint must fail the job at once (no
 * restart can cure it) with an error naming the source and the bigint.
 * Params: dir (checkpoint directory, required).
 */
import { WatermarkStrategy, type ReaderOutput, type ReaderStatus, type Source, type SourceReader, type SourceSplit, type StreamExecutionEnvironment } from '@sluice/api';

interface CounterSplit extends SourceSplit {
  readonly splitId: string;
  readonly next: bigint;
}

class CounterReader implements SourceReader<number, CounterSplit> {
  private next = 0n;
  private ticking: NodeJS.Timeout | undefined;

  addSplits(splits: CounterSplit[]): void {
    for (const s of splits) this.next = s.next;
  }
  notifyNoMoreSplits(): void {}
  pollNext(output: ReaderOutput<number>): ReaderStatus {
    output.collect(Number(this.next));
    this.next++;
    return 'nothing';
  }
  isAvailable(): Promise<void> {
    return new Promise((resolve) => {
      this.ticking = setTimeout(resolve, 5);
    });
  }
  snapshotState(): CounterSplit[] {
    return [{ splitId: 'counter', next: this.next }];
  }
  close(): void {
    clearTimeout(this.ticking);
  }
}

const counter: Source<number, CounterSplit> = {
  boundedness: 'unbounded',
  enumerateSplits: () => [{ splitId: 'counter', next: 0n }],
  createReader: () => new CounterReader(),
};

export default function build(env: StreamExecutionEnvironment): void {
  const dir = env.params.dir;
  if (dir === undefined) throw new Error('bigint-splits needs -D dir=<checkpoint directory>');
  env.setJobName('bigint splits');
  env.enableCheckpointing(50, { dir });
  env.setRestartStrategy({ type: 'fixed-delay', attempts: 5, delayMs: 10 });
  env.fromSource(counter, WatermarkStrategy.noWatermarks<number>(), 'Counter').uid('counter').setParallelism(1).filter(() => false).collect('never');
}
