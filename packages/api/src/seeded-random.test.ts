import { describe, expect, it } from 'vitest';
import { mix32, SEEDED_RANDOM_STEP, SeededRandom } from './seeded-random.js';

describe('SeededRandom', () => {
  it('draws, from its word, mix32 of the word advanced by one step per draw', () => {
    for (const [seed, index] of [[42, 0], [42, 123_456_789], [-7, 4_999_000_123], [0, 2 ** 40 + 3]] as const) {
      const rng = new SeededRandom().reseed(seed, index);
      let s = rng.word;
      expect(Number.isInteger(s) && s === (s | 0)).toBe(true);
      for (let i = 0; i < 20; i++) {
        s = (s + SEEDED_RANDOM_STEP) | 0;
        expect(rng.nextUint32()).toBe(mix32(s));
        expect(rng.word).toBe(s);
      }
    }
    // A fresh generator's word is a signed 32-bit integer too, and continues the same way.
    const fresh = new SeededRandom(99);
    const w = fresh.word;
    expect(w).toBe(w | 0);
    expect(fresh.nextUint32()).toBe(mix32((w + SEEDED_RANDOM_STEP) | 0));
  });

  it('re-seeds the same way whatever seed it was re-seeded with before', () => {
    const fresh = (seed: number, index: number): number => new SeededRandom().reseed(seed, index).word;
    const reused = new SeededRandom();
    for (const [seed, index] of [[0, 1], [42, 7], [42, 8], [-3, 7], [0, 7], [2 ** 31, 9], [42, 2 ** 33]] as const) {
      expect(reused.reseed(seed, index).word).toBe(fresh(seed, index));
    }
  });

  it('gives the same stream for the same (seed, index) and different ones otherwise', () => {
    const a = new SeededRandom().reseed(1, 5);
    const b = new SeededRandom(123).reseed(1, 5);
    const xs = [a.nextUint32(), a.nextUint32(), a.nextFloat(), a.nextInt(1000)];
    expect([b.nextUint32(), b.nextUint32(), b.nextFloat(), b.nextInt(1000)]).toEqual(xs);
    expect(new SeededRandom().reseed(1, 6).nextUint32()).not.toBe(xs[0]);
    expect(new SeededRandom().reseed(2, 5).nextUint32()).not.toBe(xs[0]);
  });
});
