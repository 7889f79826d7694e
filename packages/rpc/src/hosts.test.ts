import { afterEach, describe, expect, it } from 'vitest';
import { NetworkRpcService } from './service.js';
import type { NetworkRpcOptions } from './options.js';
import { captureLog, Forwarder, TEST_SECRET } from './testing.js';

// "Hosts" are distinct loopback addresses: Linux routes all of 127.0.0.0/8 to the loopback device.

interface Who {
  whoAmI(): Promise<string>;
  askBack(address: string): Promise<string>;
}

const started: NetworkRpcService[] = [];
const forwarders: Forwarder[] = [];

async function host(name: string, options: NetworkRpcOptions): Promise<NetworkRpcService> {
  const rpc = new NetworkRpcService({ secret: TEST_SECRET, logger: captureLog().logger, ...options });
  started.push(rpc);
  await rpc.start();
  rpc.register('who', {
    whoAmI: async () => name,
    askBack: async (address: string) => `${name} heard ${await (await rpc.connect<Who>(address)).whoAmI()}`,
  });
  return rpc;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await Promise.all(forwarders.splice(0).map((f) => f.stop()));
});

describe('hosts', () => {
  it('a service bound to 127.0.0.2 is reached by one bound to 127.0.0.3 at its advertised address, and calls back on the same connection', async () => {
    const a = await host('a', { bindHost: '127.0.0.2' });
    const b = await host('b', { bindHost: '127.0.0.3' });
    expect(a.addressOf('who')).toMatch(/^sluice:\/\/127\.0\.0\.2:\d+\/who$/);
    const whoA = await b.connect<Who>(a.addressOf('who'));
    expect(await whoA.whoAmI()).toBe('a');
    expect(await whoA.askBack(b.addressOf('who'))).toBe('a heard b');
    // b's connection leaves from 127.0.0.3, the host a knows b by; a called back over it.
    expect(a.connectionInfo()).toStrictEqual([{ direction: 'inbound', peer: b.advertisedPeer(), remote: expect.stringMatching(/^127\.0\.0\.3:\d+$/), open: true }]);
    expect(b.connectionInfo()).toStrictEqual([{ direction: 'outbound', peer: a.advertisedPeer(), remote: a.advertisedPeer(), open: true }]);
  });

  it('advertises an address other than the one it binds (a port mapping), and peers reach it there', async () => {
    // The "mapping": 127.0.0.4:P forwards to a's bound port on 127.0.0.2. Nothing else listens on 127.0.0.4.
    const mapping = new Forwarder('127.0.0.4', '127.0.0.2', 0);
    forwarders.push(mapping);
    const mappedPort = await mapping.start();
    const a = await host('a', { bindHost: '127.0.0.2', advertisedHost: '127.0.0.4', advertisedPort: mappedPort });
    mapping.targetPort = a.listeningPort ?? 0;
    expect(a.listeningPort).not.toBe(mappedPort);
    expect(a.addressOf('who')).toBe(`sluice://127.0.0.4:${mappedPort}/who`);
    const b = await host('b', { bindHost: '127.0.0.3' });
    expect(await (await b.connect<Who>(a.addressOf('who'))).whoAmI()).toBe('a');
    expect(mapping.pairs.size).toBe(1);
    // a recognises its advertised address as its own: the call stays in the process.
    expect(await (await a.connect<Who>(a.addressOf('who'))).whoAmI()).toBe('a');
    expect(a.connectionInfo()).toHaveLength(1);
    expect(mapping.pairs.size).toBe(1);
  });

  it('binding every interface needs an advertised host, and allows no unauthenticated mode', async () => {
    const wildcard = new NetworkRpcService({ secret: TEST_SECRET, bindHost: '0.0.0.0', logger: captureLog().logger });
    await expect(wildcard.start()).rejects.toMatchObject({ code: 'CONFIGURATION', message: expect.stringMatching(/listens on every interface.*set advertisedHost/) });
    expect(() => new NetworkRpcService({ allowUnauthenticated: true, bindHost: '127.0.0.3' })).not.toThrow();
    expect(() => new NetworkRpcService({ allowUnauthenticated: true, bindHost: '::' })).toThrow(/allowUnauthenticated is refused/);
  });
});
