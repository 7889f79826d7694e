/**
 * The source contract (Flink's FLIP-27 shape, simplified). A source names its splits on the
 * JobMaster; Sluice assigns splits to subtasks; each subtask runs a reader on a worker thread.
 * Splits are plain data and carry their own position, so `snapshotState()` — the splits with
 * positions — is exactly what a checkpoint stores, and redistributing splits rescales a source.
 * Kafka implements this interface: a split is a topic-partition, its position an offset.
 */
import type { MetricGroup } from './metrics.js';
import type { TaskInfo } from './state.js';

export type Boundedness = 'bounded' | 'unbounded';

export interface SourceSplit {
  readonly splitId: string;
}

export interface SplitEnumeratorContext {
  parallelism: number;
  params: Readonly<Record<string, string>>;
  /** The run's job id (TaskInfo.jobId), where the caller knows it. */
  jobId?: string;
}

export interface SourceReaderContext {
  taskInfo: TaskInfo;
  params: Readonly<Record<string, string>>;
  /** Processing time in ms. */
  now(): number;
  /** The source's own metrics (records, bytes, lag per partition), exported by the TaskManager. */
  metrics: MetricGroup;
}

export type ReaderStatus = 'more' | 'nothing' | 'end';

/** Where a reader puts records. `timestamp` is the record's own time (e.g. Kafka's), if any. */
export interface ReaderOutput<T> {
  collect(value: T, timestamp?: number): void;
  /** A per-split output: watermarks are generated per split and combined (min) per subtask. */
  createSplitOutput(splitId: string): ReaderOutput<T>;
  releaseSplitOutput(splitId: string): void;
  /**
   * The reader has nothing to read for now (no splits assigned, but it stays alive because it may
   * discover some): its watermark must not hold back downstream operators. A watermark from a
   * new split output makes the source active again. Outputs built outside the runtime (test
   * doubles) may leave it out.
   */
  markIdle?(): void;
}

export interface SourceReader<T, S extends SourceSplit> {
  addSplits(splits: S[]): void;
  /** No more splits will come; a bounded reader may end once its splits are done. */
  notifyNoMoreSplits(): void;
  /**
   * Emits what is available now, ideally a burst of up to a few thousand records, and returns
   * 'more' if it could emit more right away, 'nothing' if it must wait (see `isAvailable`),
   * 'end' when a bounded reader is done.
   */
  pollNext(output: ReaderOutput<T>): ReaderStatus;
  /** After 'nothing': resolves when `pollNext` may have data again. */
  isAvailable(): Promise<void>;
  /** The assigned splits with their current positions. */
  snapshotState(checkpointId: number): S[];
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  close(): void | Promise<void>;
}

export interface Source<T, S extends SourceSplit = SourceSplit> {
  readonly boundedness: Boundedness;
  /**
   * The kind of split this source reads and checkpoints ('kafka-partition', 'generator'): two
   * sources can take each other's splits exactly when their split types are equal, so a restore
   * refuses a checkpoint whose source under the same uid had another. Defaults to the class name;
   * a source that is a plain object and sets none is not checked.
   */
  readonly splitType?: string;
  /** Runs on the JobMaster: the splits to read. */
  enumerateSplits(ctx: SplitEnumeratorContext): S[] | Promise<S[]>;
  /** Subtask that reads `split` (the `index`-th split); defaults to `index % parallelism`. */
  assignSplit?(split: S, index: number, parallelism: number): number;
  /** Runs on a worker thread. */
  createReader(ctx: SourceReaderContext): SourceReader<T, S>;
  describe?(): string;
}
