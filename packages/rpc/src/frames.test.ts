import { describe, expect, it } from 'vitest';
import { callFrame, describeForeignBytes, frame, FrameReader, FRAME, readCallBody } from './frames.js';
import { encodeChallenge, encodeHello, newNonce, parseChallenge, parseHello, proof, proofMatches, readPrefix, versionMismatchMessage } from './handshake.js';
import { formatAddress, parseAddress, parsePeer } from './address.js';

function collect(limit: number): { reader: FrameReader; frames: [number, string][]; oversized: number[] } {
  const frames: [number, string][] = [];
  const oversized: number[] = [];
  const reader = new FrameReader(limit, (k, b) => frames.push([k, b.toString()]), (n) => oversized.push(n));
  return { reader, frames, oversized };
}

describe('FrameReader', () => {
  const stream = Buffer.concat([frame(7, Buffer.from('first')), frame(8), callFrame(FRAME.CALL, 42, 1, '"x"'), frame(9, Buffer.alloc(3000, 97))]);

  it.each([1, 2, 5, 7, 64, stream.length])('cuts a stream delivered in chunks of %i bytes into the same frames', (size) => {
    const { reader, frames } = collect(1 << 20);
    for (let i = 0; i < stream.length; i += size) reader.push(stream.subarray(i, i + size));
    expect(frames.map(([k]) => k)).toStrictEqual([7, 8, FRAME.CALL, 9]);
    expect(frames[0]?.[1]).toBe('first');
    expect(frames[3]?.[1]).toBe('a'.repeat(3000));
  });

  it('reads a call body: call id, flags, payload', () => {
    const buf = callFrame(FRAME.REPLY, 0xfffffffe, 1, '{"ok":"ü"}');
    expect(buf.readUInt32BE(0)).toBe(buf.length - 4);
    expect(readCallBody(buf.subarray(5))).toStrictEqual({ callId: 0xfffffffe, flags: 1, json: '{"ok":"ü"}' });
  });

  it('reports a frame over the limit from its header alone and reads nothing after it', () => {
    const { reader, frames, oversized } = collect(100);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(101, 0);
    reader.push(Buffer.concat([frame(1, Buffer.from('ok')), header, frame(2)]));
    expect(frames.map(([k]) => k)).toStrictEqual([1]);
    expect(oversized).toStrictEqual([101]);
  });

  it('names what foreign bytes look like', () => {
    expect(describeForeignBytes(Buffer.from('GET / HTTP/1.1'))).toMatch(/text "GET \/ HTTP\/1.1".*HTTP client/);
    expect(describeForeignBytes(Buffer.from([0x16, 0x03, 0x01, 0x02]))).toMatch(/TLS handshake/);
    expect(describeForeignBytes(Buffer.from([0x00, 0xff]))).toMatch(/bytes 00ff/);
  });
});

describe('handshake frames', () => {
  it('round-trip HELLO and CHALLENGE', () => {
    const nonce = newNonce();
    const hello = parseHello(encodeHello({ version: 1, nonce, maxFrameBytes: 65536, advertised: '127.0.0.2:6123' }));
    expect(hello).toStrictEqual({ version: 1, nonce, maxFrameBytes: 65536, advertised: '127.0.0.2:6123' });
    const p = proof(Buffer.from('secret'), 'server', nonce, nonce);
    expect(parseChallenge(encodeChallenge({ version: 1, nonce, proof: p, maxFrameBytes: 4096 }))).toStrictEqual({ version: 1, nonce, proof: p, maxFrameBytes: 4096 });
  });

  it('reads the version of any protocol version from the fixed prefix, and spots wrong magic', () => {
    expect(readPrefix(encodeHello({ version: 7, nonce: newNonce(), maxFrameBytes: 4096, advertised: undefined }))).toStrictEqual({ version: 7 });
    expect(readPrefix(Buffer.from('XXXX\u0000\u0001'))).toStrictEqual({ foreign: expect.stringMatching(/wrong magic bytes 58585858/) });
  });

  it('proofs depend on the secret, the side and both nonces', () => {
    const [c, s, secret] = [newNonce(), newNonce(), Buffer.from('a-secret-of-16-bytes')];
    const p = proof(secret, 'client', c, s);
    expect(proofMatches(p, proof(secret, 'client', c, s))).toBe(true);
    expect(proofMatches(p, proof(secret, 'server', c, s))).toBe(false);
    expect(proofMatches(p, proof(secret, 'client', s, c))).toBe(false);
    expect(proofMatches(p, proof(Buffer.from('another-secret-16b'), 'client', c, s))).toBe(false);
    expect(proofMatches(p.subarray(1), p)).toBe(false);
  });

  it('says which versions differ and what to do', () => {
    expect(versionMismatchMessage(2, 1)).toBe('peer speaks sluice-rpc 2, this process speaks 1; run the same Sluice version on every node');
  });
});

describe('addresses', () => {
  it.each([
    ['sluice://10.0.0.2:6123/resourcemanager', { host: '10.0.0.2', port: 6123, endpoint: 'resourcemanager', peer: '10.0.0.2:6123' }],
    ['sluice://Node-1.example:80/jobmaster/3f9c', { host: 'Node-1.example', port: 80, endpoint: 'jobmaster/3f9c', peer: 'node-1.example:80' }],
    ['sluice://[fd00::2]:6123/tm-1', { host: 'fd00::2', port: 6123, endpoint: 'tm-1', peer: '[fd00::2]:6123' }],
  ])('parses %s', (text, parsed) => {
    expect(parseAddress(text)).toStrictEqual(parsed);
    expect(formatAddress(parsed.host, parsed.port, parsed.endpoint)).toBe(text.replace('Node-1', 'node-1'));
  });

  it.each([
    ['resourcemanager', /does not start with sluice:\/\//],
    ['sluice://host:6123', /names no endpoint/],
    ['sluice://host/rm', /no port/],
    ['sluice://host:0/rm', /not in 1–65535/],
    ['sluice://host:99999/rm', /not in 1–65535/],
    ['sluice://fd00::2:6123/rm', /IPv6 host must be written in brackets/],
    ['sluice://host:6123/', /endpoint name "" is invalid/],
    ['sluice://host:6123/a b', /invalid/],
  ])('refuses %s', (text, message) => {
    expect(() => parseAddress(text)).toThrow(expect.objectContaining({ code: 'CONFIGURATION', message: expect.stringMatching(message) }));
  });

  it('reduces a full address or host:port to the peer', () => {
    expect(parsePeer('sluice://127.0.0.2:5/x').peer).toBe('127.0.0.2:5');
    expect(parsePeer('LOCALHOST:5').peer).toBe('localhost:5');
  });
});
