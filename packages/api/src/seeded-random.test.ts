import { describe, expect, it } from 'vitest';
import { mix32, SEEDED_RANDOM_STEP, SeededRandom, seededWords } from './seeded-random.js';

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

  it('seededWords gives the words re-seeding gives, for indices in and beyond 31 bits', () => {
    const cases: Array<[seed: number, first: number, stride: number, count: number]> = [
      [42, 0, 1, 300],
      [42, 1, 2, 300],
      [-7, 5, 7, 200],
      [2 ** 31, 3, 3, 50],
      // Bursts that end at, cross and lie beyond 2^31 and 2^32 (the integer loop's limit and the high word).
      [42, 2 ** 31 - 2 * 10 - 1, 2, 10],
      [42, 2 ** 31 - 10, 2, 10],
      [42, 2 ** 32 - 5, 1, 10],
      [9, 2 ** 40 + 3, 5, 20],
    ];
    const rng = new SeededRandom();
    for (const [seed, first, stride, count] of cases) {
      const into = new Int32Array(count + 1).fill(12345);
      seededWords(seed, first, stride, count, into);
      const expected = Array.from({ length: count }, (_, k) => rng.reseed(seed, first + k * stride).word);
      expect(Array.from(into.subarray(0, count))).toEqual(expected);
      expect(into[count]).toBe(12345);
    }
  });
});
