/** One output per input: `fn(value)`, timestamp kept. */
import type { MapFunction } from '@sluice/api';
import { PassThroughOperator } from './pass-through.js';

export class MapOperator extends PassThroughOperator {
  constructor(private readonly fn: MapFunction<unknown, unknown>) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.output.collect(this.fn(value), timestamp);
  }
}
