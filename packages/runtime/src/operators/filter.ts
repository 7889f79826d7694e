/** Keeps the inputs for which `fn(value)` is true. */
import type { FilterFunction } from '@sluice/api';
import { compileLink } from './compiled-links.js';
import { PassThroughOperator } from './pass-through.js';
import type { OperatorContext, Output } from './types.js';

export class FilterOperator extends PassThroughOperator {
  constructor(private readonly fn: FilterFunction<unknown>) {
    super();
  }
  override open(ctx: OperatorContext, output: Output): void {
    super.open(ctx, output);
    // A copy of processElement below for this filter alone (compiled-links.ts).
    const own = compileLink<FilterOperator['processElement']>(['fn', 'out'], 'return function processElement(value, timestamp) { if (fn(value)) out.collect(value, timestamp); };', [this.fn, output]);
    if (own !== undefined) this.processElement = own;
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    if (this.fn(value)) this.output.collect(value, timestamp);
  }
}
