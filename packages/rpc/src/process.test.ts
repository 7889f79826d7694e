import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkRpcService } from './service.js';
import { captureLog, TEST_SECRET, waitUntil } from './testing.js';

// The peer runs the built package, as a TaskManager process would (`npm run build` first).
const PEER = fileURLToPath(new URL('../dist/test-peer.js', import.meta.url));

interface Peer {
  echo<T>(v: T): Promise<T>;
  pid(): Promise<number>;
  callBack(address: string, text: string): Promise<string>;
  hang(): Promise<never>;
}

const children: ChildProcess[] = [];
const services: NetworkRpcService[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

async function startPeer(): Promise<{ child: ChildProcess; address: string; stderr: string[] }> {
  if (!existsSync(PEER)) throw new Error(`${PEER} is missing: run npm run build first`);
  const stderr: string[] = [];
  const child = fork(PEER, [], { execArgv: [], env: { ...process.env, SLUICE_RPC_TEST_SECRET: TEST_SECRET }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  children.push(child);
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { address: string }).address));
    child.once('exit', (code) => reject(new Error(`peer process exited with ${code}: ${stderr.join('')}`)));
  });
  return { child, address, stderr };
}

describe('between processes', () => {
  it('two processes call each other over one connection, and a killed peer fails pending calls and is reported lost', async () => {
    const { child, address } = await startPeer();
    const log = captureLog();
    const parent = new NetworkRpcService({ secret: TEST_SECRET, logger: log.logger });
    services.push(parent);
    await parent.start();
    const notes: string[] = [];
    parent.register('parent', { note: async (text: string) => (notes.push(text), `noted ${notes.length}`) });

    const peer = await parent.connect<Peer>(address, { timeoutMs: 0 });
    expect(await peer.pid()).toBe(child.pid);
    const payload = { offset: 2n ** 64n, state: new Uint8Array([1, 2, 3]), at: new Date(0), args: ['dir', undefined], nested: { $sluice: 'mine' } };
    expect(await peer.echo(payload)).toStrictEqual(payload);
    expect(await peer.callBack(parent.addressOf('parent'), 'hello')).toBe('noted 1');
    expect(notes).toStrictEqual([`hello from ${child.pid}`]);
    expect(parent.connectionInfo()).toStrictEqual([{ direction: 'outbound', peer: address.replace(/^sluice:\/\/|\/peer$/g, ''), remote: expect.any(String), open: true }]);

    const lost: string[] = [];
    parent.onPeerLost(address, (e) => lost.push(e.peer));
    const hanging = new Promise((r) => child.once('message', r));
    const exited = new Promise((r) => child.once('exit', r));
    const pending = peer.hang().catch((e: unknown) => e);
    await hanging;
    child.kill('SIGKILL');
    expect(await pending).toMatchObject({ code: 'RPC_CONNECTION_LOST', retriable: true });
    await waitUntil('peer reported lost', () => lost.length === 1);
    await exited;
    await expect(peer.pid()).rejects.toMatchObject({ code: 'RPC_UNREACHABLE', retriable: true, message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('a peer process stops cleanly on request', async () => {
    const { child } = await startPeer();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.send('stop');
    expect(await exited).toBe(0);
  });
});
