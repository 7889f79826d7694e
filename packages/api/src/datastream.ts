/**
 * DataStream and SingleOutputStreamOperator: the typed handles job code chains calls on. A
 * DataStream is a list of inputs (operator outputs with optional partitioner and side-output
 * tag); every transformation adds one StreamNode whose input edges come from that list.
 * Partitioning, union and side outputs add no node: they only shape the next node's edges.
 */
import { JobDefinitionError } from '@sluice/common';
import type { PartitionerKind } from '@sluice/protocol';
import { AllWindowedStream } from './all-windowed-stream.js';
import { ConnectedStreams } from './connected-streams.js';
import { DataStreamSink } from './datastream-sink.js';
import type { FilterFunction, FlatMapFunction, KeySelector, MapFunction, ProcessFunction } from './functions.js';
import type { GraphBuilder, NodeDraft, NodeInit, StreamInput } from './graph-builder.js';
import { KeyedStream } from './keyed-stream.js';
import type { OutputTag } from './output-tag.js';
import type { TypeSerializer } from './serializer.js';
import type { Sink } from './sink.js';
import type { OperatorSpec, PartitionerSpec } from './spec.js';
import type { WatermarkStrategy } from './watermarks.js';
import type { WindowAssigner } from './windows.js';

export class DataStream<T> {
  /** Phantom field so that DataStream<A> and DataStream<B> are distinct types. */
  declare readonly __type?: T;

  /** @internal The environment's graph under construction. */
  readonly builder: GraphBuilder;
  /** @internal Where this stream's records come from. */
  readonly inputs: readonly StreamInput[];

  /** @internal Streams are created by the environment and by transformations, not by job code. */
  constructor(builder: GraphBuilder, inputs: readonly StreamInput[]) {
    this.builder = builder;
    this.inputs = inputs;
  }

  map<O>(fn: MapFunction<T, O>): SingleOutputStreamOperator<O> {
    return this.transform<O>('Map', { kind: 'map', fn });
  }

  flatMap<O>(fn: FlatMapFunction<T, O>): SingleOutputStreamOperator<O> {
    return this.transform<O>('FlatMap', { kind: 'flatMap', fn });
  }

  /** Keeps the records `fn` accepts; with a type guard, the stream is typed by what it keeps. */
  filter<S extends T>(fn: (value: T) => value is S): SingleOutputStreamOperator<S>;
  filter(fn: FilterFunction<T>): SingleOutputStreamOperator<T>;
  filter(fn: FilterFunction<T>): SingleOutputStreamOperator<T> {
    return this.transform<T>('Filter', { kind: 'filter', fn });
  }

  process<O>(fn: ProcessFunction<T, O>): SingleOutputStreamOperator<O> {
    return this.transform<O>('Process', { kind: 'process', fn });
  }

  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    return this.transform<T>('Timestamps/Watermarks', { kind: 'timestampsAndWatermarks', watermarks: strategy });
  }

  /** Partitions by key: each key's records go to the subtask that owns the key's key group. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof keySelector !== 'function') throw new JobDefinitionError('keyBy needs a key selector function (record) => key');
    const partitioner: PartitionerSpec = { kind: 'hash', keySelector };
    return new KeyedStream<T, K>(this.builder, withPartitioner(this.inputs, partitioner), keySelector);
  }

  /** Merges streams of the same type; the next operator reads all of them as one input. */
  union(...others: DataStream<T>[]): DataStream<T> {
    for (const other of others) this.checkSameJob(other, 'union');
    return new DataStream<T>(this.builder, [...this.inputs, ...others.flatMap((o) => o.inputs)]);
  }

  /** Pairs two streams for a two-input operator (CoProcessFunction); `keyBy` them for keyed state. */
  connect<B>(other: DataStream<B>): ConnectedStreams<T, B> {
    this.checkSameJob(other, 'connect');
    return new ConnectedStreams<T, B>(this.builder, this.inputs, other.inputs);
  }

  /** Round-robin over all downstream subtasks. */
  rebalance(): DataStream<T> {
    return this.partitionWith('rebalance');
  }

  /** Round-robin over a local subset of downstream subtasks (fewer channels than rebalance). */
  rescale(): DataStream<T> {
    return this.partitionWith('rescale');
  }

  /** Every record to every downstream subtask. */
  broadcast(): DataStream<T> {
    return this.partitionWith('broadcast');
  }

  /** Subtask i to subtask i; needs equal parallelism and lets the two operators chain. */
  forward(): DataStream<T> {
    return this.partitionWith('forward');
  }

  /** Every record to the first downstream subtask. */
  global(): DataStream<T> {
    return this.partitionWith('global');
  }

  /** A window over the whole stream: runs as a single subtask (a keyed window with one key). */
  windowAll(assigner: WindowAssigner): AllWindowedStream<T> {
    return new AllWindowedStream<T>(this.builder, withPartitioner(this.inputs, { kind: 'global' }), assigner);
  }

  sinkTo(sink: Sink<T>): DataStreamSink<T> {
    return this.addSink(`Sink: ${sink.describe?.() ?? 'Sink'}`, { kind: 'sink', sink });
  }

  /** Prints each record to stdout, prefixed by `prefix` and (when parallel) the subtask index. */
  print(prefix = ''): DataStreamSink<T> {
    return this.addSink('Sink: Print to stdout', { kind: 'print', prefix, stderr: false });
  }

  printToErr(prefix = ''): DataStreamSink<T> {
    return this.addSink('Sink: Print to stderr', { kind: 'print', prefix, stderr: true });
  }

  /** Appends one JSON line per record to `<directoryPath>/part-<subtask>`. */
  writeAsJsonLines(directoryPath: string): DataStreamSink<T> {
    if (typeof directoryPath !== 'string' || directoryPath.length === 0) {
      throw new JobDefinitionError('writeAsJsonLines needs a directory path; each subtask writes part-<subtask> in it');
    }
    return this.addSink(`Sink: JsonLines(${directoryPath})`, { kind: 'file', path: directoryPath });
  }

  /** Ships records to the client, where they appear under `name` in the job result. */
  collect(name: string): DataStreamSink<T> {
    this.builder.registerCollectName(name);
    return this.addSink(`Sink: Collect(${name})`, { kind: 'collect', name });
  }

  /** @internal Adds a one-input operator reading this stream. */
  transform<O>(name: string, spec: OperatorSpec, extra: Omit<NodeInit, 'name' | 'spec'> = {}): SingleOutputStreamOperator<O> {
    const node = this.builder.addNode({ name, spec, ...extra }, [{ inputs: this.inputs, inputIndex: 0 }]);
    return new SingleOutputStreamOperator<O>(this.builder, node);
  }

  private addSink(name: string, spec: OperatorSpec): DataStreamSink<T> {
    const node = this.builder.addNode({ name, spec }, [{ inputs: this.inputs, inputIndex: 0 }]);
    return new DataStreamSink<T>(this.builder, node);
  }

  private partitionWith(kind: Exclude<PartitionerKind, 'hash'>): DataStream<T> {
    return new DataStream<T>(this.builder, withPartitioner(this.inputs, { kind }));
  }

  private checkSameJob(other: { readonly builder: GraphBuilder }, operation: string): void {
    if (other.builder !== this.builder) {
      throw new JobDefinitionError(`cannot ${operation} streams of two different StreamExecutionEnvironments; build the job on one environment`);
    }
  }
}

/** The result of one operator: the stream plus the knobs of the operator that produced it. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  /** @internal */
  readonly node: NodeDraft;

  /** @internal */
  constructor(builder: GraphBuilder, node: NodeDraft) {
    super(builder, [{ nodeId: node.id }]);
    this.node = node;
  }

  /** The StreamGraph node id of this operator (stable across rebuilds of the same job). */
  get nodeId(): number {
    return this.node.id;
  }

  name(name: string): this {
    this.builder.setName(this.node, name);
    return this;
  }

  /** A stable id for the operator's state in savepoints; unique within the job. */
  uid(uid: string): this {
    this.builder.setUid(this.node, uid);
    return this;
  }

  setParallelism(parallelism: number): this {
    this.builder.setParallelism(this.node, parallelism);
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.builder.setMaxParallelism(this.node, maxParallelism);
    return this;
  }

  /** How this operator's output is written when it crosses a thread (default: the runtime's). */
  withSerializer(serializer: TypeSerializer<T>): this {
    this.node.serializer = serializer as TypeSerializer<unknown>;
    return this;
  }

  /** Run this operator in its own chain: neither joined to its input nor joined by its outputs. */
  disableChaining(): this {
    this.node.chaining = 'never';
    return this;
  }

  /** Start a new chain here: outputs may still chain to this operator. */
  startNewChain(): this {
    this.node.chaining = 'head';
    return this;
  }

  /** The records this operator emitted to `tag` (ctx.output(tag, value), or late window data). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    return new DataStream<X>(this.builder, [{ nodeId: this.node.id, sideOutputTag: tag.id }]);
  }
}

/** @internal Replaces the partitioner of every input (the last partitioning call wins, as in Flink). */
export function withPartitioner(inputs: readonly StreamInput[], partitioner: PartitionerSpec): StreamInput[] {
  return inputs.map((i) => ({ ...i, partitioner }));
}
