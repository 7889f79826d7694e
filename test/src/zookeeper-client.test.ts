/**
 * @sluice/zookeeper against a real ZooKeeper 3.9 (test/src/zookeeper.ts): CRUD with versions,
 * sequential and ephemeral nodes, multi's atomicity, one-shot watches, chroot, digest ACLs, TLS.
 * Session behaviour under failures (kill -9, SIGSTOP, unreachable servers) is in
 * zookeeper-client-failures.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@sluice/common';
import { makeTestCertificates, type TestCertificates } from '@sluice/rpc/testing';
import { isZooKeeperError, type WatchEvent, ZooKeeperClient, type ZooKeeperClientOptions } from '@sluice/zookeeper';
import { waitFor } from './leaks.js';
import { rejection, startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`ZooKeeper client tests skipped (${skipReason})`);

/** A promise of the next event a one-shot watcher gets. */
function nextEvent(): { watcher: (e: WatchEvent) => void; event: Promise<WatchEvent> } {
  let watcher!: (e: WatchEvent) => void;
  const event = new Promise<WatchEvent>((resolve) => (watcher = resolve));
  return { watcher, event };
}

describe.skipIf(skipReason !== undefined)('ZooKeeperClient on a standalone ZooKeeper', () => {
  let zk: ZookeeperEnsemble;
  const clients: ZooKeeperClient[] = [];

  async function client(options: Partial<ZooKeeperClientOptions> = {}): Promise<ZooKeeperClient> {
    const c = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000, logger: silentLogger, ...options });
    clients.push(c);
    await c.start();
    return c;
  }

  beforeAll(async () => {
    zk = await startZookeeper();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('creates, reads, updates and deletes with versions', async () => {
    const zk1 = await client();
    expect(zk1.state).toBe('connected');
    expect(zk1.sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect(zk1.sessionId).not.toBe('0000000000000000');
    expect(zk1.sessionTimeoutMs).toBe(10_000);

    expect(await zk1.create('/crud', 'v0')).toBe('/crud');
    const read = await zk1.getData('/crud');
    expect(read.data.toString()).toBe('v0');
    expect(read.stat.version).toBe(0);
    expect(read.stat.dataLength).toBe(2);
    expect(read.stat.ephemeralOwner).toBe(0n);
    expect(read.stat.ctime).toBeGreaterThan(0);

    const set = await zk1.setData('/crud', Buffer.from('v1'), 0);
    expect(set.version).toBe(1);
    expect(set.mzxid).toBeGreaterThan(read.stat.mzxid);
    const stale = await rejection(zk1.setData('/crud', 'v2', 0));
    expect(isZooKeeperError(stale, 'BADVERSION')).toBe(true);
    expect((stale as Error).message).toContain('/crud');
    expect((await zk1.setData('/crud', 'v2')).version).toBe(2); // -1: any version

    expect(isZooKeeperError(await rejection(zk1.create('/crud')), 'ZK_NODEEXISTS')).toBe(true);
    expect(isZooKeeperError(await rejection(zk1.create('/missing/child')), 'NONODE')).toBe(true);
    expect(await zk1.create('/crud/a/b/c', 'deep', { parents: true })).toBe('/crud/a/b/c');
    expect(await zk1.getChildren('/crud')).toEqual(['a']);
    expect((await zk1.exists('/crud'))?.numChildren).toBe(1);

    expect(isZooKeeperError(await rejection(zk1.delete('/crud')), 'NOTEMPTY')).toBe(true);
    expect(isZooKeeperError(await rejection(zk1.delete('/crud/a/b/c', 5)), 'BADVERSION')).toBe(true);
    await zk1.delete('/crud/a/b/c', 0);
    await zk1.delete('/crud/a/b');
    await zk1.delete('/crud/a');
    await zk1.delete('/crud', 2);
    expect(await zk1.exists('/crud')).toBeUndefined();
    expect(isZooKeeperError(await rejection(zk1.getData('/crud')), 'NONODE')).toBe(true);
  });

  it('numbers sequential nodes, and removes ephemeral nodes when their session closes', async () => {
    const owner = await client();
    const observer = await client();
    await owner.create('/seq');
    const first = await owner.create('/seq/n-', 'a', { mode: 'persistent_sequential' });
    const second = await owner.create('/seq/n-', 'b', { mode: 'ephemeral_sequential' });
    expect(first).toMatch(/^\/seq\/n-\d{10}$/);
    expect(Number(second.slice(-10))).toBe(Number(first.slice(-10)) + 1);
    await owner.create('/seq/eph', 'mine', { mode: 'ephemeral' });
    const stat = await observer.exists('/seq/eph');
    expect(stat?.ephemeralOwner).toBe(BigInt(`0x${owner.sessionId}`));
    expect(isZooKeeperError(await rejection(owner.create('/seq/eph/child')), 'NOCHILDRENFOREPHEMERALS')).toBe(true);

    await owner.close();
    expect(owner.state).toBe('closed');
    await owner.close(); // idempotent
    // closeSession deletes them before it answers: no wait for a session timeout.
    expect((await observer.getChildren('/seq')).sort()).toEqual([first.slice(5)]);
    expect(isZooKeeperError(await rejection(owner.exists('/seq')), 'CLOSED')).toBe(true);
  });

  it('applies a multi all or nothing, and names the op that failed', async () => {
    const zk1 = await client();
    await zk1.create('/multi', 'x');
    const results = await zk1.multi([
      { type: 'check', path: '/multi', version: 0 },
      { type: 'create', path: '/multi/a', data: 'a' },
      { type: 'create', path: '/multi/s-', mode: 'persistent_sequential' },
      { type: 'set', path: '/multi', data: 'y', version: 0 },
    ]);
    expect(results[0]).toEqual({ type: 'check' });
    expect(results[1]).toEqual({ type: 'create', path: '/multi/a' });
    expect(results[2]).toMatchObject({ type: 'create', path: expect.stringMatching(/^\/multi\/s-\d{10}$/) });
    expect(results[3]).toMatchObject({ type: 'set', stat: { version: 1 } });

    const failed = await rejection(
      zk1.multi([
        { type: 'create', path: '/multi/b' },
        { type: 'set', path: '/multi', data: 'z' },
        { type: 'check', path: '/multi', version: 0 }, // it is at 1 now
        { type: 'delete', path: '/multi/a' },
      ]),
    );
    expect(isZooKeeperError(failed, 'BADVERSION')).toBe(true);
    expect((failed as { failedOp?: number }).failedOp).toBe(2);
    // Nothing of it happened.
    expect(await zk1.exists('/multi/b')).toBeUndefined();
    expect((await zk1.getData('/multi')).data.toString()).toBe('y');
    expect(await zk1.exists('/multi/a')).toBeDefined();

    const first = await rejection(zk1.multi([{ type: 'delete', path: '/multi/none' }, { type: 'delete', path: '/multi/a' }]));
    expect(isZooKeeperError(first, 'NONODE')).toBe(true);
    expect((first as { failedOp?: number }).failedOp).toBe(0);
    expect(await zk1.multi([])).toEqual([]);
  });

  it('fires one-shot watches for data changes, children, creation and deletion', async () => {
    const zk1 = await client();
    const writer = await client();

    const created = nextEvent();
    expect(await zk1.exists('/w', created.watcher)).toBeUndefined();
    await writer.create('/w', 'a');
    expect(await created.event).toEqual({ type: 'created', path: '/w' });

    const changed = nextEvent();
    await zk1.getData('/w', changed.watcher);
    await writer.setData('/w', 'b');
    expect(await changed.event).toEqual({ type: 'dataChanged', path: '/w' });

    const children = nextEvent();
    expect(await zk1.getChildren('/w', children.watcher)).toEqual([]);
    await writer.create('/w/c');
    expect(await children.event).toEqual({ type: 'childrenChanged', path: '/w' });

    // One-shot: a second change without a new registration fires nothing; counted below.
    const seen: WatchEvent[] = [];
    await zk1.getData('/w', (e) => seen.push(e));
    await zk1.exists('/w', (e) => seen.push(e));
    const deleted = nextEvent();
    await zk1.exists('/w/c', deleted.watcher);
    await writer.delete('/w/c');
    expect(await deleted.event).toEqual({ type: 'deleted', path: '/w/c' });
    await writer.setData('/w', 'c');
    await writer.setData('/w', 'd');
    await waitFor('the data watchers on /w', () => (seen.length >= 2 ? true : undefined));
    // Read back through the same connection: any further event would have arrived before this reply.
    await zk1.getData('/w');
    expect(seen).toEqual([
      { type: 'dataChanged', path: '/w' },
      { type: 'dataChanged', path: '/w' },
    ]);
  });

  it('delivers a watch event after the reply that set it, and before replies that follow it', async () => {
    const zk1 = await client();
    await zk1.create('/order', '0');
    const order: string[] = [];
    await zk1.getData('/order', () => order.push('event'));
    order.push('watch set');
    // The writer is this same client: the event precedes the reply of the set that caused it.
    await zk1.setData('/order', '1');
    order.push('set replied');
    expect(order).toEqual(['watch set', 'event', 'set replied']);
  });

  it('maps paths through a chroot', async () => {
    const root = await client();
    await root.create('/chroot/app', '', { parents: true });
    const jailed = await client({ connectString: `${zk.connectString}/chroot/app` });
    expect(await jailed.create('/x', 'in')).toBe('/x');
    expect(await jailed.create('/seq-', '', { mode: 'persistent_sequential' })).toMatch(/^\/seq-\d{10}$/);
    expect((await root.getData('/chroot/app/x')).data.toString()).toBe('in');
    expect((await jailed.getChildren('/')).sort()).toEqual(expect.arrayContaining(['x']));
    const watched = nextEvent();
    await jailed.getData('/x', watched.watcher);
    await root.setData('/chroot/app/x', 'out');
    expect(await watched.event).toEqual({ type: 'dataChanged', path: '/x' });
    const results = await jailed.multi([{ type: 'create', path: '/y' }]);
    expect(results).toEqual([{ type: 'create', path: '/y' }]);
  });

  it("protects nodes created with acl 'creator' from clients without the digest", async () => {
    const owner = await client({ digest: 'sluice:secret', acl: 'creator' });
    const stranger = await client();
    const other = await client({ digest: 'intruder:guess' });
    const twin = await client({ digest: 'sluice:secret' });
    await owner.create('/acl/guarded', 'v0', { parents: true });
    expect(isZooKeeperError(await rejection(stranger.setData('/acl/guarded', 'x')), 'NOAUTH')).toBe(true);
    expect(isZooKeeperError(await rejection(stranger.getData('/acl/guarded')), 'ZK_NOAUTH')).toBe(true);
    expect(isZooKeeperError(await rejection(other.delete('/acl/guarded')), 'NOAUTH')).toBe(true);
    // The same credentials from another session are the same identity.
    expect((await twin.setData('/acl/guarded', 'v1')).version).toBe(1);
    expect((await owner.getData('/acl/guarded')).data.toString()).toBe('v1');
    // Nodes the stranger creates stay open (acl 'open' is the default).
    await stranger.create('/open', 'o');
    expect((await other.setData('/open', 'p')).version).toBe(1);
  });

  it('refuses invalid options at construction', () => {
    expect(() => new ZooKeeperClient({ connectString: '' })).toThrow(/connect string '': no server/);
    expect(() => new ZooKeeperClient({ connectString: '::1:2181' })).toThrow(/\[addr\]:port/);
    expect(() => new ZooKeeperClient({ connectString: 'h:99999' })).toThrow(/no valid port/);
    expect(() => new ZooKeeperClient({ connectString: 'h:1/bad/' })).toThrow(/chroot must not end with \//);
    expect(() => new ZooKeeperClient({ connectString: 'h:1', acl: 'creator' })).toThrow(/needs digest credentials/);
    expect(() => new ZooKeeperClient({ connectString: 'h:1', digest: 'nopassword' })).toThrow(/'user:password'/);
    expect(() => new ZooKeeperClient({ connectString: 'h:1', sessionTimeoutMs: 0 })).toThrow(/sessionTimeoutMs must be a positive integer/);
    expect(() => new ZooKeeperClient({ connectString: 'h:1', tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(/caFile '\/nonexistent\/ca.pem' cannot be read/);
  });

  it('refuses calls before start()', async () => {
    const idle = new ZooKeeperClient({ connectString: zk.connectString, logger: silentLogger });
    expect(isZooKeeperError(await rejection(idle.exists('/')), 'NOT_STARTED')).toBe(true);
    await idle.close();
    expect(idle.state).toBe('closed');
    expect(isZooKeeperError(await rejection(idle.start()), 'CLOSED')).toBe(true);
  });

  it('refuses invalid paths before sending anything', async () => {
    const zk1 = await client();
    for (const bad of ['relative', '/trailing/', '/a//b', '/a/./b', '']) {
      const err = await rejection(zk1.getData(bad));
      expect(isZooKeeperError(err, 'BADARGUMENTS'), bad).toBe(true);
      expect((err as Error).message).toContain(`'${bad}'`);
    }
    expect(isZooKeeperError(await rejection(zk1.multi([{ type: 'delete', path: 'x' }])), 'BADARGUMENTS')).toBe(true);
    expect(zk1.state).toBe('connected');
    expect(await zk1.exists('/')).toBeDefined();
  });
});

describe.skipIf(skipReason !== undefined)('ZooKeeperClient over TLS', () => {
  let zk: ZookeeperEnsemble;
  let certs: TestCertificates;
  let dir: string;
  const clients: ZooKeeperClient[] = [];

  function client(options: Partial<ZooKeeperClientOptions> = {}): ZooKeeperClient {
    const c = new ZooKeeperClient({ connectString: zk.secureConnectString ?? '', logger: silentLogger, ...options });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-zk-tls-'));
    certs = makeTestCertificates(dir);
    zk = await startZookeeper({ tls: certs });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await zk?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works over the secure client port with a client certificate', async () => {
    expect(zk.secureConnectString).toMatch(/^127\.0\.0\.1:\d+$/);
    const c = client({ tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile } });
    await c.start();
    expect(c.connectedServer).toBe(zk.secureConnectString);
    await c.create('/tls', 'secret');
    const watched = nextEvent();
    expect((await c.getData('/tls', watched.watcher)).data.toString()).toBe('secret');
    // The same tree over the plain port: one server, two listeners.
    const plain = client({ connectString: zk.connectString });
    await plain.start();
    await plain.setData('/tls', 'changed');
    expect(await watched.event).toEqual({ type: 'dataChanged', path: '/tls' });
  });

  it('does not get a session without a client certificate, or when it trusts another CA', async () => {
    const anonymous = client({ tls: { caFile: certs.caFile }, connectionTimeoutMs: 2_000 });
    expect(isZooKeeperError(await rejection(anonymous.start()), 'UNREACHABLE')).toBe(true);
    const distrustful = client({ tls: { caFile: certs.otherCaFile, certFile: certs.certFile, keyFile: certs.keyFile }, connectionTimeoutMs: 2_000 });
    const err = await rejection(distrustful.start());
    expect(isZooKeeperError(err, 'UNREACHABLE')).toBe(true);
    expect((err as Error).message).toMatch(/certificate/i);
  });
});
