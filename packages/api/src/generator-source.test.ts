import { describe, expect, it } from 'vitest';
import { GENERATOR_BURST, GeneratorSource, type GeneratorSplit } from './generator-source.js';
import { mix32, SEEDED_RANDOM_STEP, SeededRandom, seededWords } from './seeded-random.js';
import type { MetricGroup } from './metrics.js';
import type { ReaderOutput, Source, SourceReaderContext, SourceSplit } from './source.js';

/** Collects records with the split they came through. */
class TestingReaderOutput<T> implements ReaderOutput<T> {
  readonly records: Array<{ value: T; split: string | undefined }> = [];
  readonly released: string[] = [];
  constructor(private readonly split?: string, private readonly parent?: TestingReaderOutput<T>) {}
  collect(value: T): void {
    (this.parent ?? this).records.push({ value, split: this.split });
  }
  createSplitOutput(splitId: string): ReaderOutput<T> {
    return new TestingReaderOutput<T>(splitId, this);
  }
  releaseSplitOutput(splitId: string): void {
    this.released.push(splitId);
  }
  values(): T[] {
    return this.records.map((r) => r.value);
  }
}

/** The generator source defines no metrics; this group refuses any, so a test would notice. */
const NO_METRICS: MetricGroup = {
  counter: () => expect.fail('unexpected metric'),
  gauge: () => expect.fail('unexpected metric'),
  histogram: () => expect.fail('unexpected metric'),
};

function readerContext(subtask: number, parallelism: number, now: () => number = () => 0): SourceReaderContext {
  return {
    taskInfo: { taskName: 'src', subtaskIndex: subtask, parallelism, maxParallelism: 128, attempt: 0 },
    params: {},
    now,
    metrics: NO_METRICS,
  };
}

/** Runs a bounded source at `parallelism` as the runtime would (default split assignment). */
async function runToEnd<T, S extends SourceSplit>(source: Source<T, S>, parallelism: number): Promise<T[]> {
  const splits = await source.enumerateSplits({ parallelism, params: {} });
  const all: T[] = [];
  for (let subtask = 0; subtask < parallelism; subtask++) {
    const reader = source.createReader(readerContext(subtask, parallelism));
    reader.addSplits(splits.filter((_s, i) => i % parallelism === subtask));
    reader.notifyNoMoreSplits();
    const out = new TestingReaderOutput<T>();
    let polls = 0;
    while (reader.pollNext(out) !== 'end') {
      if (++polls > 100_000) throw new Error('reader never ended');
    }
    all.push(...out.values());
    await reader.close();
  }
  return all;
}

const sorted = (xs: string[]): string[] => [...xs].sort();

describe('GeneratorSource', () => {
  const make = (count: number | undefined, seed = 7): GeneratorSource<string> =>
    new GeneratorSource<string>({
      ...(count === undefined ? {} : { count }),
      seed,
      generate: (index, rng) => `${index}:${rng.nextInt(1000)}:${rng.pick(['a', 'b', 'c'])}:${rng.nextBoolean()}`,
    });

  it('generates the same multiset of records at parallelism 1, 2 and 4', async () => {
    const one = await runToEnd(make(5000), 1);
    const two = await runToEnd(make(5000), 2);
    const four = await runToEnd(make(5000), 4);
    expect(one).toHaveLength(5000);
    expect(new Set(one.map((r) => r.split(':')[0])).size).toBe(5000);
    expect(sorted(two)).toEqual(sorted(one));
    expect(sorted(four)).toEqual(sorted(one));
    // The seed matters: another seed gives other values for the same indices.
    const other = await runToEnd(make(5000, 8), 2);
    expect(sorted(other)).not.toEqual(sorted(one));
  });

  it('splits indices by residue: split i of n covers i, i + n, i + 2n, …', async () => {
    const source = new GeneratorSource<number>({ count: 10, generate: (i) => i });
    const splits = source.enumerateSplits({ parallelism: 3, params: {} });
    expect(splits).toEqual([
      { splitId: 'generator-0-of-3', offset: 0, stride: 3, nextIndex: 0 },
      { splitId: 'generator-1-of-3', offset: 1, stride: 3, nextIndex: 1 },
      { splitId: 'generator-2-of-3', offset: 2, stride: 3, nextIndex: 2 },
    ]);
    const reader = source.createReader(readerContext(1, 3));
    reader.addSplits([splits[1]!]);
    reader.notifyNoMoreSplits();
    const out = new TestingReaderOutput<number>();
    expect(reader.pollNext(out)).toBe('end');
    expect(out.records).toEqual([1, 4, 7].map((value) => ({ value, split: 'generator-1-of-3' })));
    expect(out.released).toEqual(['generator-1-of-3']);
  });

  it('emits bursts of at most GENERATOR_BURST records and snapshots positions that resume exactly', () => {
    const source = new GeneratorSource<number>({ count: 3000, generate: (i) => i });
    const splits = source.enumerateSplits({ parallelism: 2, params: {} });
    const reader = source.createReader(readerContext(0, 1));
    reader.addSplits(splits);
    reader.notifyNoMoreSplits();
    const out = new TestingReaderOutput<number>();
    expect(reader.pollNext(out)).toBe('more');
    expect(out.records).toHaveLength(GENERATOR_BURST);
    expect(reader.pollNext(out)).toBe('more');
    const snapshot = reader.snapshotState(1);
    expect(snapshot).toEqual([
      { splitId: 'generator-0-of-2', offset: 0, stride: 2, nextIndex: 2 * GENERATOR_BURST },
      { splitId: 'generator-1-of-2', offset: 1, stride: 2, nextIndex: 1 + 2 * GENERATOR_BURST },
    ]);
    // A new reader restored from the snapshot emits exactly the rest.
    const restored = source.createReader(readerContext(0, 1));
    restored.addSplits(snapshot);
    restored.notifyNoMoreSplits();
    const rest = new TestingReaderOutput<number>();
    while (restored.pollNext(rest) !== 'end');
    const seen = [...out.values(), ...rest.values()].sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const done = restored.snapshotState(2) as GeneratorSplit[];
    expect(done.map((s) => s.nextIndex >= 3000)).toEqual([true, true]);
  });

  it('is unbounded without a count and waits for splits before it has any', async () => {
    const source = make(undefined);
    expect(source.boundedness).toBe('unbounded');
    expect(make(1).boundedness).toBe('bounded');
    const reader = source.createReader(readerContext(0, 1));
    const out = new TestingReaderOutput<string>();
    expect(reader.pollNext(out)).toBe('nothing');
    let woke = false;
    const available = reader.isAvailable().then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false);
    reader.addSplits(source.enumerateSplits({ parallelism: 1, params: {} }));
    await available;
    expect(woke).toBe(true);
    for (let i = 0; i < 5; i++) expect(reader.pollNext(out)).toBe('more');
    expect(out.records).toHaveLength(5 * GENERATOR_BURST);
  });

  it('limits the rate by processing time, sharing the total rate among splits', async () => {
    let now = 1_000;
    // 200,000/s over 2 splits: this reader holds one split, so 100,000/s. It wakes for ~1 ms
    // batches (100 records) and its bucket holds at most ~2 ms of records (200).
    const source = new GeneratorSource<number>({ count: 1_000_000, ratePerSecond: 200_000, generate: (i) => i });
    const [first] = source.enumerateSplits({ parallelism: 2, params: {} });
    const reader = source.createReader(readerContext(0, 2, () => now));
    reader.addSplits([first!]);
    const out = new TestingReaderOutput<number>();
    expect(reader.pollNext(out)).toBe('nothing');
    expect(out.records).toHaveLength(100); // the first batch is allowed straight away
    expect(reader.pollNext(out)).toBe('nothing');
    expect(out.records).toHaveLength(100);
    now += 250; // 250 ms at 100,000/s = 25,000 records, but a pause is made up for by 2 ms at most
    reader.pollNext(out);
    expect(out.records).toHaveLength(300);
    now += 1;
    reader.pollNext(out);
    expect(out.records).toHaveLength(400);
    // With no tokens left, isAvailable sleeps on a timer (it does not resolve at once and make
    // the task spin), and resolves once the next ~1 ms batch is due.
    let resolved = false;
    const available = reader.isAvailable().then(() => {
      resolved = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(resolved).toBe(false);
    await available;
    expect(resolved).toBe(true);
  });

  it('with a burst generator, emits the records generate gives, in the same bursts and positions', async () => {
    // The burst generator derives each record from the burst's own arguments (first + k·stride,
    // seededWords) rather than calling generate, so a wrong index, stride, count or seed shows.
    const calls: Array<[number, number, number]> = [];
    const burst = (count: number | undefined, ratePerSecond?: number): GeneratorSource<string> =>
      new GeneratorSource<string>({
        ...(count === undefined ? {} : { count }),
        ...(ratePerSecond === undefined ? {} : { ratePerSecond }),
        seed: 7,
        generate: (index, rng) => `${index}:${rng.nextUint32()}`,
        generateBurst: (first, stride, n, seed, out) => {
          calls.push([first, stride, n]);
          const words = new Int32Array(n);
          seededWords(seed, first, stride, n, words);
          for (let k = 0; k < n; k++) out.collect(`${first + k * stride}:${mix32((words[k]! + SEEDED_RANDOM_STEP) | 0)}`);
        },
      });
    const plain = (count: number): GeneratorSource<string> => new GeneratorSource<string>({ count, seed: 7, generate: (index, rng) => `${index}:${rng.nextUint32()}` });
    for (const parallelism of [1, 2, 3]) {
      calls.length = 0;
      const got = await runToEnd(burst(5000), parallelism);
      expect(got).toEqual(await runToEnd(plain(5000), parallelism));
      expect(Math.max(...calls.map((c) => c[2]))).toBe(GENERATOR_BURST);
      expect(calls.every(([, stride, n]) => stride === parallelism && n > 0)).toBe(true);
    }
    // The rate limit's budget bounds a burst as it bounds the per-record loop.
    calls.length = 0;
    const reader = burst(1_000_000, 200_000).createReader(readerContext(0, 2, () => 1_000));
    reader.addSplits([burst(1_000_000).enumerateSplits({ parallelism: 2, params: {} })[0]!]);
    const out = new TestingReaderOutput<string>();
    expect(reader.pollNext(out)).toBe('nothing');
    expect(calls).toEqual([[0, 2, 100]]);
    expect(out.values().slice(0, 2)).toEqual((await runToEnd(plain(4), 2)).filter((r) => Number(r.split(':')[0]) % 2 === 0));
    // A snapshot taken between bursts resumes exactly, through either path.
    const src = burst(3000);
    const r1 = src.createReader(readerContext(0, 1));
    r1.addSplits(src.enumerateSplits({ parallelism: 2, params: {} }));
    r1.notifyNoMoreSplits();
    const head = new TestingReaderOutput<string>();
    r1.pollNext(head);
    const r2 = plain(3000).createReader(readerContext(0, 1));
    r2.addSplits(r1.snapshotState(1));
    r2.notifyNoMoreSplits();
    const tail = new TestingReaderOutput<string>();
    while (r2.pollNext(tail) !== 'end');
    expect(sorted([...head.values(), ...tail.values()])).toEqual(sorted(await runToEnd(plain(3000), 1)));
  });

  it('rejects invalid options with messages that name the option', () => {
    expect(() => new GeneratorSource({ count: 1.5, generate: (i) => i })).toThrow(/count must be a non-negative integer/);
    expect(() => new GeneratorSource({ ratePerSecond: 0, generate: (i) => i })).toThrow(/ratePerSecond must be a positive number/);
    expect(() => new GeneratorSource({ seed: 0.5, generate: (i) => i })).toThrow(/seed must be an integer/);
    expect(() => new GeneratorSource({ generate: undefined as never })).toThrow(/generate\(index, rng\)/);
    expect(() => new GeneratorSource({ generate: (i) => i, generateBurst: 3 as never })).toThrow(/generateBurst must be a function/);
  });
});

describe('SeededRandom', () => {
  it('is a pure function of (seed, index) after reseed', () => {
    const a = new SeededRandom();
    const b = new SeededRandom(99);
    const draw = (r: SeededRandom): number[] => [r.nextUint32(), r.nextInt(10), r.nextFloat()];
    expect(draw(a.reseed(1, 12345))).toEqual(draw(b.reseed(1, 12345)));
    expect(draw(a.reseed(1, 12345))).not.toEqual(draw(a.reseed(1, 12346)));
    expect(draw(a.reseed(1, 2 ** 40))).not.toEqual(draw(a.reseed(1, 0)));
  });

  it('stays in range and spreads values evenly', () => {
    const r = new SeededRandom(3);
    const buckets = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const v = r.nextInt(10);
      if (!(v >= 0 && v < 10 && Number.isInteger(v))) outOfRange++;
      else buckets[v]!++;
      const f = r.nextFloat();
      if (!(f >= 0 && f < 1)) outOfRange++;
      const x = r.nextIntBetween(-3, 3);
      if (!(x >= -3 && x <= 3)) outOfRange++;
    }
    expect(outOfRange).toBe(0);
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(600);
    let trues = 0;
    for (let i = 0; i < 10_000; i++) if (r.nextBoolean()) trues++;
    expect(Math.abs(trues - 5000)).toBeLessThan(300);
    expect(['x', 'y']).toContain(r.pick(['x', 'y']));
  });

  it('rejects bad bounds', () => {
    const r = new SeededRandom();
    expect(() => r.nextInt(0)).toThrow(/positive integer bound/);
    expect(() => r.nextInt(2.5)).toThrow(/positive integer bound/);
    expect(() => r.pick([])).toThrow(/non-empty array/);
    expect(() => r.nextIntBetween(3, 1)).toThrow(/min <= max/);
  });
});

