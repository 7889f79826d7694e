import { SluiceError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { BufferDataInput } from './data-input.js';
import { BUFFER_OVERFLOW, BufferDataOutput, utf8Length } from './data-output.js';

describe('BufferDataOutput / BufferDataInput', () => {
  it('round-trips every primitive write', () => {
    const out = new BufferDataOutput(new Uint8Array(8), { growable: true });
    out.writeUint8(255);
    out.writeInt8(-7);
    out.writeInt16(-30000);
    out.writeInt32(-123456789);
    out.writeFloat64(-0);
    for (const v of [0, 127, 128, 16383, 16384, 2 ** 21, 2 ** 31 - 1]) out.writeVarUint(v);
    out.writeString('plain');
    out.writeString('ünïcödé 😀');
    out.writeBytes(new Uint8Array([1, 2, 3]));
    const input = new BufferDataInput(out.bytes.subarray(0, out.pos));
    expect(input.readUint8()).toBe(255);
    expect(input.readInt8()).toBe(-7);
    expect(input.readInt16()).toBe(-30000);
    expect(input.readInt32()).toBe(-123456789);
    expect(Object.is(input.readFloat64(), -0)).toBe(true);
    for (const v of [0, 127, 128, 16383, 16384, 2 ** 21, 2 ** 31 - 1]) expect(input.readVarUint()).toBe(v);
    expect(input.readString()).toBe('plain');
    expect(input.readString()).toBe('ünïcödé 😀');
    expect(input.readBytes()).toEqual(new Uint8Array([1, 2, 3]));
    expect(input.pos).toBe(out.pos);
  });

  it('writes a tag and a payload in one call exactly as the two separate writes would', () => {
    const cases: [string, (o: BufferDataOutput) => void, (o: BufferDataOutput) => void][] = [
      ['int8', (o) => o.writeUint8Int(4, -128, 1), (o) => (o.writeUint8(4), o.writeInt8(-128))],
      ['int16', (o) => o.writeUint8Int(5, -30000, 2), (o) => (o.writeUint8(5), o.writeInt16(-30000))],
      ['int32', (o) => o.writeUint8Int(6, -123456789, 4), (o) => (o.writeUint8(6), o.writeInt32(-123456789))],
      ['int32 max', (o) => o.writeUint8Int(6, 2 ** 31 - 1, 4), (o) => (o.writeUint8(6), o.writeInt32(2 ** 31 - 1))],
      ['float64', (o) => o.writeUint8Float64(7, -0), (o) => (o.writeUint8(7), o.writeFloat64(-0))],
    ];
    for (const [name, combined, separate] of cases) {
      const a = new BufferDataOutput(new Uint8Array(1), { growable: true });
      const b = new BufferDataOutput(new Uint8Array(1), { growable: true });
      a.writeUint8(9);
      b.writeUint8(9);
      combined(a);
      separate(b);
      expect([...a.bytes.subarray(0, a.pos)], name).toEqual([...b.bytes.subarray(0, b.pos)]);
      // A fixed output one byte short overflows; one of the exact size does not.
      const size = b.pos - 1;
      expect(() => combined(new BufferDataOutput(new Uint8Array(size - 1))), name).toThrow(expect.objectContaining({ bufferOverflow: true }));
      const exact = new BufferDataOutput(new Uint8Array(size));
      combined(exact);
      expect(exact.pos, name).toBe(size);
    }
  });

  it('computes UTF-8 lengths like TextEncoder', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\ud800', '\udc00x', 'mixed ü 😀 €']) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });

  it('throws the overflow sentinel from a fixed-size output, for ASCII and non-ASCII strings', () => {
    for (const s of ['x'.repeat(20), 'é'.repeat(20)]) {
      const out = new BufferDataOutput(new Uint8Array(16));
      expect(() => out.writeString(s)).toThrow();
      try {
        out.writeString(s);
      } catch (err) {
        expect(err).toBe(BUFFER_OVERFLOW);
      }
    }
    const out = new BufferDataOutput(new Uint8Array(4));
    out.writeInt32(1);
    expect(() => out.writeUint8(1)).toThrow();
  });

  it('fits a string exactly at the end of a fixed buffer', () => {
    const out = new BufferDataOutput(new Uint8Array(11));
    out.writeString('0123456789');
    expect(out.remaining()).toBe(0);
    const input = new BufferDataInput(out.bytes);
    expect(input.readString()).toBe('0123456789');
  });

  it('rejects reads past the end of the range with a clear error', () => {
    const input = new BufferDataInput(new Uint8Array(32));
    input.setRange(4, 6);
    expect(() => input.readInt32()).toThrow(SluiceError);
    expect(() => input.readInt32()).toThrow(/runs past the end of the batch/);
  });

  it('decodes strings from SharedArrayBuffer memory', () => {
    const out = new BufferDataOutput(new Uint8Array(64));
    out.writeString('short');
    out.writeString('a longer ascii string of more than sixteen');
    out.writeString('grüße');
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    shared.set(out.bytes.subarray(0, out.pos));
    const input = new BufferDataInput(shared);
    expect([input.readString(), input.readString(), input.readString()]).toEqual(['short', 'a longer ascii string of more than sixteen', 'grüße']);
  });
});
