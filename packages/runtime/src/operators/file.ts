/**
 * The file sink: appends one JSON line per record to `<path>/part-<subtaskIndex>`. Writes are
 * synchronous on purpose: they run on the task's worker thread, in chunks, and a synchronous
 * write keeps chunk order and makes finish()/close() durable without promise bookkeeping.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, ensureDirectorySync, SluiceError } from '@sluice/common';
import { LineBuffer, toJson } from './line-buffer.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class FileSinkOperator implements StreamOperator {
  private fd: number | undefined;
  private buffer: LineBuffer | undefined;
  private file = '';

  constructor(private readonly path: string) {}

  open(ctx: OperatorContext, _output: Output): void {
    this.file = join(this.path, `part-${ctx.taskInfo.subtaskIndex}`);
    try {
      ensureDirectorySync(this.path, `directory of file sink '${ctx.operatorName}'`);
      this.fd = openSync(this.file, 'a');
    } catch (err) {
      throw new SluiceError('FILE_SINK', `file sink '${ctx.operatorName}' cannot open ${this.file} for appending: ${describeError(err)}`, { cause: err });
    }
    const fd = this.fd;
    this.buffer = new LineBuffer((chunk) => {
      writeSync(fd, chunk);
    }, ctx.processingTime);
  }

  processElement(value: unknown): void {
    this.buffer!.append(toJson(value));
  }

  processWatermark(): void {}
  processWatermarkStatus(): void {}

  finish(): void {
    this.buffer?.flush();
  }

  close(): void {
    this.buffer?.flush();
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
