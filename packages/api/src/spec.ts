/**
 * What each StreamGraph node does, as data the runtime interprets. This union is the whole
 * contract between the API (which builds it) and the runtime (which executes it): adding an
 * operator means adding a case here and one in the runtime's operator factory, and the compiler
 * checks both sides.
 */
import type {
  AggregateFunction,
  CoProcessFunction,
  FilterFunction,
  FlatMapFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ProcessFunction,
  ProcessWindowFunction,
  ReduceFunction,
} from './functions.js';
import type { TypeSerializer } from './serializer.js';
import type { Sink } from './sink.js';
import type { Source, SourceSplit } from './source.js';
import type { WatermarkStrategy } from './watermarks.js';
import type { WindowAssigner } from './windows.js';
import type { PartitionerKind } from '@sluice/protocol';

/* eslint-disable @typescript-eslint/no-explicit-any -- specs are heterogeneous by nature */
type Any = any;

export type WindowFunctionSpec =
  | { type: 'reduce'; reduce: ReduceFunction<Any>; window?: ProcessWindowFunction<Any, Any, Any> }
  | { type: 'aggregate'; aggregate: AggregateFunction<Any, Any, Any>; window?: ProcessWindowFunction<Any, Any, Any> }
  | { type: 'process'; window: ProcessWindowFunction<Any, Any, Any> };

export type OperatorSpec =
  | { kind: 'source'; source: Source<Any, SourceSplit>; watermarks: WatermarkStrategy<Any> }
  | { kind: 'map'; fn: MapFunction<Any, Any> }
  | { kind: 'filter'; fn: FilterFunction<Any> }
  | { kind: 'flatMap'; fn: FlatMapFunction<Any, Any> }
  | { kind: 'process'; fn: ProcessFunction<Any, Any> }
  | { kind: 'timestampsAndWatermarks'; watermarks: WatermarkStrategy<Any> }
  /** Rolling reduce per key: emits the new reduced value for every input. */
  | { kind: 'reduce'; keySelector: KeySelector<Any, Any>; fn: ReduceFunction<Any> }
  /** Rolling aggregate per key: emits getResult(acc) for every input. */
  | { kind: 'aggregate'; keySelector: KeySelector<Any, Any>; fn: AggregateFunction<Any, Any, Any> }
  | { kind: 'keyedProcess'; keySelector: KeySelector<Any, Any>; fn: KeyedProcessFunction<Any, Any, Any> }
  | {
      kind: 'window';
      /** For windowAll the key selector returns a constant and parallelism is 1. */
      keySelector: KeySelector<Any, Any>;
      assigner: WindowAssigner;
      allowedLatenessMs: number;
      /** Elements later than the allowed lateness go to this side output; otherwise they are dropped and counted. */
      lateDataTag?: string;
      function: WindowFunctionSpec;
    }
  | { kind: 'coProcess'; fn: CoProcessFunction<Any, Any, Any> }
  | { kind: 'keyedCoProcess'; keySelector1: KeySelector<Any, Any>; keySelector2: KeySelector<Any, Any>; fn: KeyedCoProcessFunction<Any, Any, Any, Any> }
  | { kind: 'sink'; sink: Sink<Any> }
  /** Prints `prefix` + (subtask index + "> " when parallelism > 1) + the record. */
  | { kind: 'print'; prefix: string; stderr: boolean }
  /** Appends one JSON line per record to `<path>/part-<subtask>` (path is a directory). */
  | { kind: 'file'; path: string }
  /** Ships records to the client (JobResult.collected[name]); for tests and debugging. */
  | { kind: 'collect'; name: string };

export type OperatorKind = OperatorSpec['kind'];

export type PartitionerSpec =
  | { kind: Exclude<PartitionerKind, 'hash'> }
  | { kind: 'hash'; keySelector: KeySelector<Any, Any> };

export type ChainingStrategy = 'always' | 'head' | 'never';

export interface StreamNode {
  id: number;
  name: string;
  uid?: string;
  parallelism: number;
  maxParallelism: number;
  spec: OperatorSpec;
  /** 'head': may start a chain but not join its predecessor; 'never': always alone. */
  chaining: ChainingStrategy;
  /** Serializer for this node's output when it crosses a thread; default is the runtime's. */
  serializer?: TypeSerializer<Any>;
  /** Whether the user set the parallelism explicitly (otherwise it follows the env default). */
  parallelismSet: boolean;
}

export interface StreamEdge {
  id: string;
  sourceId: number;
  targetId: number;
  inputIndex: 0 | 1;
  partitioner: PartitionerSpec;
  sideOutputTag?: string;
}
