import { SluiceError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { BufferDataInput } from './data-input.js';
import { BUFFER_OVERFLOW, BufferDataOutput } from './data-output.js';
import { createRecordSerializer, type RecordSerializer } from './record-serializer.js';
import { MAX_SHAPES } from './value-tags.js';

/** A writer and a reader serializer, like the two ends of one channel. */
function channel(): { w: RecordSerializer; r: RecordSerializer } {
  return { w: createRecordSerializer(), r: createRecordSerializer() };
}

function roundTripAll(values: unknown[], c = channel()): unknown[] {
  const out = new BufferDataOutput(new Uint8Array(16), { growable: true });
  for (const v of values) c.w.serialize(v, out);
  const input = new BufferDataInput(out.bytes.slice(0, out.pos));
  const back: unknown[] = [];
  for (let i = 0; i < values.length; i++) back.push(c.r.deserialize(input));
  expect(input.pos).toBe(out.pos);
  return back;
}

const roundTrip = (v: unknown): unknown => roundTripAll([v])[0];

function sizeOf(w: RecordSerializer, v: unknown): number {
  const out = new BufferDataOutput(new Uint8Array(16), { growable: true });
  w.serialize(v, out);
  return out.pos;
}

describe('default record serializer: round trips', () => {
  const protoKey: unknown = JSON.parse('{"__proto__": 1, "a": 2}');
  const nullProto = Object.assign(Object.create(null) as object, { x: 1 });
  const cases: [string, unknown][] = [
    ['zero', 0],
    ['negative zero', -0],
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['small int', 127],
    ['int8 boundary', 128],
    ['negative small', -1],
    ['int8 min', -128],
    ['int16', -129],
    ['int16 max', 32767],
    ['int32', 32768],
    ['int32 max', 2 ** 31 - 1],
    ['int32 min', -(2 ** 31)],
    ['beyond int32', 2 ** 31],
    ['max safe integer', Number.MAX_SAFE_INTEGER],
    ['epoch millis', 1_700_000_000_123],
    ['fraction', 1.5],
    ['tiny', 5e-324],
    ['empty string', ''],
    ['ascii', 'user-42'],
    ['latin-1', 'héllo wörld'],
    ['CJK', '日本語のテキスト'],
    ['emoji', 'a😀b'],
    ['long ascii', 'x'.repeat(200)],
    ['very long mixed', 'é'.repeat(20_000) + 'z'],
    ['true', true],
    ['false', false],
    ['null', null],
    ['undefined', undefined],
    ['bigint', 123n],
    ['negative bigint', -98765432109876543210n],
    ['huge bigint', 2n ** 200n],
    ['date', new Date(1_700_000_000_000)],
    ['invalid date', new Date(NaN)],
    ['empty array', []],
    ['array', [1, 'a', null, undefined, [2, [3]]]],
    ['empty object', {}],
    ['object', { id: 'u1', n: 3, nested: { deep: { x: [1, { y: 2 }] } } }],
    ['undefined field', { a: undefined, b: 1 }],
    ['integer-like keys', { b: 1, 2: 'two', a: 3, 1: 'one' }],
    ['odd keys', { '': 1, 'with space': 2, 'quote"s': 3, '\u2028': 4, 'constructor': 5 }],
    ['own __proto__ key', protoKey],
    ['null-prototype object', nullProto],
    ['map', new Map<unknown, unknown>([['a', 1], [2, { b: [3] }]])],
    ['set', new Set([1, 'x', null])],
    ['array of objects', [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { a: 3, c: true }]],
  ];

  it.each(cases)('%s', (_name, value) => {
    const back = roundTrip(value);
    if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
    else if (value === nullProto) expect(back).toEqual({ x: 1 });
    else expect(back).toStrictEqual(value);
    if (value !== null && typeof value === 'object' && !(value instanceof Map) && !(value instanceof Set)) {
      expect(Object.keys(back as object)).toEqual(Object.keys(value));
    }
  });

  it('keeps an own __proto__ key as data, not as the prototype', () => {
    const back = roundTrip(protoKey) as object;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe(1);
  });

  it('reads array holes as undefined', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(roundTrip([1, , 3])).toStrictEqual([1, undefined, 3]);
  });

  it('replaces lone surrogates like TextEncoder does', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffdb');
  });

  it('writes small integers in one byte and int32 in five', () => {
    const w = createRecordSerializer();
    expect(sizeOf(w, 5)).toBe(1);
    expect(sizeOf(w, -5)).toBe(2);
    expect(sizeOf(w, 1000)).toBe(3);
    expect(sizeOf(w, 100_000)).toBe(5);
    expect(sizeOf(w, 0.5)).toBe(9);
    expect(sizeOf(w, -0)).toBe(9);
  });
});

describe('default record serializer: shapes', () => {
  it('defines a shape once per stream and refers to it by id afterwards', () => {
    const w = createRecordSerializer();
    const rec = (i: number) => ({ userId: `u${i}`, amount: i, country: 'DE', flagged: false });
    const first = sizeOf(w, rec(1));
    const second = sizeOf(w, rec(2));
    expect(second).toBeLessThan(first - 'userIdamountcountryflagged'.length);
    expect(w.writtenShapeCount).toBe(1);
    // A different key order is a different shape.
    sizeOf(w, { amount: 1, userId: 'u', country: 'DE', flagged: false });
    expect(w.writtenShapeCount).toBe(2);
  });

  it('decodes a long stream of mixed shapes with nested shapes', () => {
    const values: unknown[] = [];
    for (let i = 0; i < 500; i++) {
      if (i % 3 === 0) values.push({ k: i, v: { a: i, b: [{ x: 1 }, { x: 2, y: 3 }] } });
      else if (i % 3 === 1) values.push({ k: i, w: 'x' });
      else values.push([{ k: i }, { k: i + 1, extra: null }]);
    }
    const c = channel();
    expect(roundTripAll(values, c)).toStrictEqual(values);
    expect(c.w.writtenShapeCount).toBeLessThan(10);
  });

  it('decodes objects of one shape with identical key order (one hidden class per shape)', () => {
    const back = roundTripAll([{ a: 1, b: 2 }, { a: 3, b: 4 }]) as object[];
    expect(back.map((o) => Object.keys(o))).toEqual([['a', 'b'], ['a', 'b']]);
  });

  it('stays correct when Object.prototype has an enumerable property', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      const values = [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { a: 3, b: 'z' }];
      const back = roundTripAll(values) as Record<string, unknown>[];
      expect(back.map((o) => Object.keys(o))).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b']]);
      expect(back.map((o) => [o.a, o.b])).toEqual([[1, 'x'], [2, 'y'], [3, 'z']]);
    } finally {
      delete proto.polluted;
    }
  });

  it('switches shapes at the same place in the record (prediction misses)', () => {
    const values = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? { a: i, inner: { p: 1 } } : { a: i, inner: { q: 'x', p: 2 } }));
    expect(roundTripAll(values)).toStrictEqual(values);
    const mixedTop = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? { a: i } : i % 3 === 1 ? { a: i, b: i } : { b: i }));
    expect(roundTripAll(mixedTop)).toStrictEqual(mixedTop);
  });

  it('falls back to inline keys after MAX_SHAPES distinct shapes', () => {
    const values = Array.from({ length: MAX_SHAPES + 50 }, (_, i) => ({ [`key${i}`]: i }));
    const c = channel();
    expect(roundTripAll(values, c)).toStrictEqual(values);
    expect(c.w.writtenShapeCount).toBe(MAX_SHAPES);
  });

  it('forgets shapes of a record that overflowed the buffer, so the retry redefines them', () => {
    const c = channel();
    const batches: Uint8Array[] = [];
    const out = new BufferDataOutput(new Uint8Array(72));
    const records = [{ a: 1 }, { a: 2 }, { veryLongKeyName: 'x'.repeat(20), nested: { anotherLongKey: 1 } }, { veryLongKeyName: 'y', nested: { anotherLongKey: 2 } }];
    for (const r of records) {
      const start = out.pos;
      try {
        c.w.serialize(r, out);
      } catch (err) {
        expect(err).toBe(BUFFER_OVERFLOW);
        out.pos = start;
        batches.push(out.bytes.slice(0, out.pos));
        out.pos = 0;
        c.w.serialize(r, out);
      }
    }
    batches.push(out.bytes.slice(0, out.pos));
    expect(batches.length).toBeGreaterThan(1);
    const back: unknown[] = [];
    for (const b of batches) {
      const input = new BufferDataInput(b);
      while (input.pos < b.length) back.push(c.r.deserialize(input));
    }
    expect(back).toStrictEqual(records);
  });

  it('forgets shapes of a record that failed as unserializable', () => {
    const c = channel();
    const out = new BufferDataOutput(new Uint8Array(16), { growable: true });
    c.w.serialize({ a: 1 }, out);
    const start = out.pos;
    expect(() => c.w.serialize({ fresh: { inner: 1 }, bad: () => 1 }, out)).toThrow(SluiceError);
    out.pos = start;
    c.w.serialize({ fresh: { inner: 2 }, bad: 0 }, out);
    const input = new BufferDataInput(out.bytes.slice(0, out.pos));
    expect([c.r.deserialize(input), c.r.deserialize(input)]).toStrictEqual([{ a: 1 }, { fresh: { inner: 2 }, bad: 0 }]);
  });
});

describe('default record serializer: randomized round trips', () => {
  // Small deterministic PRNG (mulberry32) so a failure reproduces.
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const specials = [0, -0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1, 1e308, 5e-324];
  const keys = ['id', 'name', 'ts', 'value', 'tags', 'meta', '0', '7', 'ü'];

  function gen(r: () => number, depth: number): unknown {
    const k = Math.floor(r() * (depth > 3 ? 8 : 11));
    switch (k) {
      case 0:
        return Math.floor(r() * 300) - 150;
      case 1:
        return (r() - 0.5) * 1e9;
      case 2:
        return specials[Math.floor(r() * specials.length)];
      case 3:
        return Array.from({ length: Math.floor(r() * 30) }, () => String.fromCharCode(Math.floor(r() < 0.9 ? 32 + r() * 95 : 0xa0 + r() * 0x3000))).join('');
      case 4:
        return r() < 0.5;
      case 5:
        return r() < 0.5 ? null : undefined;
      case 6:
        return BigInt(Math.floor(r() * 1e15)) * (r() < 0.5 ? -1n : 1n);
      case 7:
        return new Date(Math.floor(r() * 2e12));
      case 8:
        return Array.from({ length: Math.floor(r() * 5) }, () => gen(r, depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        const n = Math.floor(r() * 5);
        for (let i = 0; i < n; i++) o[keys[Math.floor(r() * keys.length)]!] = gen(r, depth + 1);
        return o;
      }
    }
  }

  it.each([1, 2, 3])('seed %i: 3000 values through one channel stream', (seed) => {
    const r = rng(seed);
    const values = Array.from({ length: 3000 }, () => gen(r, 0));
    expect(roundTripAll(values)).toStrictEqual(values);
  });
});

describe('default record serializer: unsupported values', () => {
  function errorFor(v: unknown): SluiceError {
    try {
      createRecordSerializer().serialize(v, new BufferDataOutput(new Uint8Array(64), { growable: true }));
    } catch (err) {
      if (err instanceof SluiceError) return err;
      throw err;
    }
    throw new Error('expected an error');
  }
  class Point {
    constructor(readonly x: number) {}
  }
  const cases: [string, unknown, RegExp][] = [
    ['function', function handler() {}, /the record is a function \(handler\)/],
    ['symbol', Symbol('s'), /the record is a symbol/],
    ['class instance', new Point(1), /an instance of Point/],
    ['nested class instance', { a: { b: [1, new Point(2)] } }, /field a\.b\[1\] of the record is an instance of Point/],
    ['odd key path', { 'x y': new Uint8Array(1) }, /field \["x y"\] of the record is an instance of Uint8Array/],
    ['inside a map', new Map([[1, () => 0]]), /field <map value 0> of the record is a function/],
    ['weak map', new WeakMap(), /an instance of WeakMap/],
    ['promise', Promise.resolve(1), /an instance of Promise/],
  ];
  it.each(cases)('%s', (_name, value, message) => {
    const err = errorFor(value);
    expect(err.code).toBe('UNSERIALIZABLE_RECORD');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('.withSerializer()');
  });

  it('reports a cycle instead of overflowing the stack', () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    const err = errorFor(o);
    expect(err.code).toBe('UNSERIALIZABLE_RECORD');
    expect(err.message).toMatch(/nested deeper than \d+ levels \(is there a cycle\?\)/);
  });
});
