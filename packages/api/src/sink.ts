/**
 * The sink contract. A writer lives on a worker thread. `write` is synchronous for speed; a
 * writer whose buffer is full returns a promise, and the task stops feeding it records until
 * the promise settles (backpressure), at the latest after the input batch (one buffer of
 * records) it is in the middle of. Kafka implements this interface; the two-phase-commit
 * hooks join it with checkpoints.
 */
import type { MetricGroup } from './metrics.js';
import type { TaskInfo } from './state.js';

export interface SinkWriterContext {
  taskInfo: TaskInfo;
  params: Readonly<Record<string, string>>;
  /** The sink's own metrics (records, bytes, latency, commits), exported by the TaskManager. */
  metrics: MetricGroup;
  /**
   * When the job restarted from a checkpoint: what `snapshotState` returned at that checkpoint
   * (this subtask's, or after a change of parallelism every subtask's, given to subtask 0).
   * A transactional writer commits what the checkpoint covered and discards anything later.
   */
  restoredState?: unknown[];
  /** The job's checkpoint settings (interval 0: checkpointing is off), for writers that commit per checkpoint. */
  checkpointing?: { intervalMs: number; timeoutMs: number };
}

export interface SinkWriter<T> {
  write(value: T, timestamp: number | undefined): void | Promise<void>;
  /** Push buffered records out; `endOfInput` is true once at the end of a bounded input. */
  flush(endOfInput: boolean): void | Promise<void>;
  close(): void | Promise<void>;
  /**
   * A checkpoint barrier arrived: every record before it has been passed to `write`. Return what
   * must be committed once the checkpoint completes (structured-cloneable data, stored in the
   * checkpoint) — synchronously switch to a new transaction for the records that follow, and
   * finish preparing the old one in the returned promise. Writers without this method are
   * flushed instead, which gives at-least-once delivery.
   */
  snapshotState?(checkpointId: number): unknown;
  /** Checkpoint `checkpointId` (and so every earlier one) is complete: commit what it covered. */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /** Checkpoint `checkpointId` was aborted; what it prepared is covered by the next one. */
  notifyCheckpointAborted?(checkpointId: number): void;
}

export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
  describe?(): string;
}
