/**
 * DataOutputView over a byte array: the writing half of every batch. Little-endian numbers,
 * unsigned LEB128 varints for lengths and ids, and UTF-8 strings with an ASCII fast path (most
 * record strings are ids and enum-like tags, where a plain char-code loop beats TextEncoder).
 *
 * A fixed-capacity output throws the BUFFER_OVERFLOW sentinel when a write does not fit; the
 * RecordWriter catches it, rewinds to the start of the record and retries in an empty buffer.
 * The sentinel is a frozen object rather than an Error so that an overflow (once per batch)
 * does not pay for a stack trace. A growable output never overflows; it measures records.
 */
import type { DataOutputView } from '@sluice/api';

/** Thrown (by identity) when a fixed-capacity output is full. Never escapes the runtime. */
export const BUFFER_OVERFLOW: Readonly<{ bufferOverflow: true }> = Object.freeze({ bufferOverflow: true });

const encoder = new TextEncoder();

export class BufferDataOutput implements DataOutputView {
  /** Backing bytes; replaced when a growable output grows, so never cache it across writes. */
  bytes: Uint8Array;
  /** @internal A view of `bytes` (replaced with it): for writers that keep the position in a local. */
  view: DataView;
  /** Next write position. The writer reads it to frame records and sets it to rewind. */
  pos = 0;
  /** @internal Capacity of `bytes` (writing past it overflows or grows). Do not set. */
  limit: number;
  private readonly growable: boolean;

  constructor(bytes: Uint8Array, options: { growable?: boolean } = {}) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.limit = bytes.byteLength;
    this.growable = options.growable ?? false;
  }

  /** Bytes still free before the output overflows (or grows). */
  remaining(): number {
    return this.limit - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.limit) this.overflow(n);
  }

  private overflow(n: number): void {
    if (!this.growable) throw BUFFER_OVERFLOW;
    let cap = Math.max(64, this.limit * 2);
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
    this.limit = cap;
  }

  writeUint8(v: number): void {
    if (this.pos >= this.limit) this.overflow(1);
    this.bytes[this.pos++] = v;
  }

  writeInt8(v: number): void {
    this.need(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
  }

  writeInt16(v: number): void {
    this.need(2);
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
  }

  writeInt32(v: number): void {
    this.need(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  writeFloat64(v: number): void {
    this.need(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /**
   * A tag byte and a payload in one capacity check: the default serializer writes every
   * non-small number this way. Overflows exactly when the two separate writes would.
   */
  writeUint8Float64(tag: number, v: number): void {
    const p = this.pos;
    if (p + 9 > this.limit) this.overflow(9);
    this.bytes[p] = tag;
    this.view.setFloat64(p + 1, v, true);
    this.pos = p + 9;
  }

  /** Like writeUint8Float64, for a signed integer of `size` 1, 2 or 4 bytes. */
  writeUint8Int(tag: number, v: number, size: 1 | 2 | 4): void {
    const p = this.pos;
    if (p + 1 + size > this.limit) this.overflow(1 + size);
    const b = this.bytes;
    b[p] = tag;
    b[p + 1] = v;
    if (size > 1) {
      b[p + 2] = v >> 8;
      if (size > 2) {
        b[p + 3] = v >> 16;
        b[p + 4] = v >> 24;
      }
    }
    this.pos = p + 1 + size;
  }

  /** Unsigned LEB128 for 0 ≤ v < 2^31 (lengths, counts, ids). */
  writeVarUint(v: number): void {
    if (v < 0x80) {
      if (this.pos >= this.limit) this.overflow(1);
      this.bytes[this.pos++] = v;
      return;
    }
    this.need(5);
    const b = this.bytes;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  writeString(s: string): void {
    const n = s.length;
    // Assume ASCII: then the byte length is n and the prefix size is known up front, so the
    // characters go straight to their final place. Bail to the exact UTF-8 path on the first
    // non-ASCII code unit (the bytes written so far are simply overwritten).
    const pre = n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
    const start = this.pos + pre;
    if (start + n > this.limit) {
      this.writeStringUtf8(s);
      return;
    }
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.writeStringUtf8(s);
        return;
      }
      b[start + i] = c;
    }
    this.writeVarUint(n);
    this.pos = start + n;
  }

  private writeStringUtf8(s: string): void {
    const len = utf8Length(s);
    this.writeVarUint(len);
    this.need(len);
    encoder.encodeInto(s, this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
  }

  writeBytes(b: Uint8Array): void {
    this.writeVarUint(b.byteLength);
    this.writeRaw(b);
  }

  /** Bytes without a length prefix (frame copies, broadcast). */
  writeRaw(b: Uint8Array): void {
    this.need(b.byteLength);
    this.bytes.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

/** Exact UTF-8 byte length as TextEncoder produces it (lone surrogates become U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let len = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 4;
        i++;
      } else len += 3;
    } else len += 3;
  }
  return len;
}
