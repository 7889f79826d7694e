import { JobDefinitionError } from '@sluice/common';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { DataStream, SingleOutputStreamOperator } from './datastream.js';
import { StreamExecutionEnvironment } from './environment.js';
import type { Collector, KeyedProcessContext, ProcessContext, WindowContext } from './functions.js';
import type { KeyedStream } from './keyed-stream.js';
import { OutputTag } from './output-tag.js';
import type { OperatorSpec, StreamEdge } from './spec.js';
import type { StreamGraph } from './streamgraph.js';
import { WatermarkStrategy } from './watermarks.js';
import { EventTimeSessionWindows, TumblingEventTimeWindows } from './windows.js';

interface Txn {
  account: string;
  amount: number;
  ts: number;
}

const txns: Txn[] = [
  { account: 'a', amount: 10, ts: 1 },
  { account: 'b', amount: 20, ts: 2 },
];

function spec<K extends OperatorSpec['kind']>(graph: StreamGraph, id: number, kind: K): Extract<OperatorSpec, { kind: K }> {
  const s = graph.getNode(id).spec;
  expect(s.kind).toBe(kind);
  return s as Extract<OperatorSpec, { kind: K }>;
}

function edgesInto(graph: StreamGraph, id: number): readonly StreamEdge[] {
  return graph.inEdges(id);
}

describe('DataStream graph building', () => {
  it('adds one node per operation, with ids in creation order and the user functions in the specs', () => {
    const env = new StreamExecutionEnvironment();
    const toAmount = (t: Txn): number => t.amount;
    const big = (n: number): boolean => n > 15;
    env.fromCollection(txns).map(toAmount).filter(big).print('> ');
    const g = env.getStreamGraph();
    expect([...g.nodes.keys()]).toEqual([1, 2, 3, 4]);
    expect([...g.nodes.values()].map((n) => n.name)).toEqual(['Source: Collection', 'Map', 'Filter', 'Sink: Print to stdout']);
    expect(spec(g, 2, 'map').fn).toBe(toAmount);
    expect(spec(g, 3, 'filter').fn).toBe(big);
    expect(spec(g, 4, 'print')).toEqual({ kind: 'print', prefix: '> ', stderr: false });
    expect(g.edges.map((e) => [e.sourceId, e.targetId, e.partitioner.kind])).toEqual([
      [1, 2, 'forward'],
      [2, 3, 'forward'],
      [3, 4, 'forward'],
    ]);
  });

  it('carries the element type from one operator to the next', () => {
    const env = new StreamExecutionEnvironment();
    const amounts = env.fromCollection(txns).map((t) => ({ id: t.account, cents: t.amount * 100 }));
    expectTypeOf(amounts).toEqualTypeOf<SingleOutputStreamOperator<{ id: string; cents: number }>>();
    const words = amounts.flatMap((v, out: Collector<string>) => out.collect(v.id));
    expectTypeOf(words).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    // A filter with a type guard narrows the type; a plain predicate keeps it.
    const mixed = env.fromCollection<string | number>(['a', 1, 'b']);
    expectTypeOf(mixed.filter((v): v is string => typeof v === 'string')).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(mixed.filter((v) => v !== 1)).toEqualTypeOf<SingleOutputStreamOperator<string | number>>();
    const keyed = amounts.keyBy((v) => v.id);
    expectTypeOf(keyed).toEqualTypeOf<KeyedStream<{ id: string; cents: number }, string>>();
    const lengths = keyed.process({
      processElement(v, ctx: KeyedProcessContext<string>, out: Collector<number>) {
        expectTypeOf(ctx.getCurrentKey()).toEqualTypeOf<string>();
        out.collect(v.cents);
      },
    });
    expectTypeOf(lengths).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    const summed = env
      .fromSequence(1, 10)
      .keyBy((n) => n % 2 === 0)
      .window(TumblingEventTimeWindows.of(10))
      .aggregate(
        { createAccumulator: () => 0, add: (v: number, acc: number) => acc + v, getResult: (acc: number) => `${acc}` },
        {
          process(key: boolean, _ctx: WindowContext, elements: Iterable<string>, out: Collector<[boolean, string]>) {
            for (const e of elements) out.collect([key, e]);
          },
        },
      );
    expectTypeOf(summed).toEqualTypeOf<SingleOutputStreamOperator<[boolean, string]>>();
    // @ts-expect-error a string stream cannot be unioned with a number stream
    words.union(lengths);
    lengths.print();
    words.print();
    summed.print();
  });

  it('keyBy puts a hash partitioner with the key selector on the edge into the keyed operator', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const byAccount = (t: Txn): string => t.account;
    const sum = (a: Txn, b: Txn): Txn => ({ ...a, amount: a.amount + b.amount });
    env.fromCollection(txns).keyBy(byAccount).reduce(sum).collect('sums');
    const g = env.getStreamGraph();
    const reduce = spec(g, 2, 'reduce');
    expect(reduce.keySelector).toBe(byAccount);
    expect(reduce.fn).toBe(sum);
    const [edge] = edgesInto(g, 2);
    expect(edge?.partitioner.kind).toBe('hash');
    expect(edge?.partitioner.kind === 'hash' && edge.partitioner.keySelector).toBe(byAccount);
  });

  it('builds window nodes with key selector, assigner, lateness, late-data tag and function', () => {
    const env = new StreamExecutionEnvironment();
    const late = new OutputTag<Txn>('late-txns');
    const assigner = TumblingEventTimeWindows.of(1000);
    const key = (t: Txn): string => t.account;
    const reduce = (a: Txn, b: Txn): Txn => (a.amount >= b.amount ? a : b);
    const windowed = env
      .fromCollection(txns)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Txn>(5).withTimestampAssigner((t) => t.ts))
      .keyBy(key)
      .window(assigner)
      .allowedLateness(250)
      .sideOutputLateData(late)
      .reduce(reduce);
    windowed.print();
    const lateStream = windowed.getSideOutput(late);
    expectTypeOf(lateStream).toEqualTypeOf<DataStream<Txn>>();
    lateStream.collect('late');
    const g = env.getStreamGraph();
    expect(spec(g, 2, 'timestampsAndWatermarks').watermarks.maxOutOfOrdernessMs).toBe(5);
    const w = spec(g, 3, 'window');
    expect(w.keySelector).toBe(key);
    expect(w.assigner).toBe(assigner);
    expect(w.allowedLatenessMs).toBe(250);
    expect(w.lateDataTag).toBe('late-txns');
    expect(w.function).toEqual({ type: 'reduce', reduce });
    expect(g.getNode(3).name).toBe('Window(TumblingEventTimeWindows(1000), Reduce)');
    const sideEdge = edgesInto(g, 5)[0];
    expect(sideEdge).toMatchObject({ sourceId: 3, targetId: 5, sideOutputTag: 'late-txns' });
    expect(edgesInto(g, 4)[0]?.sideOutputTag).toBeUndefined();
  });

  it('rejects an aggregate without merge on merging (session) windows', () => {
    const env = new StreamExecutionEnvironment();
    const windowed = env.fromElements(1, 2, 3).keyBy((n) => n).window(EventTimeSessionWindows.withGap(100));
    const agg = { createAccumulator: () => 0, add: (v: number, a: number) => a + v, getResult: (a: number) => a };
    expect(() => windowed.aggregate(agg)).toThrow(/merge\(a, b\)/);
    expect(() => windowed.aggregate({ ...agg, merge: (a: number, b: number) => a + b })).not.toThrow();
  });

  it('windowAll runs one subtask behind a global edge, with a constant key and the key-less function adapted', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    const all = env
      .fromSequence(1, 100)
      .windowAll(TumblingEventTimeWindows.of(10))
      .process<number>({
        process(_ctx, elements, out) {
          out.collect([...elements].length);
        },
      });
    all.print();
    const g = env.getStreamGraph();
    const node = g.getNode(2);
    expect(node.parallelism).toBe(1);
    expect(edgesInto(g, 2)[0]?.partitioner.kind).toBe('global');
    const w = spec(g, 2, 'window');
    expect(w.keySelector({ anything: true })).toBe(0);
    expect(w.function.type).toBe('process');
    // The runtime calls the keyed signature; the adapter drops the key and forwards the elements.
    const collected: number[] = [];
    w.function.window?.process(0, {} as WindowContext, [7, 8, 9], { collect: (v: number) => collected.push(v) });
    expect(collected).toEqual([3]);
    expect(() => all.setParallelism(2)).toThrow(JobDefinitionError);
    expect(() => all.setParallelism(2)).toThrow(/single subtask/);
  });

  it('union feeds one node from several inputs; partitioning calls add no node but shape the edges', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const a = env.fromSequence(1, 10);
    const b = env.fromSequence(11, 20).map((n) => n * 2);
    const c = env.fromSequence(21, 30);
    a.union(b.rebalance(), c.broadcast()).rescale().global().map((n) => n + 1).print();
    const g = env.getStreamGraph();
    expect(g.nodes.size).toBe(6);
    const inputs = edgesInto(g, 5);
    expect(inputs.map((e) => e.sourceId)).toEqual([1, 3, 4]);
    // The last partitioning call wins for every input of the union.
    expect(inputs.map((e) => e.partitioner.kind)).toEqual(['global', 'global', 'global']);
    expect(inputs.every((e) => e.inputIndex === 0)).toBe(true);
  });

  it('connect makes a two-input node; keyed connect hashes each side by its own key', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const rules = env.fromElements({ account: 'a', limit: 5 });
    const payments = env.fromCollection(txns);
    const k1 = (t: Txn): string => t.account;
    const k2 = (r: { account: string }): string => r.account;
    const alerts = payments.keyBy(k1).connect(rules.keyBy(k2)).process<string>({
      processElement1(t, ctx: KeyedProcessContext<string>, out) {
        out.collect(`${ctx.getCurrentKey()}:${t.amount}`);
      },
      processElement2() {},
    });
    alerts.print();
    const plain = payments.connect(rules).process<number>({
      processElement1(t: Txn, _ctx: ProcessContext, out: Collector<number>) {
        out.collect(t.amount);
      },
      processElement2(r, _ctx, out) {
        out.collect(r.limit);
      },
    });
    plain.collect('plain');
    const g = env.getStreamGraph();
    const keyed = spec(g, 3, 'keyedCoProcess');
    expect(keyed.keySelector1).toBe(k1);
    expect(keyed.keySelector2).toBe(k2);
    const keyedInputs = edgesInto(g, 3);
    expect(keyedInputs.map((e) => [e.sourceId, e.inputIndex, e.partitioner.kind])).toEqual([
      [2, 0, 'hash'],
      [1, 1, 'hash'],
    ]);
    expect(keyedInputs[1]?.partitioner.kind === 'hash' && keyedInputs[1].partitioner.keySelector).toBe(k2);
    expect(spec(g, 5, 'coProcess').fn).toBeDefined();
    expect(edgesInto(g, 5).map((e) => [e.sourceId, e.inputIndex, e.partitioner.kind])).toEqual([
      [2, 0, 'rebalance'],
      [1, 1, 'rebalance'],
    ]);
  });

  it('ConnectedStreams.keyBy gives the same keyed two-input operator as connecting keyed streams', () => {
    const env = new StreamExecutionEnvironment();
    const a = env.fromElements('x', 'y');
    const b = env.fromElements(1, 2);
    a.connect(b)
      .keyBy((s) => s, (n) => String(n))
      .process<string>({ processElement1() {}, processElement2() {} })
      .print();
    const g = env.getStreamGraph();
    expect(spec(g, 3, 'keyedCoProcess').keySelector2(2)).toBe('2');
    expect(edgesInto(g, 3).map((e) => e.partitioner.kind)).toEqual(['hash', 'hash']);
  });

  it('operator knobs land on the node: name, uid, parallelism, max parallelism, serializer, chaining', () => {
    const env = new StreamExecutionEnvironment();
    const serializer = { serialize: () => {}, deserialize: () => 0 };
    const m = env
      .fromSequence(1, 5)
      .map((n) => n)
      .name('identity')
      .uid('identity-v1')
      .setParallelism(3)
      .setMaxParallelism(64)
      .withSerializer(serializer)
      .startNewChain();
    m.filter(() => true).disableChaining().print().name('out').uid('printer').setParallelism(3);
    const g = env.getStreamGraph();
    expect(g.getNode(2)).toMatchObject({
      name: 'identity',
      uid: 'identity-v1',
      parallelism: 3,
      maxParallelism: 64,
      parallelismSet: true,
      chaining: 'head',
    });
    expect(g.getNode(2).serializer).toBe(serializer);
    expect(g.getNode(3)).toMatchObject({ chaining: 'never', parallelismSet: false, parallelism: 1 });
    expect(g.getNode(4)).toMatchObject({ name: 'out', uid: 'printer', parallelism: 3 });
  });

  it('rejects duplicate uids and collect names when they are given', () => {
    const env = new StreamExecutionEnvironment();
    const s = env.fromElements(1).map((n) => n).uid('m');
    expect(() => s.filter(() => true).uid('m')).toThrow(/uid 'm' is already used by 'Map' \(node 2\)/);
    s.collect('out');
    expect(() => s.collect('out')).toThrow(/collect name 'out' is already used/);
    // Re-applying the same uid to the same operator is harmless.
    expect(() => s.uid('m')).not.toThrow();
  });

  it('fromCollection is not parallel', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 4 });
    const src = env.fromCollection([1, 2, 3]);
    expect(() => src.setParallelism(2)).toThrow(/cannot run with parallelism 2: a collection source/);
    src.setParallelism(1).print();
    const g = env.getStreamGraph();
    expect(g.getNode(1).parallelism).toBe(1);
    expect(g.getNode(2).parallelism).toBe(4);
    expect(edgesInto(g, 2)[0]?.partitioner.kind).toBe('rebalance');
  });

  it('rejects mixing streams from two environments', () => {
    const a = new StreamExecutionEnvironment().fromElements(1);
    const b = new StreamExecutionEnvironment().fromElements(2);
    expect(() => a.union(b)).toThrow(/two different StreamExecutionEnvironments/);
    expect(() => a.connect(b)).toThrow(JobDefinitionError);
  });

  it('builds the same graph, ids and edges every time the same job code runs', () => {
    const job = (env: StreamExecutionEnvironment): void => {
      const s = env.fromSequence(0, 99).map((n) => n % 7);
      s.keyBy((n) => n).reduce((a, b) => a + b).uid('sum').print();
      s.filter((n) => n > 3).collect('big');
    };
    const build = (): unknown => {
      const env = new StreamExecutionEnvironment({ parallelism: 3 });
      job(env);
      const g = env.getStreamGraph();
      return {
        nodes: [...g.nodes.values()].map((n) => [n.id, n.name, n.spec.kind, n.uid, n.parallelism]),
        edges: g.edges.map((e) => [e.id, e.sourceId, e.targetId, e.partitioner.kind]),
        job: env.getJobGraph(),
      };
    };
    expect(build()).toEqual(build());
  });
});
