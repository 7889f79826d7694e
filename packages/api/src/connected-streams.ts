/**
 * Two streams of possibly different types feeding one two-input operator: input 0 is the first
 * stream, input 1 the second. Keyed connected streams hash both sides by their key selectors so
 * records with equal keys meet in the same subtask and share keyed state and timers.
 */
import { JobDefinitionError } from '@sluice/common';
import { SingleOutputStreamOperator, withPartitioner } from './datastream.js';
import type { CoProcessFunction, KeyedCoProcessFunction, KeySelector } from './functions.js';
import type { GraphBuilder, StreamInput } from './graph-builder.js';
import type { OperatorSpec } from './spec.js';

function addTwoInput<O>(
  builder: GraphBuilder,
  name: string,
  spec: OperatorSpec,
  first: readonly StreamInput[],
  second: readonly StreamInput[],
): SingleOutputStreamOperator<O> {
  const node = builder.addNode({ name, spec }, [
    { inputs: first, inputIndex: 0 },
    { inputs: second, inputIndex: 1 },
  ]);
  return new SingleOutputStreamOperator<O>(builder, node);
}

export class ConnectedStreams<A, B> {
  declare readonly __type?: [A, B];

  /** @internal Created by DataStream.connect. */
  constructor(
    private readonly builder: GraphBuilder,
    private readonly first: readonly StreamInput[],
    private readonly second: readonly StreamInput[],
  ) {}

  process<O>(fn: CoProcessFunction<A, B, O>): SingleOutputStreamOperator<O> {
    return addTwoInput<O>(this.builder, 'CoProcess', { kind: 'coProcess', fn }, this.first, this.second);
  }

  keyBy<K>(keySelector1: KeySelector<A, K>, keySelector2: KeySelector<B, K>): KeyedConnectedStreams<A, B, K> {
    if (typeof keySelector1 !== 'function' || typeof keySelector2 !== 'function') {
      throw new JobDefinitionError('ConnectedStreams.keyBy needs two key selector functions, one per input');
    }
    return new KeyedConnectedStreams<A, B, K>(
      this.builder,
      withPartitioner(this.first, { kind: 'hash', keySelector: keySelector1 }),
      withPartitioner(this.second, { kind: 'hash', keySelector: keySelector2 }),
      keySelector1,
      keySelector2,
    );
  }
}

export class KeyedConnectedStreams<A, B, K> {
  declare readonly __type?: [A, B, K];

  /** @internal Inputs must already carry their hash partitioners. */
  constructor(
    private readonly builder: GraphBuilder,
    private readonly first: readonly StreamInput[],
    private readonly second: readonly StreamInput[],
    readonly keySelector1: KeySelector<A, K>,
    readonly keySelector2: KeySelector<B, K>,
  ) {}

  /** A plain CoProcessFunction also fits here: it simply ignores the key. */
  process<O>(fn: KeyedCoProcessFunction<K, A, B, O>): SingleOutputStreamOperator<O> {
    const spec: OperatorSpec = { kind: 'keyedCoProcess', keySelector1: this.keySelector1, keySelector2: this.keySelector2, fn };
    return addTwoInput<O>(this.builder, 'KeyedCoProcess', spec, this.first, this.second);
  }
}
