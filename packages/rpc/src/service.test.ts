import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '@sluice/common';
import { findCallable } from './gateway.js';
import { NetworkRpcService } from './service.js';
import type { NetworkRpcOptions } from './options.js';
import { captureLog, Forwarder, TEST_SECRET, waitUntil, type CapturedLog } from './testing.js';

interface Calc {
  add(a: number, b: number): Promise<number>;
  describe(v: unknown): Promise<unknown>;
  fail(code: string, retriable: boolean): Promise<void>;
  throwPlain(): Promise<void>;
  block(id: string): Promise<string>;
  rejectsMap(): Promise<unknown>;
  _private(): Promise<string>;
  toString(): string;
}

/** A gateway whose `block` calls resolve only when the test releases them. */
function calcGateway(): { gateway: object; release(id: string): void; blocked: Set<string>; calls: string[] } {
  const waiting = new Map<string, (v: string) => void>();
  const blocked = new Set<string>();
  const calls: string[] = [];
  const gateway = {
    add: async (a: number, b: number) => a + b,
    describe: async (v: unknown) => ({ got: v }),
    fail: async (code: string, retriable: boolean) => {
      throw new SluiceError(code, `failed on purpose with ${code}`, { retriable });
    },
    throwPlain: async () => {
      throw new TypeError('not a SluiceError');
    },
    block: (id: string) => {
      calls.push(id);
      blocked.add(id);
      return new Promise<string>((resolve) => waiting.set(id, resolve));
    },
    rejectsMap: async () => new Map(),
    _private: async () => 'secret',
  };
  return {
    gateway,
    blocked,
    calls,
    release: (id) => {
      blocked.delete(id);
      waiting.get(id)?.(`done ${id}`);
    },
  };
}

const started: NetworkRpcService[] = [];
const forwarders: Forwarder[] = [];

async function service(options: NetworkRpcOptions = {}): Promise<{ rpc: NetworkRpcService; log: CapturedLog }> {
  const log = captureLog();
  const rpc = new NetworkRpcService({ secret: TEST_SECRET, logger: log.logger, ...options });
  started.push(rpc);
  await rpc.start();
  return { rpc, log };
}

const socketHandles = (): string[] => process.getActiveResourcesInfo().filter((h) => /TCP|TLS/.test(h));
const timers = (): number => process.getActiveResourcesInfo().filter((h) => h === 'Timeout').length;

/** Polls until no TCP server or socket handle is left (Node lists a closed one until a later turn); returns what is left. */
async function settleSockets(): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (socketHandles().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return socketHandles();
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await Promise.all(forwarders.splice(0).map((f) => f.stop()));
});

describe('NetworkRpcService calls', () => {
  it('serves a gateway to another service: results, SluiceErrors by code and flag, plain errors as INTERNAL', async () => {
    const { rpc: server } = await service();
    const { rpc: client } = await service();
    server.register('calc', calcGateway().gateway);
    const calc = await client.connect<Calc>(server.addressOf('calc'));
    expect(await calc.add(2, 3)).toBe(5);
    expect(await calc.describe({ big: 1n, bytes: new Uint8Array([9]), list: [undefined, 1] })).toStrictEqual({ got: { big: 1n, bytes: new Uint8Array([9]), list: [undefined, 1] } });
    await expect(calc.fail('SLOT_GONE', true)).rejects.toMatchObject({ code: 'SLOT_GONE', retriable: true, message: 'failed on purpose with SLOT_GONE' });
    await expect(calc.fail('JOB_DEFINITION', false)).rejects.toMatchObject({ code: 'JOB_DEFINITION', retriable: false });
    const plain = await calc.throwPlain().catch((e: unknown) => e);
    expect(plain).toMatchObject({ code: 'INTERNAL', retriable: false, name: 'TypeError', message: 'not a SluiceError' });
    expect((plain as Error).stack).toMatch(/Remote stack \(sluice:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('refuses unknown and non-gateway methods, unknown endpoints, and results that are not plain data', async () => {
    const { rpc: server } = await service();
    const { rpc: client } = await service();
    server.register('calc', calcGateway().gateway);
    const calc = await client.connect<Calc>(server.addressOf('calc'));
    const anyCalc = calc as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const name of ['nope', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', 'propertyIsEnumerable']) {
      await expect(anyCalc[name]?.()).rejects.toMatchObject({ code: 'RPC_UNKNOWN_METHOD', retriable: false, message: expect.stringContaining(`'${name}'`) });
    }
    // The proxy does not even offer these; the server would refuse them all the same.
    expect(calc._private).toBeUndefined();
    expect(anyCalc.constructor).toBeUndefined();
    expect((calc as unknown as { then?: unknown }).then).toBeUndefined();
    expect(`${String(calc)}`).toBe(`[remote gateway ${server.addressOf('calc')}]`);
    await expect(calc.rejectsMap()).rejects.toMatchObject({ code: 'RPC_NOT_PLAIN_DATA', message: expect.stringMatching(/the result of calc\.rejectsMap|a Map/) });
    await expect(calc.describe(new Set([1]))).rejects.toMatchObject({ code: 'RPC_NOT_PLAIN_DATA' });
    await expect(client.connect(server.addressOf('missing'))).rejects.toMatchObject({ code: 'RPC_UNREACHABLE', retriable: true, message: expect.stringContaining('/missing') });
    server.unregister('calc');
    await expect(calc.add(1, 1)).rejects.toMatchObject({ code: 'RPC_UNREACHABLE', retriable: true });
  });

  it('lets peers call only a gateway’s own methods, never Object.prototype, constructors, getters or _names', () => {
    class Base {
      inherited(): string {
        return 'ok';
      }
    }
    class View extends Base {
      own(): string {
        return 'ok';
      }
      get sneaky(): () => string {
        throw new Error('a getter must never run');
      }
      _hidden(): string {
        return 'no';
      }
    }
    const view = new View();
    const plain = { m: () => 1, notAFunction: 3 };
    expect(findCallable(view, 'own')).toBe(View.prototype.own);
    expect(findCallable(view, 'inherited')).toBe(Base.prototype.inherited);
    expect(findCallable(plain, 'm')).toBe(plain.m);
    for (const name of ['sneaky', '_hidden', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', '__defineSetter__', 'notAFunction', '']) {
      expect(findCallable(name === 'notAFunction' ? plain : view, name)).toBeUndefined();
    }
  });

  it('resolves local names and its own network addresses to the registered object, like LocalRpcService', async () => {
    const { rpc } = await service();
    const g = calcGateway().gateway;
    rpc.register('calc', g);
    expect(await rpc.connect('calc')).toBe(g);
    expect(await rpc.connect(rpc.addressOf('calc'))).toBe(g);
    await expect(rpc.connect('other')).rejects.toMatchObject({ code: 'RPC_UNREACHABLE' });
    expect(() => rpc.register('calc', {})).toThrow(expect.objectContaining({ code: 'RPC_ADDRESS_IN_USE' }));
    expect(() => rpc.register('sluice://10.9.9.9:1/calc', {})).toThrow(/not an address of this process/);
  });

  it('multiplexes concurrent calls on one connection and delivers replies in the order they are ready', async () => {
    const { rpc: server } = await service();
    const { rpc: client } = await service();
    const calc = calcGateway();
    server.register('calc', calc.gateway);
    server.register('calc2', calcGateway().gateway);
    const g = await client.connect<Calc>(server.addressOf('calc'));
    const g2 = await client.connect<Calc>(server.addressOf('calc2'));
    const order: string[] = [];
    const calls = ['a', 'b', 'c'].map((id) => g.block(id).then((r) => order.push(r)));
    const sums = Array.from({ length: 200 }, (_, i) => g2.add(i, 1));
    await waitUntil('three blocked calls', () => calc.blocked.size === 3);
    expect(await Promise.all(sums)).toStrictEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    calc.release('c');
    await waitUntil('c', () => order.length === 1);
    calc.release('a');
    await waitUntil('a', () => order.length === 2);
    calc.release('b');
    await Promise.all(calls);
    expect(order).toStrictEqual(['done c', 'done a', 'done b']);
    expect(server.connectionInfo()).toHaveLength(1);
    expect(client.connectionInfo()).toHaveLength(1);
  });

  it('keeps one connection per pair of processes: calls back from the server reuse the client’s connection', async () => {
    const { rpc: a } = await service();
    const { rpc: b } = await service();
    const ca = calcGateway();
    const cb = calcGateway();
    a.register('calc', ca.gateway);
    b.register('calc', cb.gateway);
    const aFromB = await b.connect<Calc>(a.addressOf('calc'));
    const bFromA = await a.connect<Calc>(b.addressOf('calc'));
    // Both directions at once, each blocked while the other runs.
    const x = aFromB.block('from b');
    const y = bFromA.block('from a');
    await waitUntil('both blocked', () => ca.blocked.size === 1 && cb.blocked.size === 1);
    ca.release('from b');
    cb.release('from a');
    expect(await Promise.all([x, y])).toStrictEqual(['done from b', 'done from a']);
    for (let i = 0; i < 20; i++) await Promise.all([aFromB.add(i, i), bFromA.add(i, i), (await b.connect<Calc>(a.addressOf('calc'))).add(1, 1)]);
    expect(a.connectionInfo()).toStrictEqual([{ direction: 'inbound', peer: b.advertisedPeer(), remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/), open: true }]);
    expect(b.connectionInfo()).toStrictEqual([{ direction: 'outbound', peer: a.advertisedPeer(), remote: a.advertisedPeer(), open: true }]);
  });

  it('times out a call with a retriable RPC_TIMEOUT, ignores its late reply, and keeps the connection', async () => {
    const { rpc: server } = await service();
    const { rpc: client } = await service({ callTimeoutMs: 60_000 });
    const calc = calcGateway();
    server.register('calc', calc.gateway);
    const g = await client.connect<Calc>(server.addressOf('calc'), { timeoutMs: 100 });
    await expect(g.block('slow')).rejects.toMatchObject({ code: 'RPC_TIMEOUT', retriable: true, message: expect.stringContaining('calc.block') });
    calc.release('slow');
    expect(await g.add(1, 2)).toBe(3);
    expect(client.connectionInfo()).toHaveLength(1);
  });

  it('fails pending calls at once when the connection drops, tells both sides, and reconnects on the next call', async () => {
    const { rpc: server } = await service();
    const { rpc: client } = await service();
    const calc = calcGateway();
    server.register('calc', calc.gateway);
    const fwd = new Forwarder('127.0.0.1', '127.0.0.1', Number(server.advertisedPeer()?.split(':')[1]));
    forwarders.push(fwd);
    const port = await fwd.start();
    // The client reaches the server only through the forwarder, which stands in for the network.
    const g = await client.connect<Calc>(`sluice://127.0.0.1:${port}/calc`, { timeoutMs: 0 });
    const clientLost: string[] = [];
    const serverLost: string[] = [];
    const addressesLost: string[] = [];
    client.onAddressLost((address) => addressesLost.push(address));
    client.onPeerLost(`sluice://127.0.0.1:${port}/calc`, (e) => clientLost.push(e.peer));
    server.onPeerLost(client.advertisedPeer() ?? '', (e) => serverLost.push(e.peer));
    const pending = g.block('p');
    await waitUntil('call arrives', () => calc.blocked.has('p'));
    fwd.cut();
    await expect(pending).rejects.toMatchObject({ code: 'RPC_CONNECTION_LOST', retriable: true });
    await waitUntil('both sides told', () => clientLost.length === 1 && serverLost.length === 1);
    expect(clientLost).toStrictEqual([`127.0.0.1:${port}`]);
    expect(serverLost).toStrictEqual([client.advertisedPeer()]);
    // Every address connected to at that peer, as components know their peers by.
    expect(addressesLost).toStrictEqual([`sluice://127.0.0.1:${port}/calc`]);
    expect(await g.add(20, 22)).toBe(42);
    expect(fwd.pairs.size).toBe(1);
  });

  it('stop() fails pending calls, notifies the peer, and leaves no sockets, servers or timers', async () => {
    expect(await settleSockets()).toStrictEqual([]);
    const timersBefore = timers();
    const { rpc: server } = await service();
    const log = captureLog();
    const client = new NetworkRpcService({ secret: TEST_SECRET, logger: log.logger });
    await client.start();
    const calc = calcGateway();
    server.register('calc', calc.gateway);
    const lost: string[] = [];
    server.onPeerLost(client.advertisedPeer() ?? '', (e) => lost.push(e.reason));
    const g = await client.connect<Calc>(server.addressOf('calc'));
    const pending = g.block('p').catch((e: unknown) => e);
    await waitUntil('call arrives', () => calc.blocked.has('p'));
    await client.stop();
    expect(await pending).toMatchObject({ code: 'RPC_SERVICE_STOPPED', retriable: false });
    await expect(g.add(1, 1)).rejects.toMatchObject({ code: 'RPC_SERVICE_STOPPED' });
    await waitUntil('server told', () => lost.length === 1);
    await server.stop();
    expect(await settleSockets()).toStrictEqual([]);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(server.connectionInfo()).toStrictEqual([]);
  });
});
