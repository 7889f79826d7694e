import { describe, expect, it } from 'vitest';
import { defaultMaxParallelism, hashKey, keyGroupFor, keyGroupRangeFor, murmur3, operatorIndexForKeyGroup } from './keygroups.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('murmur3 (x86, 32-bit)', () => {
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['hello', 0, 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['abc', 0, 0xb3dd93fa],
  ])('murmur3(%j, seed %i) = %i', (input, seed, expected) => {
    expect(murmur3(bytes(input), undefined, seed)).toBe(expected);
  });
});

describe('key groups', () => {
  it('hashes equal keys equally and ASCII/non-ASCII strings by their UTF-8 bytes', () => {
    expect(hashKey('card-42')).toBe(murmur3(bytes('card-42')));
    expect(hashKey('zürich')).toBe(murmur3(bytes('zürich')));
    expect(hashKey(7)).toBe(hashKey(7));
    expect(hashKey([1, 'a'])).toBe(hashKey([1, 'a']));
    expect(hashKey(1)).not.toBe(hashKey('1'));
  });

  it('hashes an int32 key as its 4 little-endian bytes and any other number as its float64 bytes', () => {
    const le = (n: number, size: 4 | 8): Uint8Array => {
      const d = new DataView(new ArrayBuffer(size));
      if (size === 4) d.setInt32(0, n, true);
      else d.setFloat64(0, n, true);
      return new Uint8Array(d.buffer);
    };
    const ints = [0, -0, 1, -1, 127, 128, 255, 256, 65535, 65536, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678, 1_000_003];
    for (let x = 1; x < 2 ** 31; x = x * 3 + 1) ints.push(x, -x);
    for (const n of ints) expect(hashKey(n), String(n)).toBe(murmur3(le(n, 4)));
    for (const n of [0.5, 2 ** 31, -(2 ** 31) - 1, 1_700_000_000_000, NaN, Infinity]) expect(hashKey(n), String(n)).toBe(murmur3(le(n, 8)));
  });

  it('splits key groups into contiguous ranges that cover everything exactly once', () => {
    for (const [maxP, p] of [[128, 1], [128, 3], [128, 4], [10, 7], [32768, 5]] as const) {
      let next = 0;
      for (let i = 0; i < p; i++) {
        const r = keyGroupRangeFor(maxP, p, i);
        expect(r.start).toBe(next);
        for (const g of [r.start, r.end]) expect(operatorIndexForKeyGroup(g, maxP, p)).toBe(i);
        next = r.end + 1;
      }
      expect(next).toBe(maxP);
    }
  });

  it('routes every key to the subtask whose range holds its key group', () => {
    for (let k = 0; k < 2000; k++) {
      const key = `k${k}`;
      const g = keyGroupFor(key, 128);
      const idx = operatorIndexForKeyGroup(g, 128, 4);
      const r = keyGroupRangeFor(128, 4, idx);
      expect(g).toBeGreaterThanOrEqual(r.start);
      expect(g).toBeLessThanOrEqual(r.end);
    }
  });

  it('derives the default max parallelism like Flink', () => {
    expect(defaultMaxParallelism(1)).toBe(128);
    expect(defaultMaxParallelism(100)).toBe(256);
    expect(defaultMaxParallelism(100_000)).toBe(32768);
  });
});
