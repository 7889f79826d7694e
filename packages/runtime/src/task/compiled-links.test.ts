/**
 * Per-link compiled glue (operators/compiled-links.ts): an Output with one chained target, and a
 * filter's or map's processElement, get a function of their own when code generation is allowed,
 * and the shared glue otherwise. Both must give the same records, timestamps, counters and error
 * attribution. fixtures/chain-links.mjs runs a small chain on the compiled runtime in a child
 * process, with and without --disallow-code-generation-from-strings.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRuntimeIfStale } from '../compiled-runtime.test-helper.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'chain-links.mjs');

interface ChainRun {
  codegen: boolean;
  compiled: Record<'head' | 'filterOut' | 'mapOut' | 'filter' | 'map', boolean>;
  seen: [number, number | null][];
  counters: Record<'head' | 'filter' | 'map' | 'sink', { recordsIn: number; recordsOut: number }>;
  error: { name: string; message: string; operator: string; subtask: number; record: string };
}

function run(flags: string[]): ChainRun {
  return JSON.parse(execFileSync(process.execPath, [...flags, fixture], { encoding: 'utf8', timeout: 60_000 })) as ChainRun;
}

beforeAll(() => buildRuntimeIfStale(['operators/compiled-links', 'operators/filter', 'operators/map', 'task/chain-outputs']), 120_000);

describe('compiled chain links', () => {
  const expected = {
    // Even numbers × 10; timestamps as given (none for every third record, JSON null here).
    seen: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18].map((v) => [v * 10, v % 3 === 0 ? null : 1000 + v]),
    counters: {
      head: { recordsIn: 0, recordsOut: 21, lateRecordsDropped: 0 },
      filter: { recordsIn: 21, recordsOut: 11, lateRecordsDropped: 0 },
      // The map's records in are derived by the task from the filter's records out (not counted on the link).
      map: { recordsIn: 0, recordsOut: 10, lateRecordsDropped: 0 },
      sink: { recordsIn: 10, recordsOut: 0, lateRecordsDropped: 0 },
    },
    error: { name: 'UserFunctionError', message: "operator 'map' (subtask 3) threw while processing record 1000: no thousands", operator: 'map', subtask: 3, record: '1000' },
  };

  it('compiles every link when code generation is allowed, with the shared glue’s results', () => {
    const r = run([]);
    expect(r.codegen).toBe(true);
    expect(r.compiled).toEqual({ head: true, filterOut: true, mapOut: true, filter: true, map: true });
    expect({ seen: r.seen, counters: r.counters, error: r.error }).toEqual(expected);
  });

  it('keeps the shared glue without code generation, with the same results', () => {
    const r = run(['--disallow-code-generation-from-strings']);
    expect(r.codegen).toBe(false);
    expect(r.compiled).toEqual({ head: false, filterOut: false, mapOut: false, filter: false, map: false });
    expect({ seen: r.seen, counters: r.counters, error: r.error }).toEqual(expected);
  });
});
