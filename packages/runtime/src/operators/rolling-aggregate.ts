/** Rolling keyed aggregate: one accumulator per key; emits `getResult(acc)` after every input. */
import type { AggregateFunction, KeySelector } from '@sluice/api';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { KeyedTable } from '../state/state-table.js';
import { createKeyedBackend } from './runtime-context.js';
import { PassThroughOperator } from './pass-through.js';
import type { OperatorContext, Output } from './types.js';

export class RollingAggregateOperator extends PassThroughOperator {
  backend!: HeapKeyedStateBackend;
  private table!: KeyedTable<unknown>;

  constructor(private readonly keySelector: KeySelector<unknown, unknown>, private readonly fn: AggregateFunction<unknown, unknown, unknown>) {
    super();
  }

  override open(ctx: OperatorContext, output: Output): void {
    super.open(ctx, output);
    this.backend = createKeyedBackend(ctx);
    this.table = this.backend.internalTable('rolling-aggregate');
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const b = this.backend;
    b.setCurrentKey(this.keySelector(value));
    const prev = this.table.get(b.groupIndex, b.normalizedKey);
    const acc = this.fn.add(value, prev === undefined ? this.fn.createAccumulator() : prev);
    this.table.put(b.groupIndex, b.normalizedKey, acc);
    this.output.collect(this.fn.getResult(acc), timestamp);
  }
}
