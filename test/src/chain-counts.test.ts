/**
 * Per-operator record counts of chains on real worker threads. A chained operator fed by one
 * edge from an output without side outputs has its records in taken from that output's records
 * out (the hop counts once); the others (fed from an operator with side outputs, or a chain's
 * head) count their own. Both must give the counts the records actually took.
 */
import { describe, expect, it } from 'vitest';
import { runJob } from './harness.js';

describe('record counts in a chain', () => {
  it('are exact for straight hops, filters, side outputs, fan-out and a union', async () => {
    const r = await runJob('chain-counts.ts');
    expect(r.status).toBe('FINISHED');
    expect(r.collected.quarters).toHaveLength(25);
    expect(r.collected.rest).toHaveLength(25);
    expect(r.collected.negated).toHaveLength(150);
    const counts = Object.fromEntries(r.operators.map((o) => [o.name, [o.recordsIn, o.recordsOut]]));
    expect(counts).toEqual({
      numbers: [0, 100],
      triple: [100, 100],
      evens: [100, 50],
      split: [50, 50],
      'quarters sink': [25, 0],
      'rest sink': [25, 0],
      shift: [100, 100],
      negate: [150, 150],
      'negated sink': [150, 0],
    });
    // The union starts a second chain: its head counts at the input gate, its sink by derivation.
    const vertexOf = Object.fromEntries(r.operators.map((o) => [o.name, o.vertexId]));
    expect(new Set(['triple', 'evens', 'split', 'quarters sink', 'rest sink', 'shift'].map((n) => vertexOf[n]))).toEqual(new Set([vertexOf.numbers]));
    expect(vertexOf.negate).not.toBe(vertexOf.numbers);
    expect(vertexOf['negated sink']).toBe(vertexOf.negate);
  });
});
