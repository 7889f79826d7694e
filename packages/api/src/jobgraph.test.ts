import type { JobGraph } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './environment.js';
import type { ProcessContext } from './functions.js';
import { chainLayout, createJobGraph, findStreamNode, findVertexOfNode, outgoingStreamEdges, vertexInputEdges } from './jobgraph.js';
import { OutputTag } from './output-tag.js';

/** Vertices as lists of node ids: the chaining decisions at a glance. */
function chains(jg: JobGraph): number[][] {
  return jg.vertices.map((v) => v.operators.map((o) => o.nodeId));
}

function exchanges(jg: JobGraph): string[] {
  return jg.edges.map((e) => `${e.sourceVertex}-${e.partitioner}->${e.targetVertex}`);
}

describe('chaining', () => {
  it('fuses a forward pipeline with equal parallelism into one vertex', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 3 });
    env.fromSequence(1, 10).map((n) => n + 1).filter((n) => n > 2).print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1, 2, 3, 4]]);
    expect(jg.vertices[0]).toMatchObject({
      id: 'v1',
      name: 'Source: Sequence(1..10) -> Map -> Filter -> Sink: Print to stdout',
      parallelism: 3,
      maxParallelism: 128,
      isSource: true,
      isSink: true,
    });
    expect(jg.edges).toEqual([]);
  });

  it('breaks the chain where parallelism changes, with a rebalance exchange', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.fromSequence(1, 10).map((n) => n).setParallelism(4).filter(() => true).setParallelism(4).print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1], [2, 3], [4]]);
    expect(exchanges(jg)).toEqual(['v1-rebalance->v2', 'v2-rebalance->v3']);
    expect(jg.vertices.map((v) => [v.isSource, v.isSink])).toEqual([
      [true, false],
      [false, false],
      [false, true],
    ]);
  });

  it('breaks the chain at keyBy (hash exchange) and chains what follows the keyed operator', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env
      .fromSequence(1, 10)
      .keyBy((n) => n % 3)
      .reduce((a, b) => a + b)
      .map((n) => `${n}`)
      .print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1], [2, 3, 4]]);
    expect(jg.edges).toEqual([
      { id: 'e1', sourceVertex: 'v1', targetVertex: 'v2', sourceNodeId: 1, targetNodeId: 2, inputIndex: 0, partitioner: 'hash' },
    ]);
  });

  it('does not chain into an operator with several inputs (union)', () => {
    const env = new StreamExecutionEnvironment();
    const a = env.fromSequence(1, 5);
    const b = env.fromSequence(6, 9);
    a.union(b).map((n) => n).print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1], [2], [3, 4]]);
    expect(exchanges(jg)).toEqual(['v1-forward->v3', 'v2-forward->v3']);
  });

  it('chains fan-out: one operator feeding two chained successors', () => {
    const env = new StreamExecutionEnvironment();
    const m = env.fromSequence(1, 5).map((n) => n * 2);
    m.print();
    m.filter((n) => n > 4).collect('big');
    const sg = env.getStreamGraph();
    const jg = createJobGraph(sg);
    expect(chains(jg)).toEqual([[1, 2, 3, 4, 5]]);
    const layout = chainLayout(sg, jg, 'v1');
    expect(layout.map((l) => [l.node.id, l.chainedOutputs.map((e) => e.targetId), l.networkOutputs.length])).toEqual([
      [1, [2], 0],
      [2, [3, 4], 0],
      [3, [], 0],
      [4, [5], 0],
      [5, [], 0],
    ]);
  });

  it('disableChaining isolates an operator; startNewChain only cuts its input', () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromSequence(1, 5)
      .map((n) => n)
      .disableChaining()
      .filter(() => true)
      .map((n) => n)
      .startNewChain()
      .filter(() => true)
      .print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1], [2], [3], [4, 5, 6]]);
    expect(exchanges(jg)).toEqual(['v1-forward->v2', 'v2-forward->v3', 'v3-forward->v4']);
  });

  it('gives a chain the max parallelism of its head, where keyed state lives', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    env.fromSequence(1, 5).keyBy((n) => n).reduce((a, b) => a + b).setMaxParallelism(64).print();
    const jg = env.getJobGraph();
    expect(chains(jg)).toEqual([[1], [2, 3]]);
    expect(jg.vertices.map((v) => v.maxParallelism)).toEqual([128, 64]);
  });

  it('chains side outputs like main outputs and keeps the tag on exchanges', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const odd = new OutputTag<number>('odd');
    const main = env.fromSequence(1, 10).process<number>({
      processElement(n: number, ctx: ProcessContext, out) {
        if (n % 2 === 1) ctx.output(odd, n);
        else out.collect(n);
      },
    });
    main.print();
    main.getSideOutput(odd).collect('odd');
    main.getSideOutput(odd).rebalance().map((n) => -n).setParallelism(3).print().setParallelism(3);
    const sg = env.getStreamGraph();
    const jg = createJobGraph(sg);
    expect(chains(jg)).toEqual([[1, 2, 3, 4], [5, 6]]);
    expect(jg.edges).toEqual([
      {
        id: 'e4',
        sourceVertex: 'v1',
        targetVertex: 'v2',
        sourceNodeId: 2,
        targetNodeId: 5,
        inputIndex: 0,
        partitioner: 'rebalance',
        sideOutputTag: 'odd',
      },
    ]);
    const processLayout = chainLayout(sg, jg, 'v1').find((l) => l.node.id === 2)!;
    expect(processLayout.chainedOutputs.map((e) => [e.targetId, e.sideOutputTag])).toEqual([
      [3, undefined],
      [4, 'odd'],
    ]);
    expect(processLayout.networkOutputs.map((o) => [o.streamEdge.id, o.jobEdge.targetVertex])).toEqual([['e4', 'v2']]);
  });

  it('numbers vertices in topological order and connects two-input operators on both inputs', () => {
    const env = new StreamExecutionEnvironment({ parallelism: 2 });
    const control = env.fromElements('stop');
    const data = env.fromSequence(1, 100);
    data
      .keyBy((n) => n % 10)
      .connect(control.keyBy(() => 0))
      .process<number>({ processElement1() {}, processElement2() {} })
      .print();
    const jg = env.getJobGraph();
    expect(jg.vertices.map((v) => [v.id, v.name])).toEqual([
      ['v1', 'Source: Elements'],
      ['v2', 'Source: Sequence(1..100)'],
      ['v3', 'KeyedCoProcess -> Sink: Print to stdout'],
    ]);
    expect(vertexInputEdges(jg, 'v3').map((e) => [e.sourceVertex, e.inputIndex, e.partitioner])).toEqual([
      ['v1', 1, 'hash'],
      ['v2', 0, 'hash'],
    ]);
  });

  it('offers lookups from node ids to nodes, edges and vertices', () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 5).map((n) => n).uid('m').disableChaining().print();
    const sg = env.getStreamGraph();
    const jg = createJobGraph(sg);
    expect(findStreamNode(sg, 2).uid).toBe('m');
    expect(outgoingStreamEdges(sg, 2).map((e) => e.targetId)).toEqual([3]);
    expect(findVertexOfNode(jg, 3).id).toBe('v3');
    expect(jg.vertices[1]?.operators).toEqual([{ nodeId: 2, name: 'Map', uid: 'm', kind: 'map' }]);
    expect(() => chainLayout(sg, jg, 'v9')).toThrow(/no vertex 'v9'/);
  });

  it('copies the resolved config into the job graph', () => {
    const env = new StreamExecutionEnvironment({ config: { bufferTimeoutMs: 0 } });
    env.fromElements(1).print();
    expect(env.getJobGraph().config.bufferTimeoutMs).toBe(0);
  });
});
