import { describe, expect, it } from 'vitest';
import { createChannelSelector, rescaleGroup } from './channel-selector.js';

const picks = (n: number, select: () => number): number[] => Array.from({ length: n }, select);

describe('channel selection', () => {
  it('rescale feeds only the producer’s local group of consumers', () => {
    expect([0, 1].map((p) => rescaleGroup(p, 2, 4))).toEqual([{ start: 0, end: 2 }, { start: 2, end: 4 }]);
    expect([0, 1, 2, 3].map((p) => rescaleGroup(p, 4, 2))).toEqual([{ start: 0, end: 1 }, { start: 0, end: 1 }, { start: 1, end: 2 }, { start: 1, end: 2 }]);
    expect([0, 1, 2].map((p) => rescaleGroup(p, 3, 3))).toEqual([{ start: 0, end: 1 }, { start: 1, end: 2 }, { start: 2, end: 3 }]);
    const s = createChannelSelector({ kind: 'rescale' }, 4, 1, 128, 2);
    expect(picks(5, () => s.select(undefined))).toEqual([2, 3, 2, 3, 2]);
  });

  it('rebalance rotates over every consumer starting at the producer’s index', () => {
    const s = createChannelSelector({ kind: 'rebalance' }, 3, 1, 128, 2);
    expect(picks(4, () => s.select(undefined))).toEqual([1, 2, 0, 1]);
  });

  it('hash sends every record of a key to the subtask owning its key group', () => {
    const s = createChannelSelector({ kind: 'hash', keySelector: (v: { k: string }) => v.k }, 4, 0, 128);
    const first = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const k = `key-${i % 37}`;
      const c = s.select({ k });
      expect(first.get(k) ?? c).toBe(c);
      first.set(k, c);
    }
    expect(new Set(first.values()).size).toBe(4);
  });
});
