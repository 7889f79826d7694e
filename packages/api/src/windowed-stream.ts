/**
 * WindowedStream: a keyed stream cut into windows, waiting for its window function. Nothing is
 * added to the graph until reduce/aggregate/process is called; then one 'window' node carries
 * the key selector, the assigner, the lateness settings and the function (see spec.ts).
 */
import { JobDefinitionError } from '@sluice/common';
import { SingleOutputStreamOperator } from './datastream.js';
import type { AggregateFunction, KeySelector, ProcessWindowFunction, ReduceFunction } from './functions.js';
import type { GraphBuilder, StreamInput } from './graph-builder.js';
import type { OutputTag } from './output-tag.js';
import type { WindowFunctionSpec } from './spec.js';
import type { WindowAssigner } from './windows.js';

/** @internal What a window node needs besides its function; shared with AllWindowedStream. */
export interface WindowSettings {
  readonly builder: GraphBuilder;
  readonly inputs: readonly StreamInput[];
  readonly keySelector: KeySelector<unknown, unknown>;
  readonly assigner: WindowAssigner;
  readonly allowedLatenessMs: number;
  readonly lateDataTag: string | undefined;
  /** 'Window' or 'WindowAll', for the default operator name. */
  readonly label: string;
  readonly nonParallelReason?: string;
}

export function checkAllowedLateness(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new JobDefinitionError(`allowed lateness must be a non-negative number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

export function checkWindowAssigner(assigner: WindowAssigner): WindowAssigner {
  if (assigner === null || typeof assigner !== 'object' || typeof assigner.assignWindows !== 'function') {
    throw new JobDefinitionError('window() needs a WindowAssigner, e.g. TumblingEventTimeWindows.of(Time.seconds(10))');
  }
  return assigner;
}

/** @internal Adds the window node; validates combinations the runtime could not execute. */
export function addWindowNode<O>(settings: WindowSettings, fn: WindowFunctionSpec): SingleOutputStreamOperator<O> {
  if (fn.type === 'aggregate' && settings.assigner.isMerging && typeof fn.aggregate.merge !== 'function') {
    throw new JobDefinitionError(
      `${settings.assigner.describe()} merge windows, so their accumulators must merge too; ` +
        `give the AggregateFunction a merge(a, b) method`,
    );
  }
  const fnName = fn.type === 'reduce' ? 'Reduce' : fn.type === 'aggregate' ? 'Aggregate' : 'Process';
  const node = settings.builder.addNode(
    {
      name: `${settings.label}(${settings.assigner.describe()}, ${fnName})`,
      spec: {
        kind: 'window',
        keySelector: settings.keySelector,
        assigner: settings.assigner,
        allowedLatenessMs: settings.allowedLatenessMs,
        ...(settings.lateDataTag === undefined ? {} : { lateDataTag: settings.lateDataTag }),
        function: fn,
      },
      ...(settings.nonParallelReason === undefined ? {} : { nonParallelReason: settings.nonParallelReason }),
    },
    [{ inputs: settings.inputs, inputIndex: 0 }],
  );
  return new SingleOutputStreamOperator<O>(settings.builder, node);
}

export class WindowedStream<T, K> {
  declare readonly __type?: [T, K];
  private latenessMs = 0;
  private lateTag: string | undefined;

  /** @internal Created by KeyedStream.window. */
  constructor(
    private readonly builder: GraphBuilder,
    private readonly inputs: readonly StreamInput[],
    private readonly keySelector: KeySelector<T, K>,
    readonly assigner: WindowAssigner,
  ) {
    checkWindowAssigner(assigner);
  }

  /** Keep windows (and re-fire them for late records) until the watermark passes end + lateness. */
  allowedLateness(ms: number): this {
    this.latenessMs = checkAllowedLateness(ms);
    return this;
  }

  /** Records too late even for the allowed lateness go to this side output instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateTag = tag.id;
    return this;
  }

  /** Incremental reduce per window; the optional window function sees the single reduced value. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T>;
  reduce<O>(fn: ReduceFunction<T>, windowFn: ProcessWindowFunction<T, O, K>): SingleOutputStreamOperator<O>;
  reduce<O>(fn: ReduceFunction<T>, windowFn?: ProcessWindowFunction<T, O, K>): SingleOutputStreamOperator<O | T> {
    return addWindowNode(this.settings(), windowFn === undefined ? { type: 'reduce', reduce: fn } : { type: 'reduce', reduce: fn, window: windowFn });
  }

  /** Incremental aggregation per window; the optional window function sees the single result. */
  aggregate<ACC, R>(fn: AggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn: ProcessWindowFunction<V, R, K>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn?: ProcessWindowFunction<V, R, K>): SingleOutputStreamOperator<V | R> {
    return addWindowNode(
      this.settings(),
      windowFn === undefined ? { type: 'aggregate', aggregate: fn } : { type: 'aggregate', aggregate: fn, window: windowFn },
    );
  }

  /** Buffers all elements of a window and hands them to the function when it fires. */
  process<O>(fn: ProcessWindowFunction<T, O, K>): SingleOutputStreamOperator<O> {
    return addWindowNode(this.settings(), { type: 'process', window: fn });
  }

  private settings(): WindowSettings {
    return {
      builder: this.builder,
      inputs: this.inputs,
      keySelector: this.keySelector as KeySelector<unknown, unknown>,
      assigner: this.assigner,
      allowedLatenessMs: this.latenessMs,
      lateDataTag: this.lateTag,
      label: 'Window',
    };
  }
}
