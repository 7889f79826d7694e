import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { frame, FrameReader, FRAME } from './frames.js';
import { encodeHello, newNonce, parseChallenge, parseRejection, proof, PROTOCOL_VERSION } from './handshake.js';
import { NetworkRpcService } from './service.js';
import type { NetworkRpcOptions } from './options.js';
import { captureLog, TEST_SECRET, waitUntil, type CapturedLog } from './testing.js';

interface Calc {
  add(a: number, b: number): Promise<number>;
  size(v: string): Promise<number>;
  big(n: number): Promise<string>;
}
const calc = { add: async (a: number, b: number) => a + b, size: async (v: string) => v.length, big: async (n: number) => 'x'.repeat(n) };

const started: NetworkRpcService[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

async function service(options: NetworkRpcOptions = {}): Promise<{ rpc: NetworkRpcService; log: CapturedLog }> {
  const log = captureLog();
  const secret = options.secretFile !== undefined || options.allowUnauthenticated === true ? {} : { secret: TEST_SECRET };
  const rpc = new NetworkRpcService({ ...secret, logger: log.logger, ...options });
  started.push(rpc);
  await rpc.start();
  rpc.register('calc', calc);
  return { rpc, log };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A hand-driven client: sends what a test says and records the frames it gets back. */
function rawClient(port: number): { socket: Socket; frames: { kind: number; body: Buffer }[]; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  const frames: { kind: number; body: Buffer }[] = [];
  const reader = new FrameReader(1 << 20, (kind, body) => frames.push({ kind, body: Buffer.from(body) }), () => undefined);
  socket.on('data', (c: Buffer) => reader.push(c));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, frames, closed };
}

/** Runs the real handshake by hand with `secret`; resolves once the server said READY. */
async function authenticatedRawClient(port: number, secret: string): Promise<ReturnType<typeof rawClient>> {
  const c = rawClient(port);
  const nonce = newNonce();
  c.socket.write(frame(FRAME.HELLO, encodeHello({ version: PROTOCOL_VERSION, nonce, maxFrameBytes: 1 << 20, advertised: undefined })));
  await waitUntil('CHALLENGE', () => c.frames.length === 1);
  const challenge = parseChallenge(c.frames[0]?.body ?? Buffer.alloc(0));
  if (challenge === undefined) throw new Error('no challenge');
  c.socket.write(frame(FRAME.AUTH, proof(Buffer.from(secret), 'client', nonce, challenge.nonce)));
  await waitUntil('READY', () => c.frames.length === 2);
  expect(c.frames[1]?.kind).toBe(FRAME.READY);
  return c;
}

describe('handshake', () => {
  it.each([
    { server: 1, client: 2 },
    { server: 2, client: 1 },
  ])('a version mismatch (server $server, client $client) is one clear error on each side, not retriable', async ({ server: sv, client: cv }) => {
    const { rpc: server, log: serverLog } = await service({ protocolVersion: sv });
    const { rpc: client, log: clientLog } = await service({ protocolVersion: cv });
    const err = await client.connect<Calc>(server.addressOf('calc')).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'RPC_VERSION_MISMATCH',
      retriable: false,
      message: `${server.addressOf('calc').replace('/calc', '')}: peer speaks sluice-rpc ${sv}, this process speaks ${cv}; run the same Sluice version on every node`,
    });
    const lines = serverLog.matching(/sluice-rpc/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`ERROR .*from 127\\.0\\.0\\.1:\\d+: peer speaks sluice-rpc ${cv}, this process speaks ${sv}; run the same Sluice version on every node`));
    expect(clientLog.matching(/sluice-rpc/)).toStrictEqual([]);
  });

  it('refuses a peer with another cluster secret, logging who and why, never the secret', async () => {
    const { rpc: server, log: serverLog } = await service();
    const other = 'another-secret-of-enough-length';
    const { rpc: client } = await service({ secret: other });
    const err = await client.connect<Calc>(server.addressOf('calc')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RPC_AUTH', retriable: false, message: expect.stringMatching(/cluster secret does not match the peer's.*every node must use the same secret/) });
    await waitUntil('server log', () => serverLog.matching(/WARN .*from 127\.0\.0\.1:\d+: wrong cluster secret/).length === 1);
    expect(serverLog.lines.join('\n')).not.toMatch(new RegExp(`${TEST_SECRET}|${other}`));
    expect(server.connectionInfo()).toStrictEqual([]);
  });

  it('the server refuses a client that cannot prove it holds the secret, even one that skips checking the server', async () => {
    const { rpc: server, log } = await service();
    const c = rawClient(Number(server.advertisedPeer()?.split(':')[1]));
    c.socket.write(frame(FRAME.HELLO, encodeHello({ version: PROTOCOL_VERSION, nonce: newNonce(), maxFrameBytes: 1 << 20, advertised: undefined })));
    await waitUntil('CHALLENGE', () => c.frames.length === 1);
    c.socket.write(frame(FRAME.AUTH, randomBytes(32)));
    await c.closed;
    expect(c.frames[1]?.kind).toBe(FRAME.REJECT);
    expect(parseRejection(c.frames[1]?.body ?? Buffer.alloc(0)).code).toBe('RPC_AUTH');
    expect(log.matching(/WARN .*from 127\.0\.0\.1:\d+: wrong cluster secret \(its proof does not match\)/)).toHaveLength(1);
  });

  it('a client with the secret refuses a server that cannot prove it holds it', async () => {
    const { rpc: server, log: serverLog } = await service({ allowUnauthenticated: true });
    const { rpc: client } = await service();
    await expect(client.connect(server.addressOf('calc'))).rejects.toMatchObject({ code: 'RPC_AUTH', message: expect.stringMatching(/the server's proof does not match/) });
    await waitUntil('server log', () => serverLog.matching(/wrong cluster secret/).length === 1);
    const { rpc: devClient } = await service({ allowUnauthenticated: true });
    expect(await (await devClient.connect<Calc>(server.addressOf('calc'))).add(1, 1)).toBe(2);
  });

  it('validates the secret settings before anything listens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-rpc-'));
    dirs.push(dir);
    expect(() => new NetworkRpcService({})).toThrow(expect.objectContaining({ code: 'CONFIGURATION', message: expect.stringMatching(/needs the cluster secret/) }));
    expect(() => new NetworkRpcService({ allowUnauthenticated: true, bindHost: '0.0.0.0' })).toThrow(/allowUnauthenticated is refused with bindHost 0\.0\.0\.0/);
    expect(() => new NetworkRpcService({ secret: 'short' })).toThrow(/5 bytes; use at least 16/);
    expect(() => new NetworkRpcService({ secretFile: join(dir, 'missing') })).toThrow(/the rpc cluster secret file .*missing cannot be read/);
    expect(() => new NetworkRpcService({ secret: TEST_SECRET, secretFile: 'x' })).toThrow(/both set/);
  });

  it('reads the secret from a file without its trailing newline, and warns when others can read it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-rpc-'));
    dirs.push(dir);
    const file = join(dir, 'secret');
    writeFileSync(file, `${TEST_SECRET}\n`, { mode: 0o600 });
    const { rpc: server, log } = await service({ secretFile: file });
    const { rpc: client } = await service();
    expect(await (await client.connect<Calc>(server.addressOf('calc'))).add(2, 2)).toBe(4);
    expect(log.matching(/readable by other users/)).toStrictEqual([]);
    chmodSync(file, 0o644);
    const loose = captureLog();
    new NetworkRpcService({ secretFile: file, logger: loose.logger });
    expect(loose.matching(/WARN .*readable by other users; chmod 600 it/)).toHaveLength(1);
  });
});

describe('bad input on the RPC port', () => {
  const oversizedHeader = Buffer.from([0x06, 0x40, 0x00, 0x00, 0x01]);
  const wrongMagic = frame(FRAME.HELLO, Buffer.from('XXXX\u0000\u0001' + 'n'.repeat(40)));
  it.each([
    ['random bytes', () => randomBytes(256), /closed rpc connection from 127\.0\.0\.1:\d+: /],
    ['an HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /looks like text "GET \/ HTTP\/1\.1\\r\\n".*HTTP client/],
    ['wrong magic', () => wrongMagic, /wrong magic bytes 58585858/],
    ['an oversized first frame', () => oversizedHeader, /looks like bytes 0640000001.*not the sluice-rpc protocol/],
    ['nothing at all (a slow handshake)', () => Buffer.alloc(0), /no complete handshake within 300 ms/],
  ])('%s: the connection is closed with a logged reason and the server keeps serving', async (_name, bytes, reason) => {
    const { rpc: server, log } = await service({ handshakeTimeoutMs: 300 });
    const { rpc: good } = await service();
    const port = Number(server.advertisedPeer()?.split(':')[1]);
    const c = rawClient(port);
    c.socket.write(bytes());
    await c.closed;
    await waitUntil('the reason logged', () => log.matching(reason).length === 1);
    expect(await (await good.connect<Calc>(server.addressOf('calc'))).add(40, 2)).toBe(42);
    expect(server.connectionInfo()).toHaveLength(1);
  });

  it('an oversized frame from an authenticated peer closes its connection with a reason; others go on', async () => {
    const { rpc: server, log } = await service({ maxFrameBytes: 65536 });
    const { rpc: good } = await service();
    const g = await good.connect<Calc>(server.addressOf('calc'));
    const c = await authenticatedRawClient(Number(server.advertisedPeer()?.split(':')[1]), TEST_SECRET);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(1_048_577, 0);
    header[4] = FRAME.CALL;
    c.socket.write(header);
    await c.closed;
    expect(log.matching(/WARN .*from 127\.0\.0\.1:\d+: a frame of 1048577 bytes exceeds this process's limit of 65536 bytes \(rpc maxFrameBytes\)/)).toHaveLength(1);
    const farewell = c.frames[2];
    expect(farewell?.kind).toBe(FRAME.REJECT);
    expect(parseRejection(farewell?.body ?? Buffer.alloc(0)).code).toBe('RPC_FRAME_TOO_LARGE');
    expect(await g.add(1, 2)).toBe(3);
  });

  it('a well-behaved peer refuses to send a call or reply over the receiver’s limit, and keeps the connection', async () => {
    const { rpc: server, log } = await service({ maxFrameBytes: 65536 });
    const { rpc: client } = await service({ maxFrameBytes: 1 << 20 });
    const g = await client.connect<Calc>(server.addressOf('calc'));
    await expect(g.size('y'.repeat(100_000))).rejects.toMatchObject({ code: 'RPC_FRAME_TOO_LARGE', retriable: false, message: expect.stringMatching(/peer's frame limit of 65536 bytes/) });
    expect(await g.size('y'.repeat(1000))).toBe(1000);
    const { rpc: small } = await service({ maxFrameBytes: 65536 });
    const { rpc: bigServer } = await service({ maxFrameBytes: 1 << 20 });
    const h = await small.connect<Calc>(bigServer.addressOf('calc'));
    await expect(h.big(100_000)).rejects.toMatchObject({ code: 'RPC_FRAME_TOO_LARGE', message: expect.stringMatching(/the result of calc\.big is \d+ bytes, more than the caller's frame limit of 65536/) });
    expect(await h.big(10)).toBe('xxxxxxxxxx');
    expect(client.connectionInfo()).toHaveLength(1);
    expect(small.connectionInfo()).toHaveLength(1);
    expect(log.matching(/closed rpc connection/)).toStrictEqual([]);
  });
});
