import { describe, expect, it } from 'vitest';
import { MonotonicCounters } from './monotonic-counters.js';

/** Feeds snapshots (identity → raw counts) and returns exported values after each one. */
function run(snapshots: Record<string, number>[], options = {}): Record<string, number>[] {
  const counters = new MonotonicCounters<string>(options);
  return snapshots.map((snap, t) => {
    counters.beginSnapshot();
    for (const [id, v] of Object.entries(snap)) counters.observe(id, id, [v]);
    counters.endSnapshot(t);
    return Object.fromEntries([...counters.samples()].map((s) => [s.labels, s.values[0] ?? NaN]));
  });
}

describe('MonotonicCounters', () => {
  it.each([
    ['plain growth', [{ a: 1 }, { a: 5 }], [{ a: 1 }, { a: 5 }]],
    ['ended identity keeps its final value', [{ a: 5, b: 2 }, { a: 6 }], [{ a: 5, b: 2 }, { a: 6, b: 2 }]],
    ['restart after absence continues', [{ a: 5 }, {}, { a: 1 }], [{ a: 5 }, { a: 5 }, { a: 6 }]],
    ['drop without absence counts as restart', [{ a: 5 }, { a: 2 }, { a: 4 }], [{ a: 5 }, { a: 7 }, { a: 9 }]],
    ['non-finite and negative raw values count as zero', [{ a: 3 }, { a: NaN }], [{ a: 3 }, { a: 3 }]],
  ])('%s', (_name, snapshots, expected) => {
    expect(run(snapshots)).toEqual(expected);
  });

  it('bounds remembered identities by count (oldest first) and by age', () => {
    expect(run([{ a: 1, b: 1, c: 1 }, { c: 1 }, { c: 2 }], { maxRetired: 1 }).at(-1)).toEqual({ b: 1, c: 2 });
    expect(run([{ a: 1, b: 1 }, { b: 1 }, { b: 1 }, { b: 1 }], { retiredTtlMs: 2 })).toEqual([
      { a: 1, b: 1 },
      { a: 1, b: 1 },
      { a: 1, b: 1 },
      { b: 1 },
    ]);
  });

  it('with a reset index, folds all values when that one drops, and only then', () => {
    // [bucket, sum, count] of one histogram series
    const counters = new MonotonicCounters<string>();
    const values = (raw: number[]): readonly number[] => {
      counters.beginSnapshot();
      counters.observe('h', 'h', raw, 2);
      counters.endSnapshot(0);
      return [...counters.samples()][0]!.values;
    };
    expect(values([2, 1.5, 3])).toEqual([2, 1.5, 3]);
    // The sum may fall (a negative observation) without a restart.
    expect(values([2, -0.5, 4])).toEqual([2, -0.5, 4]);
    // The count fell: a restart, although the bucket grew meanwhile.
    expect(values([3, 0.25, 3])).toEqual([5, -0.25, 7]);
  });
});
