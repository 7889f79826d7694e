/**
 * AllWindowedStream: windows over a whole, unkeyed stream. It runs as the keyed window operator
 * with one constant key (0) and a single subtask, so the runtime needs no second window
 * implementation; all records reach that subtask through a 'global' edge.
 */
import type { SingleOutputStreamOperator } from './datastream.js';
import type {
  AggregateFunction,
  Collector,
  ProcessAllWindowFunction,
  ProcessWindowFunction,
  ReduceFunction,
  WindowContext,
} from './functions.js';
import type { GraphBuilder, StreamInput } from './graph-builder.js';
import type { OutputTag } from './output-tag.js';
import type { RuntimeContext } from './state.js';
import { addWindowNode, checkAllowedLateness, checkWindowAssigner, type WindowSettings } from './windowed-stream.js';
import type { WindowAssigner } from './windows.js';

const ALL_KEY = 0;
const constantKey = (): number => ALL_KEY;

/** Presents a key-less window function to the keyed window operator, forwarding its lifecycle. */
export class AllWindowFunctionAdapter<I, O> implements ProcessWindowFunction<I, O, number> {
  constructor(readonly inner: ProcessAllWindowFunction<I, O>) {}
  open(ctx: RuntimeContext): void | Promise<void> {
    return this.inner.open?.(ctx);
  }
  close(): void | Promise<void> {
    return this.inner.close?.();
  }
  process(_key: number, ctx: WindowContext, elements: Iterable<I>, out: Collector<O>): void {
    this.inner.process(ctx, elements, out);
  }
}

export class AllWindowedStream<T> {
  declare readonly __type?: T;
  private latenessMs = 0;
  private lateTag: string | undefined;

  /** @internal Created by DataStream.windowAll; inputs already carry the global partitioner. */
  constructor(
    private readonly builder: GraphBuilder,
    private readonly inputs: readonly StreamInput[],
    readonly assigner: WindowAssigner,
  ) {
    checkWindowAssigner(assigner);
  }

  allowedLateness(ms: number): this {
    this.latenessMs = checkAllowedLateness(ms);
    return this;
  }

  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateTag = tag.id;
    return this;
  }

  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T>;
  reduce<O>(fn: ReduceFunction<T>, windowFn: ProcessAllWindowFunction<T, O>): SingleOutputStreamOperator<O>;
  reduce<O>(fn: ReduceFunction<T>, windowFn?: ProcessAllWindowFunction<T, O>): SingleOutputStreamOperator<O | T> {
    return addWindowNode(
      this.settings(),
      windowFn === undefined ? { type: 'reduce', reduce: fn } : { type: 'reduce', reduce: fn, window: new AllWindowFunctionAdapter(windowFn) },
    );
  }

  aggregate<ACC, R>(fn: AggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn: ProcessAllWindowFunction<V, R>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn?: ProcessAllWindowFunction<V, R>): SingleOutputStreamOperator<V | R> {
    return addWindowNode(
      this.settings(),
      windowFn === undefined
        ? { type: 'aggregate', aggregate: fn }
        : { type: 'aggregate', aggregate: fn, window: new AllWindowFunctionAdapter(windowFn) },
    );
  }

  process<O>(fn: ProcessAllWindowFunction<T, O>): SingleOutputStreamOperator<O> {
    return addWindowNode(this.settings(), { type: 'process', window: new AllWindowFunctionAdapter(fn) });
  }

  private settings(): WindowSettings {
    return {
      builder: this.builder,
      inputs: this.inputs,
      keySelector: constantKey,
      assigner: this.assigner,
      allowedLatenessMs: this.latenessMs,
      lateDataTag: this.lateTag,
      label: 'WindowAll',
      nonParallelReason: 'windowAll sees the whole stream and runs as a single subtask',
    };
  }
}
