/** One output per input: `fn(value)`, timestamp kept. */
import type { MapFunction } from '@sluice/api';
import { compileLink } from './compiled-links.js';
import { PassThroughOperator } from './pass-through.js';
import type { OperatorContext, Output } from './types.js';

export class MapOperator extends PassThroughOperator {
  constructor(private readonly fn: MapFunction<unknown, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, output: Output): void {
    super.open(ctx, output);
    // A copy of processElement below for this map alone (compiled-links.ts).
    const own = compileLink<MapOperator['processElement']>(['fn', 'out'], 'return function processElement(value, timestamp) { out.collect(fn(value), timestamp); };', [this.fn, output]);
    if (own !== undefined) this.processElement = own;
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    this.output.collect(this.fn(value), timestamp);
  }
}
