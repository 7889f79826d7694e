/** Keeps the inputs for which `fn(value)` is true. */
import type { FilterFunction } from '@sluice/api';
import { PassThroughOperator } from './pass-through.js';

export class FilterOperator extends PassThroughOperator {
  constructor(private readonly fn: FilterFunction<unknown>) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    if (this.fn(value)) this.output.collect(value, timestamp);
  }
}
