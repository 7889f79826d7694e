/**
 * A generic Sink: drives its SinkWriter. A write that returns a promise means the writer is full;
 * the operator hands that promise to the task through backpressure() until it settles, and a
 * failed write fails the task on its next record instead of vanishing as an unhandled rejection.
 */
import type { Sink, SinkWriter } from '@sluice/api';
import type { OperatorContext, Output, StreamOperator } from './types.js';

function ignore(): void {}

export class SinkOperator implements StreamOperator {
  private writer: SinkWriter<unknown> | undefined;
  private pending: Promise<void> | undefined;
  private failed = false;
  private failure: unknown = undefined;
  private outstanding = 0;
  private readonly onWritten = (): void => {
    if (--this.outstanding === 0) this.pending = undefined;
  };
  private readonly onWriteFailed = (err: unknown): never => {
    this.failed = true;
    this.failure = err;
    if (--this.outstanding === 0) this.pending = undefined;
    throw err;
  };

  constructor(private readonly sink: Sink<unknown>) {}

  async open(ctx: OperatorContext, _output: Output): Promise<void> {
    const restored = ctx.restored?.operatorState;
    this.writer = await this.sink.createWriter({
      taskInfo: ctx.taskInfo,
      params: ctx.params,
      metrics: ctx.customMetrics,
      checkpointing: { intervalMs: ctx.config.checkpointIntervalMs, timeoutMs: ctx.config.checkpointTimeoutMs },
      ...(restored === undefined ? {} : { restoredState: restored }),
    });
  }

  /**
   * At the barrier: the writer's own snapshot (a transactional writer switches transactions
   * now), or a flush. The result settles once every write before the barrier has, so the
   * checkpoint is acknowledged only when they are durable.
   */
  snapshotState(checkpointId: number): Promise<unknown> {
    const writer = this.writer!;
    const before = this.pending;
    const snap = writer.snapshotState !== undefined ? writer.snapshotState(checkpointId) : writer.flush(false);
    return (async () => {
      if (before !== undefined) await before;
      const value = await snap;
      if (this.failed) throw this.failure;
      return writer.snapshotState !== undefined ? value : undefined;
    })();
  }

  notifyCheckpointComplete(checkpointId: number): void | Promise<void> {
    return this.writer?.notifyCheckpointComplete?.(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.writer?.notifyCheckpointAborted?.(checkpointId);
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    if (this.failed) throw this.failure;
    const r = this.writer!.write(value, timestamp);
    if (r !== undefined) this.track(r);
  }

  backpressure(): Promise<void> | undefined {
    return this.pending;
  }

  processWatermark(): void {}
  processWatermarkStatus(): void {}

  async finish(): Promise<void> {
    if (this.pending !== undefined) await this.pending;
    if (this.failed) throw this.failure;
    await this.writer?.flush(true);
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }

  private track(write: Promise<void>): void {
    this.outstanding++;
    const tracked = write.then(this.onWritten, this.onWriteFailed);
    // The task may never await it (e.g. the job is cancelled); the failure is kept above.
    tracked.catch(ignore);
    const prev = this.pending;
    this.pending = prev === undefined ? tracked : Promise.all([prev, tracked]).then(ignore);
    if (prev !== undefined) this.pending.catch(ignore);
  }
}
