/**
 * RecordIO, the framing of Mesos event streams: each record is its length in bytes as ASCII
 * decimal, a `\n`, then exactly that many bytes. No trailing newline; HTTP chunk boundaries mean
 * nothing. Everything here works on bytes, never on decoded text, because the lengths count
 * bytes and a multi-byte UTF-8 character may straddle two chunks.
 */
import { RecordIOError } from './errors.js';

/** Default cap on one record; an OFFERS event for thousands of agents stays far below it. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

// A uint64 has at most 20 decimal digits; a longer length line is garbage, not a big record.
const MAX_LENGTH_DIGITS = 20;
const UINT64_MAX = 2n ** 64n - 1n;
const NEWLINE = 0x0a;

/** One record framed for a RecordIO stream. Strings are framed as their UTF-8 bytes. */
export function encodeRecord(record: Uint8Array | string): Buffer {
  const body = typeof record === 'string' ? Buffer.from(record, 'utf8') : record;
  const header = Buffer.from(`${body.byteLength}\n`, 'ascii');
  return Buffer.concat([header, body], header.byteLength + body.byteLength);
}

/** Several records framed back to back. */
export function encodeRecords(records: Iterable<Uint8Array | string>): Buffer {
  return Buffer.concat([...records].map(encodeRecord));
}

export interface RecordIOReaderOptions {
  /** Largest record accepted, in bytes. A longer one fails the stream (RECORDIO_TOO_LARGE). */
  readonly maxRecordBytes?: number;
}

/**
 * Incremental RecordIO parser: push chunks as they arrive, get back the records they complete.
 * After an error (RecordIOError) the reader is unusable and throws that error again on every
 * call: the stream's framing is lost and the connection must be dropped.
 */
export class RecordIOReader {
  private readonly maxRecordBytes: number;
  private lengthLine = '';
  /** Byte length of the record being read, or -1 while reading its length line. */
  private expected = -1;
  private parts: Buffer[] = [];
  private have = 0;
  private failure: RecordIOError | undefined;

  constructor(options: RecordIOReaderOptions = {}) {
    const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`RecordIOReader: maxRecordBytes must be a positive integer, got ${String(max)}`);
    }
    this.maxRecordBytes = max;
  }

  /** Bytes received that do not yet form a whole record. */
  get pendingBytes(): number {
    return this.lengthLine.length + this.have;
  }

  /** Consumes a chunk; returns the records it completes, in order (each a Buffer of its own). */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    // A stream with setEncoding() yields strings, whose lengths are not byte counts.
    if (!(chunk instanceof Uint8Array)) throw new TypeError('RecordIOReader.push takes bytes (Buffer/Uint8Array), not decoded text');
    const records: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.byteLength) {
      offset = this.expected < 0 ? this.readLength(chunk, offset) : this.readBody(chunk, offset, records);
    }
    return records;
  }

  /** Declares the end of the stream: throws RECORDIO_TRUNCATED if it stopped inside a record. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.expected >= 0) {
      this.fail('RECORDIO_TRUNCATED', `RecordIO stream ended inside a record: ${this.have} of ${this.expected} bytes received`);
    }
    if (this.lengthLine !== '') {
      this.fail('RECORDIO_TRUNCATED', `RecordIO stream ended inside a length line (${JSON.stringify(this.lengthLine)} without '\\n')`);
    }
  }

  private readLength(chunk: Uint8Array, offset: number): number {
    const newline = chunk.indexOf(NEWLINE, offset);
    const stop = newline === -1 ? chunk.byteLength : newline;
    for (let i = offset; i < stop; i++) {
      const byte = chunk[i] as number;
      if (byte < 0x30 || byte > 0x39) {
        const seen = this.lengthLine + Buffer.from(chunk.subarray(i, Math.min(stop, i + 16))).toString('latin1');
        this.fail('RECORDIO_INVALID', `RecordIO length line is not a decimal byte count: ${JSON.stringify(seen)}`);
      }
      this.lengthLine += String.fromCharCode(byte);
      if (this.lengthLine.length > MAX_LENGTH_DIGITS) {
        this.fail('RECORDIO_INVALID', `RecordIO length line is longer than ${MAX_LENGTH_DIGITS} digits: ${JSON.stringify(this.lengthLine)}…`);
      }
    }
    if (newline === -1) return chunk.byteLength;
    this.startRecord();
    return newline + 1;
  }

  private startRecord(): void {
    const line = this.lengthLine;
    if (line === '') this.fail('RECORDIO_INVALID', 'RecordIO length line is empty (a bare newline where a byte count was expected)');
    const length = BigInt(line);
    if (length > UINT64_MAX) this.fail('RECORDIO_INVALID', `RecordIO length ${line} does not fit in a uint64`);
    if (length === 0n) this.fail('RECORDIO_INVALID', 'RecordIO record of length 0: Mesos never writes empty records');
    if (length > BigInt(this.maxRecordBytes)) {
      this.fail('RECORDIO_TOO_LARGE', `RecordIO record of ${line} bytes exceeds the limit of ${this.maxRecordBytes} bytes (maxRecordBytes)`);
    }
    this.lengthLine = '';
    this.expected = Number(length);
  }

  private readBody(chunk: Uint8Array, offset: number, records: Buffer[]): number {
    const take = Math.min(this.expected - this.have, chunk.byteLength - offset);
    // Copied, so a record never aliases (and pins) a chunk the caller may reuse.
    this.parts.push(Buffer.from(chunk.subarray(offset, offset + take)));
    this.have += take;
    if (this.have === this.expected) {
      records.push(this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.have));
      this.parts = [];
      this.have = 0;
      this.expected = -1;
    }
    return offset + take;
  }

  private fail(code: 'RECORDIO_INVALID' | 'RECORDIO_TOO_LARGE' | 'RECORDIO_TRUNCATED', message: string): never {
    this.failure = new RecordIOError(code, message);
    this.parts = [];
    throw this.failure;
  }
}

/**
 * The records of a byte stream (e.g. an HTTP response body), yielded as they complete. Throws
 * RecordIOError on bad framing, and RECORDIO_TRUNCATED if the stream ends inside a record.
 */
export async function* readRecords(source: AsyncIterable<Uint8Array>, options: RecordIOReaderOptions = {}): AsyncGenerator<Buffer> {
  const reader = new RecordIOReader(options);
  for await (const chunk of source) yield* reader.push(chunk);
  reader.end();
}
