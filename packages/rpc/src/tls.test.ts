import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NetworkRpcService } from './service.js';
import type { NetworkRpcOptions, RpcTlsOptions } from './options.js';
import { captureLog, makeTestCertificates, TEST_SECRET, waitUntil, type CapturedLog, type TestCertificates } from './testing.js';

interface Calc {
  add(a: number, b: number): Promise<number>;
}

let dir: string;
let certs: TestCertificates;
let tls: RpcTlsOptions;
const started: NetworkRpcService[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-rpc-tls-'));
  certs = makeTestCertificates(dir);
  tls = { enabled: true, keyFile: certs.keyFile, certFile: certs.certFile, caFile: certs.caFile };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function service(options: NetworkRpcOptions = {}): Promise<{ rpc: NetworkRpcService; log: CapturedLog }> {
  const log = captureLog();
  const rpc = new NetworkRpcService({ secret: TEST_SECRET, logger: log.logger, ...options });
  started.push(rpc);
  await rpc.start();
  rpc.register('calc', { add: async (a: number, b: number) => a + b });
  return { rpc, log };
}

describe('TLS (security.ssl-like options)', () => {
  it('serves calls over mutual TLS with a certificate made for the test', async () => {
    const { rpc: server, log } = await service({ tls });
    const { rpc: client } = await service({ tls: { enabled: true, key: readFileSync(certs.keyFile, 'utf8'), cert: readFileSync(certs.certFile, 'utf8'), ca: readFileSync(certs.caFile, 'utf8') } });
    const g = await client.connect<Calc>(server.addressOf('calc'));
    expect(await Promise.all([g.add(1, 2), g.add(3, 4)])).toStrictEqual([3, 7]);
    expect(server.connectionInfo()).toHaveLength(1);
    expect(log.matching(/rpc listening .*tls=true authenticated=true/)).toHaveLength(1);
  });

  it('refuses a plaintext client, logging why, and keeps serving TLS clients', async () => {
    const { rpc: server, log } = await service({ tls });
    const { rpc: plain } = await service();
    const err = await plain.connect(server.addressOf('calc')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/^RPC_(HANDSHAKE|PROTOCOL)$/), message: expect.stringMatching(/TLS|security\.ssl/) });
    await waitUntil('the refusal logged', () => log.matching(/WARN .*refused rpc connection from 127\.0\.0\.1:\d+: TLS handshake failed/).length === 1);
    const { rpc: good } = await service({ tls });
    expect(await (await good.connect<Calc>(server.addressOf('calc'))).add(2, 2)).toBe(4);
  });

  it('a TLS client meeting a plaintext server fails with a TLS error; the server says what it saw', async () => {
    const { rpc: server, log } = await service();
    const { rpc: client } = await service({ tls });
    await expect(client.connect(server.addressOf('calc'))).rejects.toMatchObject({ code: expect.stringMatching(/^RPC_(TLS|HANDSHAKE)$/) });
    await waitUntil('the refusal logged', () => log.matching(/looks like a TLS handshake: the peer uses TLS \(security\.ssl\) and this process does not/).length === 1);
  });

  it('refuses a server whose certificate the client does not trust, and a host name the certificate does not name', async () => {
    const { rpc: server } = await service({ tls });
    const { rpc: distrustful } = await service({ tls: { ...tls, caFile: certs.otherCaFile } });
    await expect(distrustful.connect(server.addressOf('calc'))).rejects.toMatchObject({ code: 'RPC_TLS', retriable: false, message: expect.stringMatching(/certificate/i) });
    // The node certificate names 127.0.0.1–127.0.0.4, not 127.0.0.5.
    const { rpc: elsewhere } = await service({ tls, bindHost: '127.0.0.5' });
    const { rpc: client } = await service({ tls });
    await expect(client.connect(elsewhere.addressOf('calc'))).rejects.toMatchObject({ code: 'RPC_TLS', message: expect.stringMatching(/127\.0\.0\.5/) });
    const { rpc: lax } = await service({ tls: { ...tls, verifyHostname: false } });
    expect(await (await lax.connect<Calc>(elsewhere.addressOf('calc'))).add(1, 1)).toBe(2);
  });

  it('with client authentication required, a client without a certificate is refused at the TLS layer', async () => {
    const { rpc: server, log } = await service({ tls });
    const port = Number(server.advertisedPeer()?.split(':')[1]);
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certs.caFile, 'utf8') });
    socket.on('error', () => undefined);
    socket.on('secureConnect', () => socket.write('hello'));
    await new Promise<void>((r) => socket.once('close', () => r()));
    await waitUntil('the refusal logged', () => log.matching(/refused rpc connection from 127\.0\.0\.1:\d+: TLS handshake failed: .*certificate/i).length === 1);
    expect(server.connectionInfo()).toStrictEqual([]);
  });

  it('names a missing TLS setting at construction', () => {
    expect(() => new NetworkRpcService({ secret: TEST_SECRET, tls: { enabled: true, certFile: certs.certFile, caFile: certs.caFile } })).toThrow(/tls is enabled but has no key: set tls\.keyFile/);
    expect(() => new NetworkRpcService({ secret: TEST_SECRET, tls: { ...tls, caFile: join(dir, 'nope.crt') } })).toThrow(/cannot read rpc tls caFile/);
  });
});
