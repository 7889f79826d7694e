import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAuthenticatedDataTransport, type AuthenticatedDataTransport } from './data-transport.js';
import { resolveNetworkRpcOptions, type NetworkRpcOptions } from './options.js';
import { captureLog, makeTestCertificates, TEST_SECRET, waitUntil, type CapturedLog } from './testing.js';

const transports: AuthenticatedDataTransport[] = [];
const streams: (Duplex | Socket)[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of streams.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function transport(options: NetworkRpcOptions = {}): { t: AuthenticatedDataTransport; log: CapturedLog } {
  const log = captureLog();
  const t = createAuthenticatedDataTransport({ rpc: resolveNetworkRpcOptions({ secret: TEST_SECRET, ...options, logger: log.logger }) });
  transports.push(t);
  return { t, log };
}

/** A server that echoes what an authenticated stream sends, and the streams it accepted. */
async function echoServer(options: NetworkRpcOptions = {}): Promise<{ port: number; log: CapturedLog; accepted: Duplex[] }> {
  const { t, log } = transport(options);
  const accepted: Duplex[] = [];
  const address = await t.listen((s) => {
    accepted.push(s);
    streams.push(s);
    s.on('data', (c: Buffer) => s.write(c));
    s.resume();
  });
  return { port: address.port, log, accepted };
}

async function roundTrip(s: Duplex, text: string): Promise<string> {
  const got = new Promise<string>((resolve) => s.once('data', (c: Buffer) => resolve(c.toString())));
  s.resume();
  s.write(text);
  return got;
}

/** Raw bytes to the port; resolves with what came back when the server closed the connection. */
function raw(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    streams.push(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.write(bytes);
  });
}

describe('authenticated data transport', () => {
  it('hands over streams only after both sides proved the cluster secret; bytes sent right after the handshake are not lost', async () => {
    const server = await echoServer();
    const { t } = transport();
    const s = await t.connect({ host: '127.0.0.1', port: server.port });
    streams.push(s);
    expect(await roundTrip(s, 'hello over the data port')).toBe('hello over the data port');
    expect(server.accepted).toHaveLength(1);
    expect(server.log.matching(/refused/)).toEqual([]);
  });

  it('refuses a client with another secret on both sides, with the reason logged, and keeps serving', async () => {
    const server = await echoServer();
    const { t: wrong } = transport({ secret: 'another-secret-0123456789abcdef' });
    await expect(wrong.connect({ host: '127.0.0.1', port: server.port })).rejects.toThrow(/does not share this process's cluster secret/);
    await waitUntil('the refusal logged', () => server.log.matching(/refused data connection .*wrong cluster secret/).length === 1);
    expect(server.accepted).toHaveLength(0);
    const { t: right } = transport();
    const s = await right.connect({ host: '127.0.0.1', port: server.port });
    streams.push(s);
    expect(await roundTrip(s, 'still serving')).toBe('still serving');
  });

  it('refuses garbage and an HTTP request at once, naming what it saw', async () => {
    const server = await echoServer();
    await raw(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw(server.port, Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    await waitUntil('both refusals logged', () => server.log.matching(/refused data connection/).length === 2);
    expect(server.log.matching(/refused data connection/).join('\n')).toMatch(/text "GET \/ HTTP.*not the Sluice data exchange/);
    expect(server.log.matching(/refused data connection/).join('\n')).toMatch(/bytes deadbeef.*not the Sluice data exchange/);
    expect(server.accepted).toHaveLength(0);
  });

  it('refuses a client speaking another handshake version with both versions in the reason', async () => {
    const server = await echoServer();
    const hello = Buffer.concat([Buffer.from('SLDX', 'latin1'), Buffer.from([0, 9]), Buffer.alloc(32)]);
    const answer = await raw(server.port, hello);
    expect(answer[0]).toBe(0x05);
    expect(answer.subarray(3).toString()).toMatch(/version 9, this process speaks 1/);
    await waitUntil('logged', () => server.log.matching(/refused data connection .*version 9/).length === 1);
  });

  it('refuses a client that goes silent within the handshake timeout', async () => {
    const server = await echoServer({ handshakeTimeoutMs: 200 });
    await raw(server.port, Buffer.from('SLD'));
    await waitUntil('logged', () => server.log.matching(/refused data connection .*no complete handshake within 200 ms/).length === 1);
  });

  it('runs under TLS when the RPC has it, and a plain client is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-data-tls-'));
    dirs.push(dir);
    const certs = makeTestCertificates(dir);
    const tls = { enabled: true, keyFile: certs.keyFile, certFile: certs.certFile, caFile: certs.caFile };
    const server = await echoServer({ tls });
    const { t } = transport({ tls });
    const s = await t.connect({ host: '127.0.0.1', port: server.port });
    streams.push(s);
    expect(await roundTrip(s, 'encrypted')).toBe('encrypted');
    const { t: plain } = transport();
    await expect(plain.connect({ host: '127.0.0.1', port: server.port })).rejects.toThrow();
    await waitUntil('the TLS refusal logged', () => server.log.matching(/refused data connection .*TLS/).length >= 1);
  });
});
