import { SluiceError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { BufferDataInput } from './data-input.js';
import { BUFFER_OVERFLOW, BufferDataOutput } from './data-output.js';
import { createRecordSerializer } from './record-serializer.js';
import { COMPILE_AFTER_USES } from './shapes.js';
import { Tag } from './value-tags.js';

/** The documented number encoding, spelled out with a DataView: what the fast paths must match. */
function referenceNumber(v: number): number[] {
  const isInt32 = (v | 0) === v && !Object.is(v, -0);
  const at = (tag: number, size: number, put: (d: DataView) => void): number[] => {
    const d = new DataView(new ArrayBuffer(1 + size));
    d.setUint8(0, tag);
    put(d);
    return [...new Uint8Array(d.buffer)];
  };
  if (isInt32 && v >= 0 && v < 0x80) return [Tag.SMALL_INT + v];
  if (isInt32 && v >= -0x80 && v < 0x80) return at(Tag.INT8, 1, (d) => d.setInt8(1, v));
  if (isInt32 && v >= -0x8000 && v < 0x8000) return at(Tag.INT16, 2, (d) => d.setInt16(1, v, true));
  if (isInt32) return at(Tag.INT32, 4, (d) => d.setInt32(1, v, true));
  return at(Tag.FLOAT64, 8, (d) => d.setFloat64(1, v, true));
}

/**
 * Writes `records` with one serializer into a growable buffer of `capacity` bytes, reads them back
 * with another, and expects them equal and every byte read; returns the writer.
 */
function expectRoundTrip(records: readonly unknown[], capacity: number): ReturnType<typeof createRecordSerializer> {
  const w = createRecordSerializer();
  const r = createRecordSerializer();
  const out = new BufferDataOutput(new Uint8Array(capacity), { growable: true });
  for (const rec of records) w.serialize(rec, out);
  const input = new BufferDataInput(out.bytes.slice(0, out.pos));
  for (const rec of records) expect(r.deserialize(input)).toEqual(rec);
  expect(input.pos).toBe(out.pos);
  return w;
}

const numbers = [
  0, -0, 1, 127, 128, -1, -127, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536,
  2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 0.5, -0.5, 1_700_000_000_123, 1_700_000_000_123.25, 0x12345678, -0x12345678,
];

function bytesOf(write: (out: BufferDataOutput) => void): number[] {
  const out = new BufferDataOutput(new Uint8Array(1), { growable: true });
  write(out);
  return [...out.bytes.subarray(0, out.pos)];
}

describe('default record serializer: number fields', () => {
  it('encodes every number, top-level and as a field of a predicted shape, byte for byte as documented', () => {
    for (const v of numbers) {
      expect(bytesOf((out) => createRecordSerializer().serialize(v, out)), String(v)).toEqual(referenceNumber(v));
      // Later objects of the shape, after tag OBJECT and shape id 0: the second on the predicted
      // (for…in) path, and one past COMPILE_AFTER_USES by the shape's compiled writer.
      for (const earlier of [1, COMPILE_AFTER_USES + 1]) {
        const w = createRecordSerializer();
        for (let i = 0; i < earlier; i++) w.serialize({ a: 1, b: 2 }, new BufferDataOutput(new Uint8Array(64)));
        expect(bytesOf((out) => w.serialize({ a: v, b: v }, out)), `${v} after ${earlier}`).toEqual([Tag.OBJECT, 0, ...referenceNumber(v), ...referenceNumber(v)]);
      }
    }
  });

  it('round-trips NaN, −0, integers beyond int32 and doubles exactly through a predicted shape', () => {
    const w = createRecordSerializer();
    const r = createRecordSerializer();
    const out = new BufferDataOutput(new Uint8Array(8), { growable: true });
    for (const v of numbers) w.serialize({ x: v, y: -v }, out);
    const input = new BufferDataInput(out.bytes.slice(0, out.pos));
    for (const v of numbers) {
      const back = r.deserialize(input) as { x: number; y: number };
      expect(Object.is(back.x, v) && Object.is(back.y, -v), String(v)).toBe(true);
    }
    expect(input.pos).toBe(out.pos);
  });

  it('follows a field that changes between numbers, strings, objects and other values mid-stream', () => {
    const values: unknown[] = [1, 'one', { n: 1 }, 2.5, null, [3, { n: 4 }], undefined, 5n, { n: 'six' }, true, new Date(7), -0, { n: NaN }, 2 ** 40];
    const records = values.flatMap((v, i) => [{ k: i, v, t: 1_700_000_000_000 + i }, { k: -i, v: i, t: 0.25 }]);
    const w = expectRoundTrip(records, 4);
    // One shape for the records and one for { n }: the nested objects were predicted, not re-registered.
    expect(w.writtenShapeCount).toBe(2);
  });

  it('names the field when a value that was a number becomes unserializable', () => {
    const w = createRecordSerializer();
    const out = new BufferDataOutput(new Uint8Array(256));
    w.serialize({ auction: 1, price: 2 }, out);
    let caught: unknown;
    try {
      w.serialize({ auction: 1, price: Symbol('p') }, out);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe('UNSERIALIZABLE_RECORD');
    expect((caught as SluiceError).message).toContain('field price of the record is a symbol');
  });

  // The varied field sits before a last number; a string there goes through the general writer
  // in the middle of the compiled writer's record.
  const varied = [0, -5, 1234, 70_000, 0.5, -0, 'a string between numbers'];
  // After one earlier record of the shape the for…in path writes it; after more, its compiled writer.
  const cases = [1, COMPILE_AFTER_USES + 1].flatMap((earlier) => varied.map((v) => [earlier, v] as const));
  it.each(cases)('overflows a fixed buffer exactly when the record does not fit, at every capacity (after %i, varied field %s)', (earlier, v) => {
    const rec = { auction: 1234, bidder: 70_000, price: -5, dateTime: 1_700_000_000_123, emitMs: 0, v, when: 0.5 };
    const warmed = (): ReturnType<typeof createRecordSerializer> => {
      const w = createRecordSerializer();
      for (let i = 0; i < earlier; i++) w.serialize(rec, new BufferDataOutput(new Uint8Array(256)));
      return w;
    };
    const full = bytesOf((out) => warmed().serialize(rec, out));
    expect(full.slice(0, 2)).toEqual([Tag.OBJECT, 0]);
    for (let cap = 0; cap <= full.length + 1; cap++) {
      const w = warmed();
      const out = new BufferDataOutput(new Uint8Array(cap));
      let thrown: unknown;
      try {
        w.serialize(rec, out);
      } catch (err) {
        thrown = err;
      }
      if (cap < full.length) expect(thrown, `capacity ${cap}`).toBe(BUFFER_OVERFLOW);
      else expect([...out.bytes.subarray(0, out.pos)], `capacity ${cap}`).toEqual(full);
    }
  });

  it('grows a growable buffer across its boundary in the middle of number payloads', () => {
    const records = Array.from({ length: 2000 }, (_, i) => ({ a: i * 65_537, b: 1_700_000_000_000 + i / 8, c: i - 1000 }));
    expectRoundTrip(records, 1);
  });
});
