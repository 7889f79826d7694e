import { describe, expect, it } from 'vitest';
import type { EngineRunResult } from './engine.js';
import { formatDuration, summarizeResult } from './summary.js';

function result(overrides: Partial<EngineRunResult> = {}): EngineRunResult {
  return {
    jobId: 'j1',
    jobName: 'fraud',
    status: 'FINISHED',
    durationMs: 2310,
    collected: {},
    operators: [
      { nodeId: 1, name: 'Source: a', vertexId: 'v1', recordsIn: 0, recordsOut: 600_000 },
      { nodeId: 2, name: 'Map', vertexId: 'v1', recordsIn: 600_000, recordsOut: 600_000 },
      { nodeId: 3, name: 'Source: b', vertexId: 'v2', recordsIn: 0, recordsOut: 400_000 },
    ],
    sourceNodeIds: [1, 3],
    ...overrides,
  };
}

describe('summarizeResult', () => {
  it.each<[string, Partial<EngineRunResult>, string]>([
    ['finished', {}, "Job 'fraud' FINISHED in 2.31 s: 1,000,000 records from sources (432,900 records/s)"],
    ['cancelled', { status: 'CANCELED' }, "Job 'fraud' CANCELED after 2.31 s: 1,000,000 records from sources (432,900 records/s)"],
    ['no sources known', { sourceNodeIds: [] }, "Job 'fraud' FINISHED in 2.31 s"],
    ['zero duration', { durationMs: 0, sourceNodeIds: [3] }, "Job 'fraud' FINISHED in 0.00 s: 400,000 records from sources"],
    ['one record', { operators: [{ nodeId: 1, name: 's', vertexId: 'v', recordsIn: 0, recordsOut: 1 }], durationMs: 1000 }, "Job 'fraud' FINISHED in 1.00 s: 1 record from sources (1 records/s)"],
  ])('%s', (_name, overrides, line) => {
    expect(summarizeResult(result(overrides))).toBe(line);
  });

  it.each([
    [420, '0.42 s'],
    [59_994, '59.99 s'],
    [65_200, '1 min 5 s'],
    [7_384_000, '2 h 3 min 4 s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
