/**
 * Keyed state: descriptors (what the user declares in `open`) and the state handles (what they
 * read and write while processing). State is scoped to the current key, and stored per key group
 * so it can be snapshotted and redistributed on rescale.
 */
import type { AggregateFunction, ReduceFunction } from './functions.js';
import type { MetricGroup } from './metrics.js';

export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface ListState<T> {
  /** The current list (a copy-free view; do not mutate it). Empty when unset. */
  get(): readonly T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  update(values: readonly T[]): void;
  clear(): void;
}

export interface MapState<UK, UV> {
  get(key: UK): UV | undefined;
  put(key: UK, value: UV): void;
  putAll(entries: Iterable<readonly [UK, UV]>): void;
  remove(key: UK): void;
  contains(key: UK): boolean;
  entries(): IterableIterator<[UK, UV]>;
  keys(): IterableIterator<UK>;
  values(): IterableIterator<UV>;
  isEmpty(): boolean;
  clear(): void;
}

export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

export interface AggregatingState<I, O> {
  get(): O | undefined;
  add(value: I): void;
  clear(): void;
}

export class ValueStateDescriptor<T> {
  readonly kind = 'value' as const;
  constructor(readonly name: string, readonly defaultValue?: T) {}
}

export class ListStateDescriptor<T> {
  readonly kind = 'list' as const;
  declare readonly __type?: T;
  constructor(readonly name: string) {}
}

export class MapStateDescriptor<UK, UV> {
  readonly kind = 'map' as const;
  declare readonly __type?: [UK, UV];
  constructor(readonly name: string) {}
}

export class ReducingStateDescriptor<T> {
  readonly kind = 'reducing' as const;
  constructor(readonly name: string, readonly reduce: ReduceFunction<T>) {}
}

export class AggregatingStateDescriptor<I, ACC, O> {
  readonly kind = 'aggregating' as const;
  constructor(readonly name: string, readonly aggregate: AggregateFunction<I, ACC, O>) {}
}

export type StateDescriptor =
  | ValueStateDescriptor<any>
  | ListStateDescriptor<any>
  | MapStateDescriptor<any, any>
  | ReducingStateDescriptor<any>
  | AggregatingStateDescriptor<any, any, any>;

export interface TaskInfo {
  taskName: string;
  /** The job's name (`env.setJobName`), where the runtime knows it. */
  jobName?: string;
  /**
   * The id of this run of the job, where the runtime knows it: the same across its restarts,
   * new when a job is resumed from a checkpoint or savepoint (a source can tell what its own run
   * decided from what a resumed checkpoint carries).
   */
  jobId?: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  attempt: number;
}

/** What `open(ctx)` receives. Keyed state getters throw on non-keyed streams. */
export interface RuntimeContext {
  getTaskInfo(): TaskInfo;
  /** The job's `-D key=value` parameters. */
  getParams(): Readonly<Record<string, string>>;
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<UK, UV>(descriptor: MapStateDescriptor<UK, UV>): MapState<UK, UV>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<I, ACC, O>(descriptor: AggregatingStateDescriptor<I, ACC, O>): AggregatingState<I, O>;
  /** This operator's custom metrics (see MetricGroup); define them in `open`. */
  getMetricGroup(): MetricGroup;
}
