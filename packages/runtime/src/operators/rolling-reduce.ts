/** Rolling keyed reduce: keeps one reduced value per key and emits it after every input. */
import type { KeySelector, ReduceFunction } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { KeyedTable } from '../state/state-table.js';
import { createKeyedBackend } from './runtime-context.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export class RollingReduceOperator implements StreamOperator {
  private output!: Output;
  backend!: HeapKeyedStateBackend;
  private table!: KeyedTable<unknown>;

  constructor(private readonly keySelector: KeySelector<unknown, unknown>, private readonly fn: ReduceFunction<unknown>) {}

  open(ctx: OperatorContext, output: Output): void {
    this.output = output;
    this.backend = createKeyedBackend(ctx);
    this.table = this.backend.internalTable('rolling-reduce');
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const b = this.backend;
    b.setCurrentKey(this.keySelector(value));
    const prev = this.table.get(b.groupIndex, b.normalizedKey);
    const next = prev === undefined ? value : this.fn(prev, value);
    this.table.put(b.groupIndex, b.normalizedKey, next);
    this.output.collect(next, timestamp);
  }

  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }
  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }
  finish(): void {}
  close(): void {}
}
