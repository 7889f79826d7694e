/**
 * End-to-end engine tests: real job modules, compiled like the CLI compiles them, run on the
 * embedded cluster with real Piscina worker threads and shared-memory channels. Outputs are
 * compared exactly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { keyGroupFor, operatorIndexForKeyGroup } from '@sluice/common';
import { runJob, sortBy } from './harness.js';
import type { KeyReport } from './jobs/keyed-state.js';

describe('event-time windows', () => {
  it('fires on watermarks, re-fires late records within allowed lateness, and sends later ones to the side output', async () => {
    for (const parallelism of [1, 3]) {
      const r = await runJob('event-time-windows.ts', { parallelism });
      expect(r.status).toBe('FINISHED');
      expect(sortBy(r.collected.sums!, (x: any) => `${x.windowStart}/${x.sensor}/${x.sum}`)).toEqual(
        sortBy(
          [
            { sensor: 'a', windowStart: 0, sum: 6 },
            { sensor: 'b', windowStart: 0, sum: 10 },
            { sensor: 'a', windowStart: 0, sum: 11 },
            { sensor: 'a', windowStart: 10, sum: 4 },
            { sensor: 'b', windowStart: 10, sum: 20 },
            { sensor: 'b', windowStart: 20, sum: 70 },
          ],
          (x) => `${x.windowStart}/${x.sensor}/${x.sum}`,
        ),
      );
      expect(r.collected.late).toEqual([{ sensor: 'a', ts: 8, value: 100 }]);
    }
  });
});

describe('session windows', () => {
  it('merges sessions, including through a bridging element', async () => {
    const r = await runJob('session-windows.ts', { parallelism: 2 });
    expect(r.status).toBe('FINISHED');
    expect(sortBy(r.collected.sessions!, (s: any) => `${s.user}/${s.start}`)).toEqual([
      { user: 'u1', start: 0, end: 15, clicks: [0, 5] },
      { user: 'u1', start: 18, end: 40, clicks: [18, 26, 30] },
      { user: 'u2', start: 3, end: 13, clicks: [3] },
      { user: 'u2', start: 50, end: 65, clicks: [50, 55] },
      { user: 'u3', start: 100, end: 110, clicks: [100] },
    ]);
  });
});

describe('timers', () => {
  it('fires deduplicated event-time timers in timestamp order with keyed state, and never fires deleted ones', async () => {
    const r = await runJob('timers.ts', { parallelism: 1 });
    expect(r.status).toBe('FINISHED');
    // Watermark = max timestamp − 1, emitted after each record. y@30 is processed before the
    // watermark 29 it causes, so y's timer at 12 sees sum 2 + 30. x's state was cleared by its
    // first timer, so x@40 registers a new timer (50) that fires at the end of input.
    expect(r.collected.fired).toEqual(['x@11 sum=6', 'y@12 sum=32', 'x@50 sum=40']);
  });
});

describe('keyed state and hash partitioning', () => {
  const reference = new Map<number, KeyReport[]>();

  for (const parallelism of [1, 4]) {
    it(`keeps all five state kinds per key at parallelism ${parallelism}, each key on exactly one subtask`, async () => {
      const r = await runJob('keyed-state.ts', { parallelism, params: { events: '200000', keys: '5000' } });
      expect(r.status).toBe('FINISHED');
      const reports = r.collected.reports as KeyReport[];
      expect(new Set(reports.map((x) => x.key)).size).toBe(reports.length);
      expect(reports.length).toBe(5000);
      expect(reports.reduce((s, x) => s + x.count, 0)).toBe(200_000);
      for (const x of reports) expect(x.subtask).toBe(operatorIndexForKeyGroup(keyGroupFor(x.key, 128), 128, parallelism));
      reference.set(parallelism, sortBy(reports.map((x) => ({ ...x, subtask: 0 })), (x) => x.key));
    });
  }

  it('gives identical per-key results at parallelism 1 and 4', () => {
    const one = reference.get(1);
    const four = reference.get(4);
    expect(one).toBeDefined();
    expect(four).toEqual(one);
  });
});

describe('buffer timeout', () => {
  it('gives identical results with buffer timeout 0 and the default', async () => {
    const a = await runJob('keyed-state.ts', { parallelism: 2, params: { events: '30000', keys: '300' }, bufferTimeoutMs: 0 });
    const b = await runJob('keyed-state.ts', { parallelism: 2, params: { events: '30000', keys: '300' } });
    expect(a.status).toBe('FINISHED');
    expect(sortBy(a.collected.reports!, (x: any) => x.key)).toEqual(sortBy(b.collected.reports!, (x: any) => x.key));
  });
});

describe('topology', () => {
  it('runs union, flatMap, side outputs, broadcast + connect, and rolling reduce', async () => {
    const r = await runJob('topology.ts', { parallelism: 2 });
    expect(r.status).toBe('FINISHED');
    const all = [1, 2, 3, 4, 10, 11].flatMap((v) => [v, v + 100]);
    expect([...(r.collected.odd as number[])].sort((x, y) => x - y)).toEqual(all.filter((v) => v % 2 === 1).sort((x, y) => x - y));
    expect([...(r.collected.multiplied as number[])].sort((x, y) => x - y)).toEqual(all.filter((v) => v % 2 === 0).map((v) => v * 3).sort((x, y) => x - y));
    const finalPerKey = new Map<number, number>();
    for (const v of all) finalPerKey.set(v % 3, (finalPerKey.get(v % 3) ?? 0) + v);
    const rolling = r.collected.rolling as number[];
    expect(rolling.length).toBe(all.length);
    for (const total of finalPerKey.values()) expect(rolling).toContain(total);
  });
});

afterAll(() => {
  // Every job above ran on its own embedded cluster that was closed; nothing may keep the process alive.
  const handles = process.getActiveResourcesInfo().filter((h) => h === 'MessagePort' || h === 'Worker');
  expect(handles).toEqual([]);
});
