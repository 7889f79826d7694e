/**
 * @sluice/zookeeper's session under failures, against real ZooKeeper 3.9 processes: a killed
 * node of a 3-node ensemble (the client moves on, its watches and credentials with it), a node
 * frozen with SIGSTOP for less and for more than the session timeout (suspended is not lost;
 * lost is terminal), and no server at all. Every wait is on a state event, never on a clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@sluice/common';
import { isZooKeeperError, type WatchEvent, ZooKeeperClient, type ZooKeeperClientOptions, type ZooKeeperState } from '@sluice/zookeeper';
import { SETTLE_TIMEOUT_MS, waitFor } from './leaks.js';
import { unusedPort } from './ports.js';
import { frozen, rejection, startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`ZooKeeper client failure tests skipped (${skipReason})`);

/** Records every state change, and waits for the `times`-th change to a state (past or future). */
function stateLog(client: ZooKeeperClient): { states: ZooKeeperState[]; reached(state: ZooKeeperState, times?: number): Promise<void> } {
  const states: ZooKeeperState[] = [];
  const count = (state: ZooKeeperState): number => states.filter((s) => s === state).length;
  const waiters: Array<{ state: ZooKeeperState; times: number; resolve(): void }> = [];
  client.onStateChange((state) => {
    states.push(state);
    for (const w of waiters) if (w.state === state && count(state) >= w.times) w.resolve();
  });
  return {
    states,
    reached: (state, times = 1) => (count(state) >= times ? Promise.resolve() : new Promise((resolve) => waiters.push({ state, times, resolve }))),
  };
}

/** Sockets and timers of this process: what a closed or lost client must give back. */
function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap' || r === 'Timeout').length;
}

async function expectHandlesBackTo(baseline: number): Promise<void> {
  await waitFor(`sockets and timers back to ${baseline} (now ${handles()}: ${process.getActiveResourcesInfo().join(',')})`, () =>
    handles() <= baseline ? true : undefined,
  );
}

/** The next event a one-shot watcher gets; rejects (rather than hang the test) if none comes. */
function nextEvent(): { watcher: (e: WatchEvent) => void; event: Promise<WatchEvent> } {
  let watcher!: (e: WatchEvent) => void;
  let timer: NodeJS.Timeout | undefined;
  const event = new Promise<WatchEvent>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${SETTLE_TIMEOUT_MS} ms`)), SETTLE_TIMEOUT_MS);
    watcher = (e) => {
      clearTimeout(timer);
      resolve(e);
    };
  });
  return { watcher, event };
}

describe.skipIf(skipReason !== undefined)('ZooKeeperClient sessions under failures', () => {
  let zk: ZookeeperEnsemble | undefined;
  const clients: ZooKeeperClient[] = [];

  function client(options: Partial<ZooKeeperClientOptions> & { connectString: string }): ZooKeeperClient {
    const c = new ZooKeeperClient({ logger: silentLogger, ...options });
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const node of zk?.nodes ?? []) node.kill('SIGCONT');
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await zk?.stop();
    zk = undefined;
  });

  it('moves to another node when its node is killed, keeping its session, watches and credentials', async () => {
    zk = await startZookeeper({ nodes: 3 });
    const digest = { digest: 'sluice:secret', acl: 'creator' as const };
    const watched = client({ connectString: zk.connectString, sessionTimeoutMs: 15_000, ...digest });
    const log = stateLog(watched);
    await watched.start();
    const session = watched.sessionId;
    await watched.create('/ha', 'v0');
    await watched.create('/ha/eph', '', { mode: 'ephemeral' });
    const data = nextEvent();
    const children = nextEvent();
    const created = nextEvent();
    await watched.getData('/ha', data.watcher);
    await watched.getChildren('/ha', children.watcher);
    expect(await watched.exists('/ha/new', created.watcher)).toBeUndefined();

    const from = watched.connectedServer;
    const victim = zk.nodes.find((node) => from === `127.0.0.1:${node.clientPort}`);
    expect(victim, `the node behind ${from}`).toBeDefined();
    const killed = Date.now();
    victim!.kill('SIGKILL');
    await log.reached('suspended');
    await log.reached('connected', 2);
    console.log(`kill -9 of ${from} to connected to ${watched.connectedServer ?? '?'}: ${Date.now() - killed} ms`);
    expect(log.states).toEqual(['connected', 'suspended', 'connected']);
    expect(watched.sessionId).toBe(session);
    expect(watched.connectedServer).not.toBe(from);

    // Changes made after the move, by a client that never saw the killed node, fire the watches.
    const survivors = zk.nodes.filter((node) => node !== victim).map((node) => `127.0.0.1:${node.clientPort}`);
    const writer = client({ connectString: survivors.join(','), sessionTimeoutMs: 15_000, ...digest });
    await writer.start();
    await writer.setData('/ha', 'v1');
    await writer.create('/ha/new');
    expect(await data.event).toEqual({ type: 'dataChanged', path: '/ha' });
    expect(await created.event).toEqual({ type: 'created', path: '/ha/new' });
    expect(await children.event).toEqual({ type: 'childrenChanged', path: '/ha' });
    // The digest was sent again on the new connection: the creator may still write.
    expect((await watched.setData('/ha', 'v2')).version).toBe(2);
    expect(await watched.exists('/ha/eph')).toBeDefined();
  });

  it('is suspended, not lost, while its only node is frozen for less than the session timeout', async () => {
    zk = await startZookeeper();
    const node = zk.nodes[0]!;
    const c = client({ connectString: zk.connectString, sessionTimeoutMs: 12_000 });
    const log = stateLog(c);
    await c.start();
    const session = c.sessionId;
    await c.create('/blip', '', { mode: 'ephemeral' });

    node.kill('SIGSTOP');
    await frozen(node.pid);
    // Sent to a frozen server: in flight when the connection is declared lost, outcome unknown.
    const inFlight = rejection(c.exists('/blip'));
    await log.reached('suspended');
    const lost = await inFlight;
    expect(isZooKeeperError(lost, 'CONNECTIONLOSS')).toBe(true);
    expect((lost as { retriable?: boolean }).retriable).toBe(true);
    // Issued while suspended: waits for the reconnection, then runs.
    const waiting = c.getData('/blip');

    node.kill('SIGCONT');
    await log.reached('connected', 2);
    expect(log.states).toEqual(['connected', 'suspended', 'connected']);
    expect(c.sessionId).toBe(session);
    expect((await waiting).stat.ephemeralOwner).toBe(BigInt(`0x${session}`));
    expect(await c.exists('/blip')).toBeDefined();
  });

  it('is lost when its only node stays frozen past the session timeout, and gives back every socket and timer', async () => {
    zk = await startZookeeper();
    const node = zk.nodes[0]!;
    const baseline = handles();
    const c = client({ connectString: zk.connectString, sessionTimeoutMs: 3_000 });
    const log = stateLog(c);
    await c.start();
    await c.create('/frozen', '', { mode: 'ephemeral' });
    // A call made while suspended waits for a reconnection that never comes.
    let waiting: Promise<unknown> | undefined;
    c.onStateChange((state) => {
      if (state === 'suspended') waiting = rejection(c.exists('/frozen'));
    });

    node.kill('SIGSTOP');
    await log.reached('lost');
    expect(log.states).toEqual(['connected', 'suspended', 'lost']);
    expect(isZooKeeperError(await waiting, 'SESSIONEXPIRED')).toBe(true);
    expect(isZooKeeperError(await rejection(c.getData('/frozen')), 'ZK_SESSIONEXPIRED')).toBe(true);
    await expectHandlesBackTo(baseline);

    node.kill('SIGCONT');
    // The server expires the session too (it never heard from it again): the ephemeral node goes.
    const observer = client({ connectString: zk.connectString, sessionTimeoutMs: 3_000 });
    await observer.start();
    await waitFor('the lost session’s ephemeral node to go', async () => ((await observer.exists('/frozen')) === undefined ? true : undefined));
    expect(c.state).toBe('lost');
    await c.close();
    expect(c.state).toBe('lost');
  });

  it('rejects start() with ZK_UNREACHABLE naming the servers when none answers', async () => {
    const baseline = handles();
    const ports = [await unusedPort(), await unusedPort()];
    const connectString = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const c = client({ connectString, connectionTimeoutMs: 1_500 });
    const err = await rejection(c.start());
    expect(isZooKeeperError(err, 'UNREACHABLE')).toBe(true);
    for (const p of ports) expect((err as Error).message).toContain(`127.0.0.1:${p}`);
    expect(c.state).toBe('closed');
    expect(isZooKeeperError(await rejection(c.exists('/')), 'CLOSED')).toBe(true);
    await expectHandlesBackTo(baseline);
  });

  it('gives back every socket and timer on close()', async () => {
    zk = await startZookeeper();
    const baseline = handles();
    const c = client({ connectString: zk.connectString, sessionTimeoutMs: 3_000 });
    await c.start();
    await c.getData('/zookeeper', () => undefined);
    expect(handles()).toBeGreaterThan(baseline);
    await c.close();
    expect(c.state).toBe('closed');
    await expectHandlesBackTo(baseline);
  });
});
