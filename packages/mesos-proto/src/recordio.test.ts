import { describe, expect, it } from 'vitest';
import { encodeRecord, encodeRecords, readRecords, RecordIOError, RecordIOReader } from './index.js';

const HEARTBEAT = '{"type":"HEARTBEAT"}';
// A JSON record with 2-, 3- and 4-byte UTF-8 characters, a binary record holding '\n' and digit
// bytes (framing must count bytes, never look for newlines inside a record), and a big one.
const RECORDS: Buffer[] = [
  Buffer.from(HEARTBEAT),
  Buffer.from('{"type":"MESSAGE","message":{"data":"zürich ☃ 𝄞 €"}}', 'utf8'),
  Buffer.from([0x08, 0x0a, 0x0a, 0x31, 0x32, 0x0a, 0x00, 0xff]),
  Buffer.alloc(5000, 0x61),
  Buffer.from('7'),
];
const STREAM = encodeRecords(RECORDS);

function readAll(chunks: Uint8Array[], reader = new RecordIOReader()): Buffer[] {
  const out = chunks.flatMap((c) => reader.push(c));
  reader.end();
  return out;
}

/** Offsets are checked in bulk: vitest's deep equality on 5 KB buffers thousands of times is slow. */
function sameRecords(out: Buffer[]): boolean {
  return out.length === RECORDS.length && out.every((r, i) => r.equals(RECORDS[i] as Buffer));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RecordIOError);
    return (err as RecordIOError).code;
  }
  return undefined;
}

/** Small deterministic PRNG so a failing split can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('RecordIO writer', () => {
  it('frames a record as its byte length, a newline and the bytes, with no trailing newline', () => {
    expect(encodeRecord(HEARTBEAT).toString()).toBe('20\n{"type":"HEARTBEAT"}');
    expect(encodeRecord(Buffer.from([0, 1, 2]))).toEqual(Buffer.from([0x33, 0x0a, 0, 1, 2]));
  });

  it('counts bytes, not characters, for multi-byte UTF-8', () => {
    const text = '"€𝄞"'; // 4 characters in JS (surrogate pair), 9 bytes
    expect(encodeRecord(text).toString('utf8')).toBe(`9\n${text}`);
  });

  it('writes several records back to back', () => {
    expect(encodeRecords(['a', 'bc']).toString()).toBe('1\na2\nbc');
  });
});

describe('RecordIO reader', () => {
  it('reads several records from one chunk', () => {
    expect(readAll([STREAM])).toEqual(RECORDS);
  });

  it('reads the same records whichever single byte offset the stream is split at', () => {
    const failed: number[] = [];
    for (let cut = 0; cut <= STREAM.length; cut++) {
      if (!sameRecords(readAll([STREAM.subarray(0, cut), STREAM.subarray(cut)]))) failed.push(cut);
    }
    expect(failed).toEqual([]);
  });

  it('reads the same records when every pair of offsets in the small records splits the stream in three', () => {
    const head = STREAM.length - 5000 - 4; // the big record's header and body and the last record excluded
    const failed: string[] = [];
    for (let a = 0; a <= head; a++) {
      for (let b = a; b <= head; b++) {
        if (!sameRecords(readAll([STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)]))) failed.push(`${a},${b}`);
      }
    }
    expect(failed).toEqual([]);
  });

  it('reads the same records from byte-sized chunks and from random chunkings', () => {
    expect(sameRecords(readAll([...STREAM].map((byte) => Uint8Array.of(byte))))).toBe(true);
    const random = prng(42);
    const failed: number[] = [];
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < STREAM.length; ) {
        const size = 1 + Math.floor(random() * 64);
        chunks.push(STREAM.subarray(at, at + size));
        at += size;
      }
      if (!sameRecords(readAll(chunks))) failed.push(round);
    }
    expect(failed).toEqual([]);
  });

  it('reassembles a UTF-8 character split across chunks into valid text', () => {
    const framed = encodeRecord('{"city":"Zürich €"}');
    const euro = framed.indexOf(Buffer.from('€'));
    const reader = new RecordIOReader();
    expect(reader.push(framed.subarray(0, euro + 1))).toEqual([]);
    const [record] = reader.push(framed.subarray(euro + 1));
    expect(JSON.parse(record?.toString('utf8') ?? '')).toEqual({ city: 'Zürich €' });
  });

  it('reads a length line that arrives one digit at a time', () => {
    const reader = new RecordIOReader();
    expect(reader.push(Buffer.from('2'))).toEqual([]);
    expect(reader.push(Buffer.from('0'))).toEqual([]);
    expect(reader.pendingBytes).toBe(2);
    expect(reader.push(Buffer.from(`\n${HEARTBEAT}`))).toEqual([Buffer.from(HEARTBEAT)]);
    expect(reader.pendingBytes).toBe(0);
  });

  it('returns records that do not alias the chunks they came from', () => {
    const chunk = Buffer.from(encodeRecord('abc'));
    const [record] = new RecordIOReader().push(chunk);
    chunk.fill(0);
    expect(record?.toString()).toBe('abc');
  });

  it('accepts a record of exactly the limit and refuses one byte more as soon as the length is read', () => {
    expect(readAll([encodeRecord('x'.repeat(10))], new RecordIOReader({ maxRecordBytes: 10 }))).toHaveLength(1);
    const reader = new RecordIOReader({ maxRecordBytes: 10 });
    expect(() => reader.push(Buffer.from('11\n'))).toThrow(/record of 11 bytes exceeds the limit of 10 bytes/);
    expect(codeOf(() => reader.push(Buffer.from('x')))).toBe('RECORDIO_TOO_LARGE');
    expect(codeOf(() => reader.end())).toBe('RECORDIO_TOO_LARGE');
  });

  it.each([
    ['letters', 'abc\n{}', /not a decimal byte count: "abc"/],
    ['a sign', '-5\nhello', /not a decimal byte count: "-5"/],
    ['a leading space', ' 5\nhello', /not a decimal byte count/],
    ['a carriage return', '5\r\nhello', /not a decimal byte count: "5\\r"/],
    ['an empty line', '\n', /length line is empty/],
    ['a zero length', '0\n', /length 0/],
    ['more than 20 digits', '123456789012345678901', /longer than 20 digits/],
    ['a length beyond uint64', '99999999999999999999\n', /does not fit in a uint64/],
    ['JSON without framing', '{"type":"HEARTBEAT"}', /not a decimal byte count: "\{/],
  ])('refuses a garbage length line (%s) and stays unusable', (_what, text, message) => {
    const reader = new RecordIOReader();
    expect(() => reader.push(Buffer.from(text))).toThrow(message);
    expect(codeOf(() => reader.push(encodeRecord(HEARTBEAT)))).toBe('RECORDIO_INVALID');
  });

  it('finds garbage after a good record, and in a length line split across chunks', () => {
    const reader = new RecordIOReader();
    expect(() => reader.push(Buffer.concat([encodeRecord('ok'), Buffer.from('1x')]))).toThrow(/not a decimal byte count: "1x"/);
    const split = new RecordIOReader();
    split.push(Buffer.from('12'));
    expect(() => split.push(Buffer.from('a\n'))).toThrow(/"12a"/);
  });

  it('reports a stream that ends inside a record or a length line', () => {
    const inRecord = new RecordIOReader();
    inRecord.push(Buffer.from('20\n{"type":'));
    expect(() => inRecord.end()).toThrow(/ended inside a record: 8 of 20 bytes/);
    const inLength = new RecordIOReader();
    inLength.push(encodeRecord('ok'));
    inLength.push(Buffer.from('2'));
    expect(codeOf(() => inLength.end())).toBe('RECORDIO_TRUNCATED');
    const clean = new RecordIOReader();
    clean.push(encodeRecord('ok'));
    expect(() => clean.end()).not.toThrow();
  });

  it('refuses decoded text, whose lengths are not byte counts', () => {
    expect(() => new RecordIOReader().push('20\n' as unknown as Uint8Array)).toThrow(/takes bytes/);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new RecordIOReader({ maxRecordBytes: 0 })).toThrow(/positive integer/);
  });
});

describe('readRecords', () => {
  async function* chunksOf(stream: Buffer, size: number): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < stream.length; at += size) yield stream.subarray(at, at + size);
  }

  it('yields the records of an async byte stream as they complete', async () => {
    const out: Buffer[] = [];
    for await (const record of readRecords(chunksOf(STREAM, 7))) out.push(record);
    expect(out).toEqual(RECORDS);
  });

  it('throws RECORDIO_TRUNCATED after the last whole record when the stream stops mid-record', async () => {
    const out: Buffer[] = [];
    const cut = STREAM.subarray(0, STREAM.length - 1);
    await expect(async () => {
      for await (const record of readRecords(chunksOf(cut, 100))) out.push(record);
    }).rejects.toMatchObject({ code: 'RECORDIO_TRUNCATED' });
    expect(out).toEqual(RECORDS.slice(0, 4));
  });
});
