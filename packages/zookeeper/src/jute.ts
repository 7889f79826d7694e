/**
 * Jute, ZooKeeper's record serialization: big-endian ints and longs, one-byte booleans, and
 * buffers, strings and vectors prefixed by a signed 32-bit length where -1 means null. Pure code,
 * no I/O; a reader that runs past its input throws a ZooKeeperError ZK_MARSHALLINGERROR, which
 * the connection treats as a protocol error.
 */
import { ZooKeeperError } from './errors.js';

export class JuteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  long(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  /** A buffer; `null` is written as length -1 (what ZooKeeper sends for "no data"). */
  buffer(v: Buffer | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    v.copy(this.buf, this.pos);
    this.pos += v.length;
    return this;
  }

  /** Bytes as they are, without a length (an already encoded record). */
  raw(v: Buffer): this {
    this.ensure(v.length);
    v.copy(this.buf, this.pos);
    this.pos += v.length;
    return this;
  }

  ustring(v: string | null): this {
    return this.buffer(v === null ? null : Buffer.from(v, 'utf8'));
  }

  vector<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** The bytes written so far (a copy-free view). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** The bytes written so far behind a 4-byte length prefix: one frame on the wire. */
  frame(): Buffer {
    const out = Buffer.allocUnsafe(4 + this.pos);
    out.writeInt32BE(this.pos, 0);
    this.buf.copy(out, 4, 0, this.pos);
    return out;
  }
}

export class JuteReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new ZooKeeperError('ZK_MARSHALLINGERROR', `malformed ZooKeeper record: ${what} needs ${n} bytes at offset ${this.pos} of a ${this.buf.length}-byte frame`);
    }
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  long(): bigint {
    this.need(8, 'long');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.pos++] !== 0;
  }

  /** A buffer; length -1 (null) reads as an empty buffer, which is what callers want. */
  buffer(): Buffer {
    const n = this.int();
    if (n === -1) return Buffer.alloc(0);
    if (n < -1) this.need(-1, `buffer of length ${n}`);
    this.need(n, 'buffer');
    const v = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }

  ustring(): string {
    const n = this.int();
    if (n === -1) return '';
    if (n < -1) this.need(-1, `string of length ${n}`);
    this.need(n, 'string');
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  vector<T>(read: (r: this) => T): T[] {
    const n = this.int();
    if (n === -1) return [];
    // Each element takes at least one byte: a count beyond the bytes left is corruption, not a
    // reason to allocate.
    if (n < -1 || n > this.remaining) this.need(-1, `vector of ${n} elements`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }
}

/** Default bound on one incoming frame; ZooKeeper's own jute.maxbuffer default is 1 MiB of data. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Splits a TCP byte stream into length-prefixed frames. Chunks may end anywhere, mid-prefix
 * included. A prefix above `maxFrameBytes` (or negative) throws ZK_MARSHALLINGERROR: the stream
 * cannot be trusted after it, so the caller drops the connection.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readInt32BE(0);
      if (length < 0 || length > this.maxFrameBytes) {
        throw new ZooKeeperError(
          'ZK_MARSHALLINGERROR',
          `ZooKeeper server sent a frame of ${length} bytes, above the limit of ${this.maxFrameBytes} (maxFrameBytes); dropping the connection`,
        );
      }
      if (this.buffered < 4 + length) break;
      frames.push(this.take(4 + length).subarray(4));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}
