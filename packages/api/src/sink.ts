/**
 * The sink contract. A writer lives on a worker thread. `write` is synchronous for speed; a
 * writer whose buffer is full returns a promise, and the task stops feeding it records until
 * the promise settles (backpressure), at the latest after the input batch (one buffer of
 * records) it is in the middle of. Kafka implements this interface; the two-phase-commit
 * hooks join it with checkpoints.
 */
import type { TaskInfo } from './state.js';

export interface SinkWriterContext {
  taskInfo: TaskInfo;
  params: Readonly<Record<string, string>>;
}

export interface SinkWriter<T> {
  write(value: T, timestamp: number | undefined): void | Promise<void>;
  /** Push buffered records out; `endOfInput` is true once at the end of a bounded input. */
  flush(endOfInput: boolean): void | Promise<void>;
  close(): void | Promise<void>;
}

export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
  describe?(): string;
}
