/**
 * The compiled per-shape writers (object-writers.ts): a shape gets one after COMPILE_AFTER_USES
 * predicted writes, and from then on it must write exactly what the generic path wrote and
 * refuse exactly what the generic path refused. Overflowing a fixed buffer at every capacity, on
 * both paths, is in record-serializer-numbers.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '@sluice/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRuntimeIfStale } from '../compiled-runtime.test-helper.js';
import { BufferDataInput } from './data-input.js';
import { BufferDataOutput } from './data-output.js';
import { createRecordSerializer, type RecordSerializer } from './record-serializer.js';
import { COMPILE_AFTER_USES } from './shapes.js';
import { Tag } from './value-tags.js';

/** A writer that has written `record`'s shape often enough to use its compiled writer. */
function warmWriter(record: Record<string, unknown>, uses = COMPILE_AFTER_USES + 1): RecordSerializer {
  const w = createRecordSerializer();
  const out = new BufferDataOutput(new Uint8Array(64), { growable: true });
  for (let i = 0; i < uses; i++) w.serialize(record, out);
  return w;
}

function bytesOf(w: RecordSerializer, v: unknown): number[] {
  const out = new BufferDataOutput(new Uint8Array(1), { growable: true });
  w.serialize(v, out);
  return [...out.bytes.subarray(0, out.pos)];
}

/** Serializes `values` through one writer (after `warm` copies of the first) and reads them back. */
function roundTrip(values: unknown[], warm = COMPILE_AFTER_USES + 1): unknown[] {
  const w = createRecordSerializer();
  const r = createRecordSerializer();
  const out = new BufferDataOutput(new Uint8Array(8), { growable: true });
  const all = [...Array<unknown>(warm).fill(values[0]), ...values];
  for (const v of all) w.serialize(v, out);
  const input = new BufferDataInput(out.bytes.slice(0, out.pos));
  const back = all.map(() => r.deserialize(input));
  expect(input.pos).toBe(out.pos);
  return back.slice(warm);
}

function unserializable(fn: () => void): SluiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SluiceError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('compiled shape writers', () => {
  const bid = { auction: 1234, bidder: 70_000, price: -5, dateTime: 1_700_000_000_123, emitMs: 0 };

  it('write the same bytes as the generic path, before and after compiling', () => {
    const early = warmWriter(bid, 1);
    const late = warmWriter(bid);
    for (const v of [bid, { ...bid, emitMs: 12.5 }, { ...bid, price: 'free', emitMs: -0 }, { ...bid, auction: { n: 1 } }]) {
      expect(bytesOf(late, v)).toEqual(bytesOf(early, v));
    }
    // Header: tag OBJECT and shape id 0, then the five values.
    expect(bytesOf(late, bid).slice(0, 2)).toEqual([Tag.OBJECT, 0]);
  });

  it('leave arrays, class instances and other prototypes to the general path', () => {
    // A compiled shape with index-like keys must not swallow an array with the same indices.
    const back = roundTrip([{ 0: 'a', 1: 'b' }, ['x', 'y'], { 0: 'c', 1: 'd' }]);
    expect(back).toStrictEqual([{ 0: 'a', 1: 'b' }, ['x', 'y'], { 0: 'c', 1: 'd' }]);

    class Bid {
      constructor(
        readonly auction: number,
        readonly bidder: number,
        readonly price: number,
        readonly dateTime: number,
        readonly emitMs: number,
      ) {}
    }
    const w = warmWriter(bid);
    const err = unserializable(() => w.serialize(new Bid(1, 2, 3, 4, 5), new BufferDataOutput(new Uint8Array(64))));
    expect(err.code).toBe('UNSERIALIZABLE_RECORD');
    expect(err.message).toContain('an instance of Bid');

    const bare = Object.assign(Object.create(null) as Record<string, unknown>, bid);
    const [same] = roundTrip([bid, bare]).slice(1);
    expect(same).toEqual(bid);
  });

  it('miss on other key orders, extra and missing keys, and inherited enumerable keys', () => {
    // Each miss follows a bid, so it meets the bid's compiled writer.
    const values = [bid, { bidder: 1, auction: 2, price: 3, dateTime: 4, emitMs: 5 }, bid, { ...bid, extra: 1 }, bid, { auction: 1, bidder: 2 }, bid];
    const back = roundTrip(values) as object[];
    expect(back).toStrictEqual(values);
    expect(back.map((o) => Object.keys(o))).toEqual(values.map((o) => Object.keys(o)));

    // An inherited enumerable key makes for…in see six keys: the general path writes the own five.
    const proto = Object.prototype as Record<string, unknown>;
    const w = warmWriter(bid);
    let polluted: number[];
    proto.polluted = 1;
    try {
      polluted = bytesOf(w, bid);
    } finally {
      delete proto.polluted;
    }
    expect(polluted).toEqual(bytesOf(warmWriter(bid), bid));
  });

  it('read each field once, getters included', () => {
    let reads = 0;
    const withGetter = {
      a: 1,
      get b(): number {
        reads++;
        return 2;
      },
    };
    const w = warmWriter(withGetter);
    reads = 0;
    w.serialize(withGetter, new BufferDataOutput(new Uint8Array(64)));
    expect(reads).toBe(1);
  });

  it('keep keys that are not identifiers as data', () => {
    const odd = { 'a"b': 1, '\u2028': 2, '0': 3, '"]; throw new Error("injected"); //': 4, 'ü': 'x', __proto__x: 5 };
    const withProtoKey = JSON.parse('{"__proto__": 1, "x": 2}') as Record<string, unknown>;
    expect(roundTrip([odd, { ...odd }])).toStrictEqual([odd, { ...odd }]);
    const back = roundTrip([withProtoKey, withProtoKey]) as Record<string, unknown>[];
    expect(Object.keys(back[1]!)).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(back[1])).toBe(Object.prototype);
    expect(back[1]!['__proto__']).toBe(1);
  });

  it('name the field that fails', () => {
    const w = warmWriter(bid);
    const err = unserializable(() => w.serialize({ ...bid, price: Symbol('p') }, new BufferDataOutput(new Uint8Array(64))));
    expect(err.message).toContain('field price of the record is a symbol');
  });

  it('grow a growable buffer in the middle of a record, numbers and strings alike', () => {
    const values = Array.from({ length: 3000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50), t: 1_700_000_000_000 + i / 4, n: { k: i } }));
    expect(roundTrip(values, 0)).toStrictEqual(values);
  });

  it('leave wide shapes to the generic path and still round-trip them', () => {
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, i * 1.5]));
    expect(roundTrip([wide, { ...wide, f0: 'x' }])).toStrictEqual([wide, { ...wide, f0: 'x' }]);
  });
});

describe('default serializer without code generation', () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'serialize-stream.mjs');
  beforeAll(() => buildRuntimeIfStale(['serialization/object-writers', 'serialization/shapes', 'serialization/record-serializer', 'serialization/data-output']), 120_000);

  function run(flags: string[]): { codegen: boolean; hex: string; roundTrip: boolean } {
    return JSON.parse(execFileSync(process.execPath, [...flags, fixture], { encoding: 'utf8', timeout: 60_000 })) as { codegen: boolean; hex: string; roundTrip: boolean };
  }

  it('writes the same bytes with --disallow-code-generation-from-strings and reads them back', () => {
    const compiled = run([]);
    const generic = run(['--disallow-code-generation-from-strings']);
    expect(compiled.codegen).toBe(true);
    expect(generic.codegen).toBe(false);
    expect(compiled.roundTrip).toBe(true);
    expect(generic.roundTrip).toBe(true);
    expect(generic.hex.length).toBeGreaterThan(1000);
    expect(generic.hex).toBe(compiled.hex);
  });
});
