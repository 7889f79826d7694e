/**
 * The print sink: one line per record on stdout or stderr, prefixed with the user's prefix and,
 * when parallelism > 1, the 1-based subtask index. Lines are written in chunks (see LineBuffer).
 */
import { LineBuffer, formatRecord } from './line-buffer.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export type ChunkWriter = (chunk: string) => void;

export class PrintOperator implements StreamOperator {
  private linePrefix = '';
  private buffer: LineBuffer | undefined;

  /** `write` replaces the process stream, for tests. */
  constructor(private readonly prefix: string, private readonly stderr: boolean, private readonly write?: ChunkWriter) {}

  open(ctx: OperatorContext, _output: Output): void {
    this.linePrefix = this.prefix + (ctx.taskInfo.parallelism > 1 ? `${ctx.taskInfo.subtaskIndex + 1}> ` : '');
    const stream = this.stderr ? process.stderr : process.stdout;
    const write: ChunkWriter = this.write ?? ((chunk) => void stream.write(chunk));
    this.buffer = new LineBuffer(write, ctx.processingTime);
  }

  processElement(value: unknown): void {
    this.buffer!.append(this.linePrefix + formatRecord(value));
  }

  processWatermark(): void {}
  processWatermarkStatus(): void {}

  finish(): void {
    this.buffer?.flush();
  }

  close(): void {
    this.buffer?.flush();
  }
}
