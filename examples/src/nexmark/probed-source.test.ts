import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { GeneratorSource, type MetricGroup, type ReaderOutput, type Source, type SourceReaderContext, type SourceSplit } from '@sluice/api';
import { afterEach, describe, expect, it } from 'vitest';
import { EventCounter, ProbedSource } from './probed-source.js';
import { readReports, type ProbeReport } from './reports.js';

const NO_METRICS: MetricGroup = {
  counter: () => expect.fail('unexpected metric'),
  gauge: () => expect.fail('unexpected metric'),
  histogram: () => expect.fail('unexpected metric'),
};

function readerContext(subtask: number, parallelism: number): SourceReaderContext {
  return { taskInfo: { taskName: 'src', subtaskIndex: subtask, parallelism, maxParallelism: 128, attempt: 0 }, params: {}, now: () => 0, metrics: NO_METRICS };
}

/** Counts what each reader emitted, split outputs included. */
function countingOutput(): ReaderOutput<number> & { emitted: number } {
  const out = {
    emitted: 0,
    collect(): void {
      out.emitted++;
    },
    createSplitOutput: (): ReaderOutput<number> => out,
    releaseSplitOutput(): void {},
  };
  return out;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function statsDir(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'sluice-probe-test-'));
  dirs.push(d);
  return d;
}

/** A generator counting its events as the Nexmark source does: one at a time, or a burst at a time. */
function probedGenerator(count: number, dir: string, totalWarmupEvents: number, bursts = false): ProbedSource<number, SourceSplit> {
  const counter = new EventCounter();
  const inner = new GeneratorSource<number>({
    count,
    generate: (i) => {
      counter.count(1);
      return i;
    },
    ...(bursts
      ? {
          generateBurst: (first: number, stride: number, n: number, _seed: number, out: { collect(i: number): void }) => {
            counter.count(n);
            for (let k = 0; k < n; k++) out.collect(first + k * stride);
          },
        }
      : {}),
  });
  return new ProbedSource<number, SourceSplit>(inner, counter, { statsDir: dir, totalWarmupEvents });
}

describe('ProbedSource', () => {
  it.each([
    ['one at a time', false],
    ['a burst at a time', true],
  ])('counts each event for the subtask that generated it when the subtasks of one job build interleave on one thread (%s)', async (_how, bursts) => {
    const dir = statsDir();
    // 5,001 events over 2 subtasks: subtask 0 makes 2,501, subtask 1 makes 2,500.
    const source = probedGenerator(5_001, dir, 1_000, bursts);
    const splits = await source.enumerateSplits({ parallelism: 2, params: {} });
    const readers = [0, 1].map((i) => source.createReader(readerContext(i, 2)));
    const outputs = [countingOutput(), countingOutput()];
    readers.forEach((r, i) => {
      r.addSplits([splits[i]!]);
      r.notifyNoMoreSplits();
    });
    const done = [false, false];
    while (!done[0] || !done[1]) {
      for (const i of [1, 0]) if (!done[i]) done[i] = readers[i]!.pollNext(outputs[i]!) === 'end';
    }
    for (const r of readers) await r.close();

    const reports = (readReports(dir) as ProbeReport[]).sort((a, b) => a.subtask - b.subtask);
    expect(reports.map((r) => [r.type, r.subtask, r.events, r.warmupEvents])).toEqual([
      ['probe', 0, 2_501, 500],
      ['probe', 1, 2_500, 500],
    ]);
    expect(reports.map((r) => r.events)).toEqual(outputs.map((o) => o.emitted));
    for (const r of reports) {
      expect(Number.isFinite(r.warmupEndedAtMs)).toBe(true);
      expect(r.warmupEndedAtMs).toBeLessThanOrEqual(r.closedAtMs);
    }
  });

  it('reports a run shorter than the warm-up as not measured, and writes its report once however often it is closed', async () => {
    const dir = statsDir();
    const source = probedGenerator(10, dir, 100);
    const [split] = await source.enumerateSplits({ parallelism: 1, params: {} });
    const reader = source.createReader(readerContext(0, 1));
    reader.addSplits([split!]);
    reader.notifyNoMoreSplits();
    while (reader.pollNext(countingOutput()) !== 'end');
    await reader.close();
    const [first] = readReports(dir) as ProbeReport[];
    rmSync(join(dir, 'probe-0.json'));
    await reader.close();
    expect(readdirSync(dir)).toEqual([]);
    expect(first).toMatchObject({ subtask: 0, events: 10, warmupEvents: 100 });
    expect(first!.warmupEndedAtMs).toBeNaN();
  });

  it('passes the inner source through: boundedness, split type, name, split assignment and checkpoint notifications', async () => {
    const completed: number[] = [];
    const inner: Source<number, SourceSplit> = {
      boundedness: 'unbounded',
      enumerateSplits: () => [{ splitId: 'a' }, { splitId: 'b' }],
      assignSplit: (_s, index) => 1 - index,
      createReader: () => ({
        addSplits: () => {},
        notifyNoMoreSplits: () => {},
        pollNext: () => 'nothing',
        isAvailable: () => Promise.resolve(),
        snapshotState: () => [{ splitId: 'a' }],
        notifyCheckpointComplete: (id) => void completed.push(id),
        close: () => {},
      }),
    };
    const probed = new ProbedSource(inner, new EventCounter(), { statsDir: statsDir(), totalWarmupEvents: 0 });
    expect(probed.boundedness).toBe('unbounded');
    // A plain object names no split type, so checkpoints do not check one for it either.
    expect(probed.splitType).toBeUndefined();
    expect(probed.assignSplit?.({ splitId: 'a' }, 0, 2)).toBe(1);
    expect(await probed.enumerateSplits({ parallelism: 2, params: {} })).toEqual([{ splitId: 'a' }, { splitId: 'b' }]);
    const reader = probed.createReader(readerContext(0, 1));
    expect(reader.snapshotState(3)).toEqual([{ splitId: 'a' }]);
    await reader.notifyCheckpointComplete?.(3);
    expect(completed).toEqual([3]);

    const generator = probedGenerator(1, statsDir(), 0);
    expect([generator.splitType, generator.boundedness, generator.describe()]).toEqual(['generator', 'bounded', 'Generator(1)']);
    expect(generator.assignSplit).toBeUndefined();
    expect(generator.createReader(readerContext(0, 1)).notifyCheckpointComplete).toBeUndefined();
  });
});
