/**
 * User function contracts. Simple transformations are plain functions; functions with a
 * lifecycle, state or timers are objects (class instances or literals) with optional
 * `open`/`close`. Every method runs on one worker thread at a time, so no locking is needed.
 */
import type { OutputTag } from './output-tag.js';
import type { RuntimeContext } from './state.js';
import type { TimeWindow } from './windows.js';

export type MapFunction<I, O> = (value: I) => O;
export type FilterFunction<T> = (value: T) => boolean;
export type FlatMapFunction<I, O> = (value: I, out: Collector<O>) => void;
export type KeySelector<T, K> = (value: T) => K;
export type ReduceFunction<T> = (a: T, b: T) => T;

export interface Collector<T> {
  collect(value: T): void;
}

export interface AggregateFunction<I, ACC, O> {
  createAccumulator(): ACC;
  add(value: I, accumulator: ACC): ACC;
  getResult(accumulator: ACC): O;
  /** Needed by merging (session) windows. */
  merge?(a: ACC, b: ACC): ACC;
}

export interface Lifecycle {
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export type TimeDomain = 'event' | 'processing';

export interface TimerService {
  currentProcessingTime(): number;
  /** −Infinity until the first watermark arrives. */
  currentWatermark(): number;
  registerEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

export interface ProcessContext {
  /** The event timestamp of the current record, if it has one. */
  timestamp(): number | undefined;
  timerService(): TimerService;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): TimeDomain;
}

/** Non-keyed process function; timers need a keyed stream, so `timerService()` only reads time here. */
export interface ProcessFunction<I, O> extends Lifecycle {
  processElement(value: I, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedProcessFunction<K, I, O> extends Lifecycle {
  processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

export interface CoProcessFunction<I1, I2, O> extends Lifecycle {
  processElement1(value: I1, ctx: ProcessContext, out: Collector<O>): void;
  processElement2(value: I2, ctx: ProcessContext, out: Collector<O>): void;
}

export interface KeyedCoProcessFunction<K, I1, I2, O> extends Lifecycle {
  processElement1(value: I1, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  processElement2(value: I2, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

export interface WindowContext<W = TimeWindow> {
  window(): W;
  currentWatermark(): number;
  currentProcessingTime(): number;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface ProcessWindowFunction<I, O, K, W = TimeWindow> extends Lifecycle {
  process(key: K, ctx: WindowContext<W>, elements: Iterable<I>, out: Collector<O>): void;
}

/** The window function of `windowAll`: like ProcessWindowFunction, without a key. */
export interface ProcessAllWindowFunction<I, O, W = TimeWindow> extends Lifecycle {
  process(ctx: WindowContext<W>, elements: Iterable<I>, out: Collector<O>): void;
}
