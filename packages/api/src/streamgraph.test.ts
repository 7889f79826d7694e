import { JobDefinitionError } from '@sluice/common';
import { DEFAULT_JOB_CONFIG } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from './environment.js';
import type { OperatorSpec, StreamEdge, StreamNode } from './spec.js';
import { StreamGraph } from './streamgraph.js';
import { WatermarkStrategy } from './watermarks.js';
import { GeneratorSource } from './generator-source.js';

function node(id: number, spec: OperatorSpec, extra: Partial<StreamNode> = {}): StreamNode {
  return { id, name: `op${id}`, parallelism: 1, maxParallelism: 128, spec, chaining: 'always', parallelismSet: false, ...extra };
}

const source: OperatorSpec = {
  kind: 'source',
  source: new GeneratorSource({ count: 1, generate: (i) => i }),
  watermarks: WatermarkStrategy.noWatermarks(),
};

function edge(id: string, sourceId: number, targetId: number, extra: Partial<StreamEdge> = {}): StreamEdge {
  return { id, sourceId, targetId, inputIndex: 0, partitioner: { kind: 'forward' }, ...extra };
}

function graph(nodes: StreamNode[], edges: StreamEdge[]): StreamGraph {
  return new StreamGraph({ jobName: 'test', config: { ...DEFAULT_JOB_CONFIG }, nodes, edges });
}

describe('StreamGraph validation', () => {
  it('rejects a job without a sink and says how to add one', () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 3).map((n) => n * 2);
    expect(() => env.getStreamGraph()).toThrow(JobDefinitionError);
    expect(() => env.getStreamGraph()).toThrow(/the job defines no sink .*add \.print\(\), \.collect\(name\), \.sinkTo\(sink\)/);
  });

  it('rejects a forward edge between different parallelisms, naming both operators', () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 3).name('numbers').setParallelism(2).forward().map((n) => n).name('double').setParallelism(3).print();
    expect(() => env.getStreamGraph()).toThrow(
      /forward edge from 'numbers' \(node 1\) with parallelism 2 to 'double' \(node 2\) with parallelism 3/,
    );
  });

  it('rejects duplicate uids and collect names in hand-built graphs too', () => {
    const printSpec: OperatorSpec = { kind: 'print', prefix: '', stderr: false };
    expect(() => graph([node(1, source, { uid: 'x' }), node(2, printSpec, { uid: 'x' })], [edge('e1', 1, 2)])).toThrow(
      /uid 'x' is given to both 'op1' \(node 1\) and 'op2' \(node 2\)/,
    );
    const collect: OperatorSpec = { kind: 'collect', name: 'out' };
    expect(() => graph([node(1, source), node(2, collect), node(3, collect)], [edge('e1', 1, 2), edge('e2', 1, 3)])).toThrow(
      /collect name 'out' is used by node 2 and node 3/,
    );
  });

  it('rejects structural mistakes: backward edges, missing nodes, missing inputs, two-input operators with one input', () => {
    const printSpec: OperatorSpec = { kind: 'print', prefix: '', stderr: false };
    expect(() => graph([node(1, source), node(2, printSpec)], [edge('e1', 2, 1)])).toThrow(/acyclic/);
    expect(() => graph([node(1, source), node(2, printSpec)], [edge('e1', 1, 9)])).toThrow(/does not exist/);
    expect(() => graph([node(1, source), node(2, printSpec)], [])).toThrow(/'op2' \(node 2\) has no input/);
    const co: OperatorSpec = { kind: 'coProcess', fn: { processElement1() {}, processElement2() {} } };
    expect(() => graph([node(1, source), node(2, co), node(3, printSpec)], [edge('e1', 1, 2), edge('e2', 2, 3)])).toThrow(
      /needs edges into both of its inputs/,
    );
    expect(() => graph([node(2, source), node(1, printSpec)], [])).toThrow(/increase in creation order/);
  });

  it('indexes edges by node and finds sources and sinks', () => {
    const printSpec: OperatorSpec = { kind: 'print', prefix: '', stderr: false };
    const mapSpec: OperatorSpec = { kind: 'map', fn: (x: unknown) => x };
    const g = graph([node(1, source), node(2, mapSpec), node(3, printSpec), node(4, printSpec)], [
      edge('e1', 1, 2),
      edge('e2', 2, 3),
      edge('e3', 2, 4, { sideOutputTag: 'side' }),
    ]);
    expect(g.outEdges(2).map((e) => e.id)).toEqual(['e2', 'e3']);
    expect(g.inEdges(4).map((e) => e.id)).toEqual(['e3']);
    expect(g.outEdges(4)).toEqual([]);
    expect(g.sources().map((n) => n.id)).toEqual([1]);
    expect(g.sinks().map((n) => n.id)).toEqual([3, 4]);
    expect(() => g.getNode(7)).toThrow(/no operator with node id 7; the job module must build the same graph/);
  });
});
