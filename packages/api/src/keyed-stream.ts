/**
 * KeyedStream: a stream partitioned by key. Its inputs already carry the hash partitioner, so
 * every keyed operator built from it reads records grouped by key group, and its keyed state
 * and timers are scoped to the current key.
 */
import { JobDefinitionError } from '@sluice/common';
import { KeyedConnectedStreams } from './connected-streams.js';
import { SingleOutputStreamOperator } from './datastream.js';
import type { AggregateFunction, KeyedProcessFunction, KeySelector, ReduceFunction } from './functions.js';
import type { GraphBuilder, StreamInput } from './graph-builder.js';
import type { OperatorSpec } from './spec.js';
import type { WindowAssigner } from './windows.js';
import { WindowedStream } from './windowed-stream.js';

export class KeyedStream<T, K> {
  declare readonly __type?: [T, K];
  /** @internal */
  readonly builder: GraphBuilder;
  /** @internal Inputs with the hash partitioner set. */
  readonly inputs: readonly StreamInput[];
  readonly keySelector: KeySelector<T, K>;

  /** @internal Created by DataStream.keyBy. */
  constructor(builder: GraphBuilder, inputs: readonly StreamInput[], keySelector: KeySelector<T, K>) {
    this.builder = builder;
    this.inputs = inputs;
    this.keySelector = keySelector;
  }

  /** Rolling reduce: emits the key's new reduced value for every input record. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T> {
    return this.keyedTransform<T>('Keyed Reduce', { kind: 'reduce', keySelector: this.keySelector, fn });
  }

  /** Rolling aggregate: emits getResult(accumulator) of the key for every input record. */
  aggregate<ACC, O>(fn: AggregateFunction<T, ACC, O>): SingleOutputStreamOperator<O> {
    return this.keyedTransform<O>('Keyed Aggregate', { kind: 'aggregate', keySelector: this.keySelector, fn });
  }

  process<O>(fn: KeyedProcessFunction<K, T, O>): SingleOutputStreamOperator<O> {
    return this.keyedTransform<O>('KeyedProcess', { kind: 'keyedProcess', keySelector: this.keySelector, fn });
  }

  window(assigner: WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.builder, this.inputs, this.keySelector, assigner);
  }

  /** Pairs two keyed streams with the same key type, for a KeyedCoProcessFunction. */
  connect<B>(other: KeyedStream<B, K>): KeyedConnectedStreams<T, B, K> {
    if (!(other instanceof KeyedStream)) {
      throw new JobDefinitionError('a keyed stream can only be connected to another keyed stream; call keyBy on the other stream first');
    }
    if (other.builder !== this.builder) {
      throw new JobDefinitionError('cannot connect streams of two different StreamExecutionEnvironments; build the job on one environment');
    }
    return new KeyedConnectedStreams<T, B, K>(this.builder, this.inputs, other.inputs, this.keySelector, other.keySelector);
  }

  private keyedTransform<O>(name: string, spec: OperatorSpec): SingleOutputStreamOperator<O> {
    const node = this.builder.addNode({ name, spec }, [{ inputs: this.inputs, inputIndex: 0 }]);
    return new SingleOutputStreamOperator<O>(this.builder, node);
  }
}
