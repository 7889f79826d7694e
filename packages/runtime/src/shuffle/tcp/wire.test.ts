import { describe, expect, it } from 'vitest';
import { ReceiverCredits, SenderCredits } from './credit.js';
import { DATA_MAGIC, DATA_PROTOCOL_VERSION, DataProtocolError, FrameDecoder, encode, type DataFrame } from './wire.js';

const request = {
  channel: 7,
  jobId: 'job-ü',
  attempt: 2,
  edgeId: 'e1',
  producerVertexId: 'v1',
  producerSubtask: 3,
  consumerVertexId: 'v2',
  consumerSubtask: 1,
  bufferSizeBytes: 32_768,
  buffers: 8,
  initialCredit: 8,
};

/** Decodes `bytes` fed in the given chunk sizes; buffer payloads are copied out of the callback. */
function decode(bytes: Buffer, chunk = bytes.length, max = 1 << 20): DataFrame[] {
  const out: DataFrame[] = [];
  const d = new FrameDecoder(max, (f) => out.push(f.type === 'buffer' ? { ...f, data: Uint8Array.from(f.data) } : f));
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  return out;
}

const all = (): Buffer =>
  Buffer.concat([
    encode.hello('tm-1'),
    encode.partitionRequest(request),
    encode.buffer(7, 3, false, new Uint8Array([1, 2, 3])),
    encode.buffer(7, 0, true, new Uint8Array(0)),
    encode.addCredit(7, 2),
    encode.closeChannel(7),
    encode.channelError(7, 'no such partition'),
    encode.cancelAttempt('job-ü', 2),
    encode.goodbye(1, 'duplicate'),
  ]);

const expected: DataFrame[] = [
  { type: 'hello', magic: DATA_MAGIC, version: DATA_PROTOCOL_VERSION, resourceId: 'tm-1' },
  { type: 'partition-request', ...request },
  { type: 'buffer', channel: 7, backlog: 3, final: false, data: new Uint8Array([1, 2, 3]) },
  { type: 'buffer', channel: 7, backlog: 0, final: true, data: new Uint8Array(0) },
  { type: 'add-credit', channel: 7, credit: 2 },
  { type: 'close-channel', channel: 7 },
  { type: 'channel-error', channel: 7, message: 'no such partition' },
  { type: 'cancel-attempt', jobId: 'job-ü', attempt: 2 },
  { type: 'goodbye', reason: 1, message: 'duplicate' },
];

describe('data exchange frames', () => {
  it('round-trip every frame type', () => {
    expect(decode(all())).toEqual(expected);
  });

  it('decode the same frames whatever the chunking, down to one byte at a time', () => {
    for (const chunk of [1, 2, 3, 5, 7, 13, 64]) expect(decode(all(), chunk)).toEqual(expected);
  });

  it('refuse an oversize frame from its length alone, before its body arrives', () => {
    const big = encode.buffer(1, 0, false, new Uint8Array(2000));
    expect(() => decode(big.subarray(0, 4), 4, 1000)).toThrow(/frame of 2010 bytes announced; frames are 1 to 1000 bytes/);
    expect(() => decode(Buffer.from([0, 0, 0, 0]))).toThrow(DataProtocolError);
  });

  it('refuse garbage: unknown types, truncated or overlong bodies, bad UTF-8, zero credit', () => {
    expect(() => decode(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(/frame of \d+ bytes announced/);
    expect(() => decode(Buffer.from([0, 0, 0, 1, 99]))).toThrow(/unknown frame type 99/);
    expect(() => decode(Buffer.from([0, 0, 0, 3, 4, 0, 0]))).toThrow(/ADD_CREDIT frame of 3 bytes is truncated/);
    const long = Buffer.concat([encode.closeChannel(1), Buffer.from([0])]);
    long.writeUInt32BE(long.length - 4, 0);
    expect(() => decode(long)).toThrow(/CLOSE_CHANNEL frame has 1 bytes too many/);
    const badUtf8 = encode.cancelAttempt('ab', 0);
    badUtf8[badUtf8.length - 1] = 0xff;
    expect(() => decode(badUtf8)).toThrow(/not UTF-8/);
    expect(() => decode(encode.addCredit(1, 0))).toThrow(/announces 0 credits/);
    const flags = encode.buffer(1, 0, false, new Uint8Array(1));
    flags[13] = 4;
    expect(() => decode(flags)).toThrow(/unknown flags 4/);
  });

  it('report a stream cut inside a frame', () => {
    const d = new FrameDecoder(1000, () => {});
    d.push(encode.addCredit(1, 1).subarray(0, 6));
    expect(d.midFrame).toBe(true);
    d.push(encode.addCredit(1, 1).subarray(6));
    expect(d.midFrame).toBe(false);
  });
});

describe('credits', () => {
  it('the sender sends nothing without credit, one buffer per credit, with its backlog', () => {
    const s = new SenderCredits(0, 4);
    expect(s.spend(3)).toBe(-1);
    s.add(2);
    expect(s.spend(3)).toBe(2);
    expect(s.spend(2)).toBe(1);
    expect(s.spend(1)).toBe(-1);
    expect(s.available).toBe(0);
    s.add(1);
    expect(s.spend(0)).toBe(-1);
    expect(s.available).toBe(1);
    expect(s.spend(1)).toBe(0);
  });

  it('the sender refuses credit beyond the receiver ring and non-increments', () => {
    expect(() => new SenderCredits(5, 4)).toThrow(DataProtocolError);
    const s = new SenderCredits(4, 4);
    expect(() => s.add(1)).toThrow(/exceeds the channel's 4 buffers/);
    expect(() => s.add(0)).toThrow(DataProtocolError);
  });

  it('the receiver announces each free buffer once, as increments', () => {
    const r = new ReceiverCredits();
    expect(r.announce(4)).toBe(4);
    expect(r.announce(4)).toBe(0);
    r.onBuffer(5);
    r.onBuffer(4);
    // Two buffers are in the ring (2 free, 2 still promised): nothing new to announce.
    expect(r.announce(2)).toBe(0);
    expect(r.lastBacklog).toBe(4);
    // The consumer read one: one credit.
    expect(r.announce(3)).toBe(1);
    expect(r.outstandingCredits).toBe(3);
  });

  it('the receiver batches announcements while the sender holds credit, never when it has none', () => {
    const r = new ReceiverCredits(2);
    expect(r.announce(4)).toBe(4);
    r.onBuffer(0);
    r.onBuffer(0);
    expect(r.announce(3)).toBe(0); // one freed, the sender still has 2 credits
    expect(r.announce(4)).toBe(2);
    for (let i = 0; i < 4; i++) r.onBuffer(0);
    expect(r.announce(1)).toBe(1); // the sender has none: one freed buffer goes at once
  });

  it('the receiver rejects a buffer sent without credit', () => {
    const r = new ReceiverCredits();
    r.announce(1);
    r.onBuffer(0);
    expect(() => r.onBuffer(0)).toThrow(/without credit/);
  });
});
