import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { readingSection, readMap, readTimers, SectionFormatError, SectionReader, SectionWriter, writeMap, writeTimers, type TimerEntry, type TimerLink, type TimerSource } from './section-codec.js';

function roundTrip(map: Map<unknown, unknown>): { back: Map<unknown, unknown>; bytes: Uint8Array } {
  const w = new SectionWriter(16);
  writeMap(w, map);
  const bytes = w.take();
  const r = new SectionReader(bytes);
  const back = readMap(r);
  expect(r.atEnd).toBe(true);
  return { back, bytes };
}

/** The map kind byte the writer chose: 0 = v8 data, 1 = numbers, 2 = number records. */
const kindOf = (bytes: Uint8Array): number => bytes[0]!;

/** Timers as TimerQueue links them: per key, a list. */
function timerSource(timers: TimerEntry[]): TimerSource {
  const chains = new Map<unknown, TimerLink>();
  for (const [key, namespace, timestamp] of timers) {
    const norm = typeof key === 'object' ? JSON.stringify(key) : key;
    chains.set(norm, { key, namespace, timestamp, next: chains.get(norm) });
  }
  return { chainsOfGroup: (kg) => (kg === 7 && chains.size > 0 ? chains : undefined) };
}

describe('section codec: maps', () => {
  it('packs number values under number and string keys, keeping -0, NaN and infinities', () => {
    const map = new Map<unknown, unknown>([
      [1, 0.5],
      ['acct-ü-€', -0],
      [2 ** 53, NaN],
      [-7, Infinity],
      ['', -Infinity],
    ]);
    const { back, bytes } = roundTrip(map);
    expect(kindOf(bytes)).toBe(1);
    expect([...back]).toEqual([...map]);
    expect(Object.is(back.get('acct-ü-€'), -0)).toBe(true);
    expect(Number.isNaN(back.get(2 ** 53))).toBe(true);
  });

  it('writes integers in one or four bytes and everything else as a float64, exactly', () => {
    const numbers = [0, 1, 255, 256, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 0.5, -0, 1e-300, 1732412345678];
    const map = new Map<unknown, unknown>(numbers.map((n, i) => [i, n]));
    const { back, bytes } = roundTrip(map);
    expect([...back.values()].map((v) => Object.is(v, -0) ? '-0' : v)).toEqual(numbers.map((v) => Object.is(v, -0) ? '-0' : v));
    // kind + varint count, then per entry a one-byte key and its value: 2, 2, 2, 5, 5, 5, 5, 9, 9, 9, 9, 9, 9.
    expect(bytes.length).toBe(1 + 1 + numbers.length * 2 + 3 * 2 + 4 * 5 + 6 * 9);
  });

  it('packs plain objects of number fields, keeping field order and integer-like field names', () => {
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < 1000; i++) map.set(i % 2 === 0 ? i : `k${i}`, { count: i, emitMs: i * 1.5, 2: -i, 10: 0 });
    const { back, bytes } = roundTrip(map);
    expect(kindOf(bytes)).toBe(2);
    expect(back).toEqual(map);
    expect(Object.keys(back.get('k3')!)).toEqual(['2', '10', 'count', 'emitMs']);
    expect(Object.getPrototypeOf(back.get(4))).toBe(Object.prototype);
    // Values are fresh objects: the snapshot does not alias live state.
    expect(back.get(4)).not.toBe(map.get(4));
  });

  it('packed records are much smaller than v8 data, which spells every field name out', () => {
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < 10_000; i++) map.set(i, { count: i % 9, emitMs: 0 });
    const { bytes } = roundTrip(map);
    expect(bytes.length).toBeLessThan(serialize(map).length);
  });

  it.each([
    ['a string value', new Map<unknown, unknown>([[1, 2], [2, 'x']])],
    ['an object value among numbers', new Map<unknown, unknown>([[1, 2], [2, { a: 1 }]])],
    ['an object with an extra field', new Map<unknown, unknown>([[1, { a: 1 }], [2, { a: 2, b: 3 }]])],
    ['an object with a missing field', new Map<unknown, unknown>([[1, { a: 1, b: 2 }], [2, { a: 2 }]])],
    ['fields in another order', new Map<unknown, unknown>([[1, { a: 1, b: 2 }], [2, { b: 2, a: 1 }]])],
    ['a non-number field', new Map<unknown, unknown>([[1, { a: 1 }], [2, { a: 'x' }]])],
    ['a nested object', new Map<unknown, unknown>([[1, { a: { b: 1 } }]])],
    ['an array value', new Map<unknown, unknown>([[1, [1, 2]]])],
    ['an empty object', new Map<unknown, unknown>([[1, {}]])],
    ['a boolean key', new Map<unknown, unknown>([[true, 1]])],
    ['a bigint key', new Map<unknown, unknown>([[10n, 1]])],
    ['a key with a lone surrogate (UTF-8 cannot carry it)', new Map<unknown, unknown>([['a\ud800', 1]])],
    ['an undefined value', new Map<unknown, unknown>([[1, 1], [2, undefined]])],
    ['a null value', new Map<unknown, unknown>([[1, null]])],
    ['an own __proto__ field', new Map<unknown, unknown>([[1, JSON.parse('{"__proto__": 5, "a": 1}') as unknown]])],
  ])('falls back to v8 data for %s, and restores exactly what v8 would', (_what, map) => {
    const { back, bytes } = roundTrip(map);
    expect(kindOf(bytes)).toBe(0);
    expect(back).toEqual(map);
  });

  it('falls back for class instances and null-prototype objects (v8 restores them as plain objects)', () => {
    class Acc {
      constructor(public n: number) {}
    }
    const bare = Object.assign(Object.create(null) as Record<string, number>, { n: 1 });
    for (const value of [new Acc(1), bare]) {
      const { back, bytes } = roundTrip(new Map([[1, value]]));
      expect(kindOf(bytes)).toBe(0);
      expect(back.get(1)).toEqual({ n: 1 });
    }
  });

  it('keeps only own enumerable fields, as v8 does', () => {
    const v = { a: 1 };
    Object.defineProperty(v, 'hidden', { value: 2, enumerable: false });
    const { back, bytes } = roundTrip(new Map([[1, v]]));
    expect(kindOf(bytes)).toBe(2);
    expect(back.get(1)).toEqual({ a: 1 });
  });
});

describe('section codec: timers', () => {
  const read = (bytes: Uint8Array): TimerEntry[] => {
    const r = new SectionReader(bytes);
    const out = readTimers(r);
    expect(r.atEnd).toBe(true);
    return out;
  };
  const sorted = (xs: TimerEntry[]): TimerEntry[] => [...xs].sort((a, b) => a[2] - b[2]);

  it('packs timers with number or string keys and namespaces, one key entry per key', () => {
    const timers: TimerEntry[] = [];
    for (let k = 0; k < 100; k++) for (let w = 0; w < 5; w++) timers.push([k % 2 === 0 ? k : `user-${k}`, w % 2 === 0 ? w * 2000 : `ns-${w}`, k * 10 + w]);
    const w = new SectionWriter(8);
    writeTimers(w, timerSource(timers), 7);
    const bytes = w.take();
    expect(bytes[0]).toBe(2);
    expect(sorted(read(bytes))).toEqual(sorted(timers));
  });

  it('writes timers with object keys as v8 data', () => {
    const timers: TimerEntry[] = [
      [{ user: 1 }, 0, 5],
      [{ user: 2 }, 0, 6],
    ];
    const w = new SectionWriter();
    writeTimers(w, timerSource(timers), 7);
    const bytes = w.take();
    expect(bytes[0]).toBe(1);
    expect(sorted(read(bytes))).toEqual(sorted(timers));
  });

  it('writes one byte for a key group without timers', () => {
    const w = new SectionWriter();
    writeTimers(w, timerSource([[1, 0, 1]]), 3);
    writeTimers(w, undefined, 7);
    const bytes = w.take();
    expect([...bytes]).toEqual([0, 0]);
    const r = new SectionReader(bytes);
    expect(readTimers(r)).toEqual([]);
    expect(readTimers(r)).toEqual([]);
  });
});

describe('section codec: damaged input', () => {
  it('reports a truncated section instead of reading past its end', () => {
    const w = new SectionWriter();
    writeMap(w, new Map([[1, { a: 1, b: 2 }], [2, { a: 3, b: 4 }]]));
    const bytes = w.take();
    for (const cut of [1, 5, 10, bytes.length - 1]) {
      expect(() => readingSection(() => readMap(new SectionReader(bytes.subarray(0, cut))))).toThrow(SectionFormatError);
    }
  });

  it('reports unknown encodings and tags', () => {
    expect(() => readMap(new SectionReader(Uint8Array.of(9)))).toThrow(/unknown map encoding 9/);
    expect(() => readTimers(new SectionReader(Uint8Array.of(7)))).toThrow(/unknown timer encoding 7/);
    // A numbers map of one entry whose key has tag 5.
    expect(() => readMap(new SectionReader(Uint8Array.of(1, 1, 5)))).toThrow(/unknown value tag 5/);
  });
});
