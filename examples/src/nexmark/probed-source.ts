/**
 * Throughput counting without an operator in the chain. A ThroughputProbe operator after the
 * source cost +41% instructions per event in the measured chain (bench/CHAIN-FINDINGS.md §4–5):
 * its hop, and a fifth operator class that made the chain's dispatch megamorphic. Here the
 * source's own generate functions count instead (`generate` per event, `generateBurst` per
 * burst), and a wrapper around the source's reader tells them which subtask they generate for.
 *
 * One EventCounter per job build is shared by the generate functions and every reader built
 * from them on that worker thread. A reader makes its subtask's ProbeCount current right before
 * it polls the inner reader; `pollNext` runs synchronously and nothing else generates on the
 * thread meanwhile, so each event is counted for the subtask that generated it, even with
 * several subtasks on one thread. Per burst that is one addition and two comparisons.
 */
import type { Boundedness, ReaderOutput, ReaderStatus, Source, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext } from '@sluice/api';
import { ProbeCount } from './probe.js';

export class EventCounter {
  /** Counts nothing that matters until a reader polls (0 warm-up events is never reached). */
  current = new ProbeCount(-1, 0);

  /** Call as events are generated, with how many (one, or a burst of at most GENERATOR_BURST). */
  count(events: number): void {
    this.current.count(events);
  }
}

export interface ProbeOptions {
  statsDir: string;
  /** Warm-up events over all subtasks, split evenly over them (at least 1 each). */
  totalWarmupEvents: number;
}

/**
 * `inner` with its readers counted by `counter`, which `inner`'s records must be counted into as
 * they are made (e.g. by its generate function). Each reader writes a ProbeReport when it closes.
 */
export class ProbedSource<T, S extends SourceSplit> implements Source<T, S> {
  readonly boundedness: Boundedness;
  /** The inner source's, so checkpoints are compatible with and without the probe. */
  readonly splitType?: string;
  readonly assignSplit?: (split: S, index: number, parallelism: number) => number;

  constructor(private readonly inner: Source<T, S>, private readonly counter: EventCounter, private readonly options: ProbeOptions) {
    this.boundedness = inner.boundedness;
    const type = inner.splitType ?? (inner.constructor === Object ? undefined : inner.constructor.name);
    if (type !== undefined) this.splitType = type;
    if (inner.assignSplit !== undefined) this.assignSplit = (split, index, parallelism) => inner.assignSplit!(split, index, parallelism);
  }

  enumerateSplits(ctx: SplitEnumeratorContext): S[] | Promise<S[]> {
    return this.inner.enumerateSplits(ctx);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, S> {
    const count = ProbeCount.forSubtask(ctx.taskInfo, this.options.totalWarmupEvents);
    return new ProbedReader(this.inner.createReader(ctx), this.counter, count, this.options.statsDir);
  }

  describe(): string {
    return this.inner.describe?.() ?? 'Probed source';
  }
}

class ProbedReader<T, S extends SourceSplit> implements SourceReader<T, S> {
  readonly notifyCheckpointComplete?: (checkpointId: number) => void | Promise<void>;
  private reported = false;

  constructor(private readonly inner: SourceReader<T, S>, private readonly counter: EventCounter, private readonly count: ProbeCount, private readonly statsDir: string) {
    if (inner.notifyCheckpointComplete !== undefined) this.notifyCheckpointComplete = (id) => inner.notifyCheckpointComplete!(id);
  }

  addSplits(splits: S[]): void {
    this.inner.addSplits(splits);
  }

  notifyNoMoreSplits(): void {
    this.inner.notifyNoMoreSplits();
  }

  pollNext(output: ReaderOutput<T>): ReaderStatus {
    this.counter.current = this.count;
    return this.inner.pollNext(output);
  }

  isAvailable(): Promise<void> {
    return this.inner.isAvailable();
  }

  snapshotState(checkpointId: number): S[] {
    return this.inner.snapshotState(checkpointId);
  }

  async close(): Promise<void> {
    try {
      if (!this.reported) {
        this.reported = true;
        this.count.report(this.statsDir);
      }
    } finally {
      await this.inner.close();
    }
  }
}
