import { SluiceError, serializeError } from '@sluice/common';
import type { JobEdge, JobVertex } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { ExceptionHistory } from './exception-history.js';
import { vertexRecords } from './job-reports.js';
import { backpressureBetween } from './live-counts.js';

function vertex(id: string, operators: [number, string][]): JobVertex {
  return {
    id,
    name: id,
    parallelism: 1,
    maxParallelism: 128,
    operators: operators.map(([nodeId, kind]) => ({ nodeId, name: `${kind}-${nodeId}`, kind })),
    isSource: operators[0]![1] === 'source',
    isSink: operators.some(([, k]) => k === 'sink' || k === 'print'),
  };
}

function edge(id: string, from: [string, number], to: [string, number], inputIndex: 0 | 1 = 0): JobEdge {
  return { id, sourceVertex: from[0], targetVertex: to[0], sourceNodeId: from[1], targetNodeId: to[1], inputIndex, partitioner: 'hash' };
}

const c = (nodeId: number, recordsIn: number, recordsOut: number) => ({ nodeId, recordsIn, recordsOut });

describe('vertexRecords (FLIP-33 ends of a chain)', () => {
  it("counts a source chain's records in as what its source read, its records out as what left over the network", () => {
    const v = vertex('v1', [[1, 'source'], [2, 'filter']]);
    const edges = [edge('e1', ['v1', 2], ['v2', 3])];
    expect(vertexRecords(v, edges, [c(1, 0, 100), c(2, 100, 40), c(1, 0, 50), c(2, 50, 10)])).toEqual({ recordsIn: 150, recordsOut: 50 });
  });

  it("counts a sink chain's records out as what its sinks wrote, summing two sinks", () => {
    const v = vertex('v2', [[3, 'map'], [4, 'sink'], [5, 'print']]);
    const edges = [edge('e1', ['v1', 2], ['v2', 3])];
    expect(vertexRecords(v, edges, [c(3, 40, 40), c(4, 40, 0), c(5, 40, 0)])).toEqual({ recordsIn: 40, recordsOut: 80 });
  });

  it('counts a two-input head once, a side output leaving mid-chain, and a source chained to its sink', () => {
    const join = vertex('v3', [[6, 'keyedCoProcess'], [7, 'map']]);
    const edges = [edge('a', ['v1', 2], ['v3', 6], 0), edge('b', ['v2', 3], ['v3', 6], 1), edge('side', ['v3', 6], ['v4', 8]), edge('main', ['v3', 7], ['v5', 9])];
    expect(vertexRecords(join, edges, [c(6, 30, 25), c(7, 20, 20)])).toEqual({ recordsIn: 30, recordsOut: 45 });
    expect(vertexRecords(vertex('v9', [[1, 'source'], [2, 'sink']]), [], [c(1, 0, 12), c(2, 12, 0)])).toEqual({ recordsIn: 12, recordsOut: 12 });
  });

  it('ignores counts of operators the vertex does not have', () => {
    expect(vertexRecords(vertex('v1', [[1, 'source']]), [], [c(99, 5, 5)])).toEqual({ recordsIn: 0, recordsOut: 0 });
  });
});

describe('backpressureBetween', () => {
  const at = (busyMs: number, backpressuredMs: number, idleMs: number, backpressure?: number) => ({ operators: [], time: { busyMs, backpressuredMs, idleMs }, ...(backpressure === undefined ? {} : { backpressure }) });

  it('is the blocked share of the time between two readings, of the whole life at the first', () => {
    expect(backpressureBetween(undefined, at(300, 100, 600))).toBeCloseTo(0.1);
    expect(backpressureBetween(at(300, 100, 600), at(400, 900, 700))).toBeCloseTo(0.8);
  });

  it('keeps the previous value when no time passed, and is unknown without times', () => {
    expect(backpressureBetween(at(1, 1, 1, 0.3), at(1, 1, 1))).toBe(0.3);
    expect(backpressureBetween(undefined, at(0, 0, 0))).toBeUndefined();
    expect(backpressureBetween(at(1, 1, 1, 0.3), { operators: [] })).toBeUndefined();
  });
});

describe('ExceptionHistory', () => {
  it('keeps the last 100 failures oldest first and counts the dropped ones', () => {
    const h = new ExceptionHistory();
    for (let i = 0; i < 105; i++) h.add(1000 + i, serializeError(new SluiceError('USER_FUNCTION', `failure ${i}`)));
    const { exceptions, exceptionsDropped } = h.snapshot();
    expect(exceptionsDropped).toBe(5);
    expect(exceptions).toHaveLength(100);
    expect(exceptions[0]).toEqual({ timestamp: 1005, code: 'USER_FUNCTION', message: 'failure 5' });
    expect(exceptions.at(-1)?.message).toBe('failure 104');
  });

  it('hands out copies: a reader cannot change the history', () => {
    const h = new ExceptionHistory(2);
    h.add(1, serializeError(new SluiceError('X', 'x')));
    h.snapshot().exceptions[0]!.message = 'changed';
    expect(h.snapshot().exceptions[0]!.message).toBe('x');
  });
});
