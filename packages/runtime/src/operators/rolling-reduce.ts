/** Rolling keyed reduce: keeps one reduced value per key and emits it after every input. */
import type { KeySelector, ReduceFunction } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { KeyedTable } from '../state/state-table.js';
import { createKeyedBackend } from './runtime-context.js';
import { PassThroughOperator } from './pass-through.js';
import type { OperatorContext, Output } from './types.js';

export class RollingReduceOperator extends PassThroughOperator {
  backend!: HeapKeyedStateBackend;
  private table!: KeyedTable<unknown>;

  constructor(private readonly keySelector: KeySelector<unknown, unknown>, private readonly fn: ReduceFunction<unknown>) {
    super();
  }

  override open(ctx: OperatorContext, output: Output): void {
    super.open(ctx, output);
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
}
