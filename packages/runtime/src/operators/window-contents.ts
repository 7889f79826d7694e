/**
 * What a window holds per (key, window): a reduced value, an accumulator, or the buffered
 * elements — and how it is merged (session windows) and handed to the user's functions when the
 * window fires. The namespace is the window's start, which identifies a window of one key: all
 * windows of a non-merging assigner share one size, and a key's session windows never overlap.
 */
import type { AggregateFunction, Collector, OutputTag, ProcessWindowFunction, ReduceFunction, TimeWindow, WindowContext, WindowFunctionSpec } from '@sluice/api';
import { ConfigurationError } from '@sluice/common';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { Namespace, NamespacedTable } from '../state/state-table.js';
import type { Output, ProcessingTimeService } from './types.js';

const REDUCE = 0;
const AGGREGATE = 1;
const BUFFER = 2;

export class WindowContents {
  private readonly mode: number;
  private readonly reduceFn: ReduceFunction<unknown> | undefined;
  private readonly aggregateFn: AggregateFunction<unknown, unknown, unknown> | undefined;
  readonly windowFn: ProcessWindowFunction<unknown, unknown, unknown> | undefined;
  private table!: NamespacedTable<unknown>;
  private backend!: HeapKeyedStateBackend;

  constructor(spec: WindowFunctionSpec, merging: boolean, operatorName: string) {
    this.windowFn = spec.window;
    if (spec.type === 'reduce') {
      this.mode = REDUCE;
      this.reduceFn = spec.reduce;
    } else if (spec.type === 'aggregate') {
      this.mode = AGGREGATE;
      this.aggregateFn = spec.aggregate;
      if (merging && typeof spec.aggregate.merge !== 'function') {
        throw new ConfigurationError(
          `window operator '${operatorName}' aggregates session windows with an AggregateFunction that has no merge(a, b); ` +
            `session windows merge, so add merge() to the AggregateFunction or use reduce()/process()`,
        );
      }
    } else {
      this.mode = BUFFER;
    }
  }

  open(backend: HeapKeyedStateBackend): void {
    this.backend = backend;
    this.table = backend.namespacedTable('window-contents');
  }

  /** Every (group index, window namespace, normalized key) with contents. */
  forEachKey(visit: (groupIndex: number, ns: Namespace, key: unknown) => void): void {
    this.table.forEachKey(visit);
  }

  /** Adds an element to the current key's window `ns`; true when the window held nothing before. */
  add(ns: Namespace, value: unknown): boolean {
    const gi = this.backend.groupIndex;
    const key = this.backend.normalizedKey;
    const prev = this.table.get(gi, ns, key);
    switch (this.mode) {
      case REDUCE:
        this.table.put(gi, ns, key, prev === undefined ? value : this.reduceFn!(prev, value));
        break;
      case AGGREGATE: {
        const fn = this.aggregateFn!;
        this.table.put(gi, ns, key, fn.add(value, prev === undefined ? fn.createAccumulator() : prev));
        break;
      }
      default:
        if (prev === undefined) this.table.put(gi, ns, key, [value]);
        else (prev as unknown[]).push(value);
    }
    return prev === undefined;
  }

  /** Folds the contents of `source` into `target` and clears `source`. */
  merge(target: Namespace, source: Namespace): void {
    const gi = this.backend.groupIndex;
    const key = this.backend.normalizedKey;
    const src = this.table.get(gi, source, key);
    if (src === undefined) return;
    this.table.remove(gi, source, key);
    const dst = this.table.get(gi, target, key);
    if (dst === undefined) {
      this.table.put(gi, target, key, src);
      return;
    }
    switch (this.mode) {
      case REDUCE:
        this.table.put(gi, target, key, this.reduceFn!(dst, src));
        return;
      case AGGREGATE:
        this.table.put(gi, target, key, this.aggregateFn!.merge!(dst, src));
        return;
      default:
        for (const v of src as unknown[]) (dst as unknown[]).push(v);
    }
  }

  clear(ns: Namespace): void {
    this.table.remove(this.backend.groupIndex, ns, this.backend.normalizedKey);
  }

  /** Emits the window's result; nothing when the window holds nothing. */
  emit(ns: Namespace, ctx: WindowContextImpl, out: Collector<unknown>): void {
    const contents = this.table.get(this.backend.groupIndex, ns, this.backend.normalizedKey);
    if (contents === undefined) return;
    const result = this.mode === AGGREGATE ? this.aggregateFn!.getResult(contents) : contents;
    const wfn = this.windowFn;
    if (wfn === undefined) {
      out.collect(result);
      return;
    }
    const elements = this.mode === BUFFER ? (result as unknown[]) : [result];
    wfn.process(this.backend.currentKey, ctx, elements, out);
  }
}

export class WindowContextImpl implements WindowContext {
  current!: TimeWindow;
  watermark = -Infinity;
  constructor(private readonly out: Output, private readonly time: ProcessingTimeService) {}
  window(): TimeWindow {
    return this.current;
  }
  currentWatermark(): number {
    return this.watermark;
  }
  currentProcessingTime(): number {
    return this.time.now();
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value, this.current.maxTimestamp());
  }
}
