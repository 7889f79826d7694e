import { describe, expect, it } from 'vitest';
import { isZooKeeperError } from './errors.js';
import { FrameDecoder, JuteReader, JuteWriter } from './jute.js';
import {
  decodeConnectResponse,
  encodeConnectRequest,
  encodeRequest,
  readMultiResponse,
  readReplyHeader,
  readStat,
  type Stat,
  writeMulti,
  writeStat,
} from './protocol.js';

const stat: Stat = {
  czxid: 0x1_0000_0002n,
  mzxid: 0x1_0000_0003n,
  ctime: 1_700_000_000_123,
  mtime: 1_700_000_000_456,
  version: 3,
  cversion: -1,
  aversion: 0,
  ephemeralOwner: -0x7f00_0000_0000_0001n,
  dataLength: 5,
  numChildren: 2,
  pzxid: 0x1_0000_0004n,
};

describe('jute', () => {
  it('round-trips every primitive, nulls read as empty', () => {
    const w = new JuteWriter(4); // grows
    w.int(-7).long(-(2n ** 63n)).long(2n ** 63n - 1n).bool(true).bool(false);
    w.buffer(Buffer.from([1, 2, 3])).buffer(null).ustring('zürich/ノード').ustring(null);
    w.vector(['a', 'bb'], (x, s) => x.ustring(s)).vector(null, (x, s: string) => x.ustring(s));
    const r = new JuteReader(w.bytes());
    expect([r.int(), r.long(), r.long(), r.bool(), r.bool()]).toEqual([-7, -(2n ** 63n), 2n ** 63n - 1n, true, false]);
    expect([...r.buffer()]).toEqual([1, 2, 3]);
    expect(r.buffer().length).toBe(0);
    expect([r.ustring(), r.ustring()]).toEqual(['zürich/ノード', '']);
    expect(r.vector((x) => x.ustring())).toEqual(['a', 'bb']);
    expect(r.vector((x) => x.ustring())).toEqual([]);
    expect(r.remaining).toBe(0);
  });

  it('writes ints big-endian and nulls as length -1, as ZooKeeper reads them', () => {
    expect(new JuteWriter().int(1).buffer(null).bytes().toString('hex')).toBe('00000001ffffffff');
    expect(new JuteWriter().long(0x0102030405060708n).bytes().toString('hex')).toBe('0102030405060708');
  });

  it('round-trips a Stat', () => {
    const w = new JuteWriter();
    writeStat(w, stat);
    expect(w.bytes().length).toBe(68);
    expect(readStat(new JuteReader(w.bytes()))).toEqual(stat);
  });

  it('refuses truncated records and absurd lengths with ZK_MARSHALLINGERROR', () => {
    expect(() => new JuteReader(Buffer.from([0, 0])).int()).toThrow(/int needs 4 bytes/);
    const short = new JuteWriter().int(10).raw(Buffer.from('abc')).bytes();
    expect(() => new JuteReader(short).ustring()).toThrow(/string needs 10 bytes/);
    const huge = new JuteWriter().int(1_000_000).bytes();
    let caught: unknown;
    try {
      new JuteReader(huge).vector((x) => x.int());
    } catch (err) {
      caught = err;
    }
    expect(isZooKeeperError(caught, 'MARSHALLINGERROR')).toBe(true);
  });

  it('encodes a ConnectRequest as ZooKeeper expects: length, version 0, zxid, timeout, session, passwd, read-only flag', () => {
    const frame = encodeConnectRequest({ lastZxidSeen: 5n, timeoutMs: 30_000, sessionId: 0x42n, passwd: Buffer.alloc(16, 7) });
    const r = new JuteReader(frame);
    expect(r.int()).toBe(frame.length - 4);
    expect([r.int(), r.long(), r.int(), r.long()]).toEqual([0, 5n, 30_000, 0x42n]);
    expect(r.buffer()).toEqual(Buffer.alloc(16, 7));
    expect(r.bool()).toBe(false);
    expect(r.remaining).toBe(0);
  });

  it('decodes a ConnectResponse with or without the trailing read-only flag', () => {
    const w = new JuteWriter().int(0).int(4_000).long(0x1234n).buffer(Buffer.alloc(16, 1));
    expect(decodeConnectResponse(new JuteReader(w.bytes()))).toEqual({ protocolVersion: 0, timeoutMs: 4_000, sessionId: 0x1234n, passwd: Buffer.alloc(16, 1) });
    w.bool(false);
    expect(decodeConnectResponse(new JuteReader(w.bytes())).timeoutMs).toBe(4_000);
  });

  it('frames a request behind its length: xid, opcode, body', () => {
    const frame = encodeRequest(9, 4, (w) => w.ustring('/a').bool(true));
    expect(frame.toString('hex')).toBe('0000000f' + '00000009' + '00000004' + '00000002' + Buffer.from('/a').toString('hex') + '01');
  });

  it('writes a multi request ending in a done header, and reads a failed multi response', () => {
    const w = new JuteWriter();
    writeMulti(w, [
      { type: 'check', path: '/a', version: 1 },
      { type: 'delete', path: '/b', version: -1 },
    ]);
    const r = new JuteReader(w.bytes());
    expect([r.int(), r.bool(), r.int(), r.ustring(), r.int()]).toEqual([13, false, -1, '/a', 1]);
    expect([r.int(), r.bool(), r.int(), r.ustring(), r.int()]).toEqual([2, false, -1, '/b', -1]);
    expect([r.int(), r.bool(), r.int()]).toEqual([-1, true, -1]);
    expect(r.remaining).toBe(0);

    // What a server answers when op 1 of 3 fails: OK before it, its code, RUNTIMEINCONSISTENCY after.
    const reply = new JuteWriter();
    for (const err of [0, -103, -2]) reply.int(-1).bool(false).int(err).int(err);
    reply.int(-1).bool(true).int(-1);
    expect(readMultiResponse(new JuteReader(reply.bytes()))).toEqual([
      { type: 'error', err: 0 },
      { type: 'error', err: -103 },
      { type: 'error', err: -2 },
    ]);
  });

  it('reads a reply header', () => {
    const w = new JuteWriter().int(3).long(77n).int(-101);
    expect(readReplyHeader(new JuteReader(w.bytes()))).toEqual({ xid: 3, zxid: 77n, err: -101 });
  });
});

describe('FrameDecoder', () => {
  const frames = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(70_000, 9), Buffer.from('x')];
  const stream = Buffer.concat(frames.map((f) => new JuteWriter().raw(f).frame()));

  it('yields whole frames whatever the chunking, the length prefix split included', () => {
    for (const size of [1, 2, 3, 5, 4096, stream.length]) {
      const decoder = new FrameDecoder();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)));
      expect(out.map((f) => f.toString('hex')), `chunks of ${size}`).toEqual(frames.map((f) => f.toString('hex')));
    }
  });

  it('keeps a partial frame until the rest arrives', () => {
    const decoder = new FrameDecoder();
    const one = new JuteWriter().raw(Buffer.from('abcdef')).frame();
    expect(decoder.push(one.subarray(0, 7))).toEqual([]);
    expect(decoder.push(one.subarray(7)).map((f) => f.toString())).toEqual(['abcdef']);
  });

  it('refuses a frame above the limit (and a negative length) before buffering it', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(new JuteWriter().raw(Buffer.alloc(1024)).frame())).toHaveLength(1);
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 4, 1]))).toThrow(/frame of 1025 bytes, above the limit of 1024/);
    expect(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/frame of -1 bytes/);
  });
});
