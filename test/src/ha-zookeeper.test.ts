/**
 * High availability on a real ZooKeeper 3.9 (test/src/zookeeper.ts): the conformance suite every
 * implementation runs, then what only ZooKeeper has — sessions. A frozen server (SIGSTOP) that
 * comes back before the session timeout revokes nothing; one that stays away past it revokes
 * the leader once, and the contenders elect exactly one leader again on new sessions. Waits are
 * causal: on the connection states the services report, not on clocks.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger } from '@sluice/common';
import { createHighAvailabilityServices, type HaConnectionState, type HighAvailabilityServices } from '@sluice/ha';
import { ZooKeeperClient } from '@sluice/zookeeper';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceSuite, lead, TestingContender, testingRecord, waitUntil } from '../../packages/ha/src/testing/conformance.js';
import { frozen, startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`HA ZooKeeper tests skipped (${skipReason})`);

const SESSION_TIMEOUT_MS = 10_000;

function clusterId(): string {
  return `test-${randomBytes(4).toString('hex')}`;
}

async function rawClient(zk: ZookeeperEnsemble): Promise<ZooKeeperClient> {
  const c = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: SESSION_TIMEOUT_MS, logger: silentLogger });
  await c.start();
  return c;
}

function openFor(zk: ZookeeperEnsemble, id: string, into: HighAvailabilityServices[]): () => Promise<HighAvailabilityServices> {
  return async () => {
    const ha = await createHighAvailabilityServices({ mode: 'zookeeper', quorum: zk.connectString, clusterId: id, sessionTimeoutMs: SESSION_TIMEOUT_MS, connectionTimeoutMs: 20_000 });
    into.push(ha);
    return ha;
  };
}

describe.skipIf(skipReason !== undefined)('high availability zookeeper', () => {
  let zk: ZookeeperEnsemble;
  let raw: ZooKeeperClient;

  beforeAll(async () => {
    zk = await startZookeeper();
    raw = await rawClient(zk);
  });
  afterAll(async () => {
    await raw?.close();
    await zk?.stop();
  });

  describe('the conformance suite', () => {
    conformanceSuite(async () => {
      const id = clusterId();
      const mine: HighAvailabilityServices[] = [];
      const paths = { job: (j: string) => `jobs/${j}`, pointer: (j: string) => `checkpoints/${j}/latest`, worker: (w: string) => `mesos/workers/${w}` };
      return {
        open: openFor(zk, id, mine),
        writeRaw: async (kind, key, text) => {
          const path = `/sluice/${id}/${paths[kind](key)}`;
          if ((await raw.exists(path)) === undefined) await raw.create(path, text, { parents: true });
          else await raw.setData(path, text);
          return path;
        },
        cleanup: async () => {
          await Promise.all(mine.map((ha) => ha.close()));
        },
      };
    });
  });

  it('keeps JSON an operator reads with zkCli under /sluice/<cluster-id>, names a damaged znode with what to do, and leaves no socket or timer once closed', async () => {
    const id = clusterId();
    const mine: HighAvailabilityServices[] = [];
    const count = (kind: string) => process.getActiveResourcesInfo().filter((h) => h === kind).length;
    // Sockets of sessions closed by earlier tests may still be closing: none may be added, then.
    const before = { timers: count('Timeout'), sockets: count('TCPSocketWrap') };
    try {
      const ha = await openFor(zk, id, mine)();
      expect(ha.description).toBe(`zk://${zk.connectString}/sluice/${id}`);
      const election = ha.leaderElection('dispatcher');
      const contender = new TestingContender();
      await election.start(contender);
      const token = await waitUntil('leadership', () => contender.leading);
      expect(token).toMatch(/^dispatcher\/latch-\d{10}$/);
      await election.confirmLeadership({ token, address: 'sluice://a:6123', restUrl: 'http://a:8081' });
      await ha.jobs.put(token, testingRecord('j1', 1));
      await ha.checkpoints.nextCheckpointId(token, 'j1');
      await ha.checkpoints.putLatest(token, 'j1', { id: 1, location: '/ck/j1/chk-1' });
      await ha.mesos.putFrameworkId(token, 'fw-1');
      const base = `/sluice/${id}`;
      const read = async (p: string) => JSON.parse((await raw.getData(`${base}/${p}`)).data.toString('utf8')) as unknown;
      expect((await raw.getChildren(base)).sort()).toEqual(['checkpoints', 'jobs', 'leader', 'mesos']);
      expect(await read(`leader/dispatcher/${token.split('/')[1]}`)).toMatchObject({ pid: process.pid });
      expect(await read('leader/dispatcher/info')).toEqual({ token, address: 'sluice://a:6123', restUrl: 'http://a:8081' });
      expect((await raw.exists(`${base}/leader/dispatcher/info`))?.ephemeralOwner).not.toBe(0n);
      expect(await read('jobs/j1')).toEqual(testingRecord('j1', 1));
      expect(await read('checkpoints/j1/counter')).toEqual({ next: 2 });
      expect(await read('checkpoints/j1/latest')).toEqual({ id: 1, location: '/ck/j1/chk-1' });
      expect(await read('mesos/framework-id')).toEqual({ frameworkId: 'fw-1' });
      await raw.create(`${base}/jobs/broken`, '{"submission":');
      const { records, problems } = await ha.jobs.list();
      expect(records.map((r) => r.submission.jobId)).toEqual(['j1']);
      expect(problems).toEqual([{ jobId: 'broken', where: `${base}/jobs/broken`, problem: expect.stringContaining(`zkCli delete ${base}/jobs/broken`) as string }]);
      expect(problems[0]?.problem).toContain('job broken');
      // Leaving the election deletes the latch and the published leader.
      await election.stop();
      expect(await raw.getChildren(`${base}/leader/dispatcher`)).toEqual([]);
      await ha.leaderRetrieval('dispatcher').start(() => undefined);
    } finally {
      await Promise.all(mine.map((ha) => ha.close()));
    }
    await waitUntil('sockets and timers released', () => (count('Timeout') <= before.timers && count('TCPSocketWrap') <= before.sockets ? true : undefined));
  });

  it('reports a quorum it cannot reach as HA_UNAVAILABLE naming it', async () => {
    const quorum = '127.0.0.1:1';
    const err = await createHighAvailabilityServices({ mode: 'zookeeper', quorum, connectionTimeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HA_UNAVAILABLE', retriable: true });
    expect(String(err)).toContain(quorum);
    await expect(createHighAvailabilityServices({ mode: 'zookeeper', quorum: 'nohostport' })).rejects.toThrow(/not a list of host:port/);
    await expect(createHighAvailabilityServices({ mode: 'zookeeper', quorum, rootPath: 'relative' })).rejects.toThrow(/root path/);
  });
});

/** Its own server: these tests freeze it. */
describe.skipIf(skipReason !== undefined)('high availability zookeeper while the server is frozen (SIGSTOP)', () => {
  let zk: ZookeeperEnsemble;
  const mine: HighAvailabilityServices[] = [];

  beforeAll(async () => {
    zk = await startZookeeper();
  });
  afterAll(async () => {
    zk?.nodes[0]?.kill('SIGCONT');
    await Promise.all(mine.map((ha) => ha.close()));
    await zk?.stop();
  });

  function states(ha: HighAvailabilityServices): HaConnectionState[] {
    const seen: HaConnectionState[] = [];
    ha.onConnectionState((s) => seen.push(s));
    return seen;
  }

  it('revokes nothing when the server comes back within the session timeout, and revokes once (then re-elects one leader) when it does not', async () => {
    const id = clusterId();
    const open = openFor(zk, id, mine);
    const [a, b] = [await open(), await open()];
    const [sa, sb] = [states(a), states(b)];
    const ea = a.leaderElection('dispatcher');
    const ca = new TestingContender();
    await ea.start(ca);
    const token = await waitUntil('a to lead', () => ca.leading);
    await ea.confirmLeadership({ token, address: 'sluice://a:1' });
    const cb = new TestingContender();
    const eb = b.leaderElection('dispatcher');
    await eb.start(cb);
    const seen: (string | undefined)[] = [];
    await b.leaderRetrieval('dispatcher').start((l) => seen.push(l?.token));
    await waitUntil('b to see a', () => (seen.includes(token) ? true : undefined));
    const node = zk.nodes[0]!;

    // Frozen until both sessions notice (suspended), then back: shorter than the session timeout.
    node.kill('SIGSTOP');
    await waitUntil('both suspended', () => (sa.includes('suspended') && sb.includes('suspended') ? true : undefined));
    node.kill('SIGCONT');
    await waitUntil('both connected again', () => (sa.at(-1) === 'connected' && sb.at(-1) === 'connected' ? true : undefined));
    expect([sa, sb]).toEqual([
      ['suspended', 'connected'],
      ['suspended', 'connected'],
    ]);
    expect(ca.grants).toEqual([token]);
    expect(ca.revokes).toEqual([]);
    expect(cb.grants).toEqual([]);
    expect(ea.hasLeadership(token)).toBe(true);
    await a.jobs.put(token, testingRecord('j1', 1)); // the term still writes

    // Frozen until both sessions are lost: past the session timeout.
    node.kill('SIGSTOP');
    await waitUntil('both sessions lost', () => (sa.includes('lost') && sb.includes('lost') ? true : undefined), 4 * SESSION_TIMEOUT_MS);
    expect(ca.revokes.map((r) => r.token)).toEqual([token]);
    expect(ca.revokes[0]?.reason).toMatch(/session .* lost/);
    expect(ea.hasLeadership(token)).toBe(false);
    node.kill('SIGCONT');
    const next = await waitUntil('a new leader', () => ca.leading ?? cb.leading, 4 * SESSION_TIMEOUT_MS);
    expect(next).not.toBe(token);
    expect([ca.leading, cb.leading].filter((t) => t !== undefined)).toEqual([next]);
    expect(ca.revokes.length).toBe(1);
    expect(cb.revokes).toEqual([]);
    expect(sa.slice(-2)).toEqual(['lost', 'connected']);
    // The ended term writes nothing; the new one does.
    const stale = await a.jobs.put(token, testingRecord('j1', 7)).catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: 'HA_FENCED' });
    await (ca.leading === next ? a : b).jobs.put(next, testingRecord('j1', 2));
    expect(await b.jobs.get('j1')).toEqual(testingRecord('j1', 2));
    // Watches die with a session: the retrieval watches again on its new one and sees the new leader.
    await (ca.leading === next ? ea : eb).confirmLeadership({ token: next, address: 'sluice://next:1' });
    await waitUntil('b to see the new leader', () => (seen.at(-1) === next ? true : undefined));
    expect(seen.filter((t) => t !== undefined)).toEqual([token, next]);
  });

  it('completes the calls in flight when the connection drops once the same session is back: a suspended connection fails no call', async () => {
    const open = openFor(zk, clusterId(), mine);
    const a = await open();
    const seen = states(a);
    const ea = a.leaderElection('dispatcher');
    const ca = new TestingContender();
    await ea.start(ca);
    const token = await waitUntil('a to lead', () => ca.leading);
    await a.checkpoints.putLatest(token, 'j1', { id: 1, location: '/checkpoints/j1/chk-1' });
    const node = zk.nodes[0]!;

    node.kill('SIGSTOP');
    await frozen(node.pid);
    // Sent on the connection the client still believes alive: in flight when it gives it up.
    const calls = Promise.all([
      a.checkpoints.putLatest(token, 'j1', { id: 2, location: '/checkpoints/j1/chk-2' }),
      a.checkpoints.nextCheckpointId(token, 'j1'),
      a.jobs.put(token, testingRecord('j1', 1)),
      a.checkpoints.latest('j1'),
    ]);
    await waitUntil('suspended', () => (seen.includes('suspended') ? true : undefined));
    node.kill('SIGCONT');
    const [, next, , latest] = await calls;
    expect(seen).toEqual(['suspended', 'connected']);
    expect(next).toBe(1);
    expect(latest?.id).toBeGreaterThanOrEqual(1);
    expect(await a.checkpoints.latest('j1')).toEqual({ id: 2, location: '/checkpoints/j1/chk-2' });
    expect(await a.jobs.get('j1')).toEqual(testingRecord('j1', 1));
    expect(await a.checkpoints.nextCheckpointId(token, 'j1')).toBeGreaterThan(1);
    expect(ca.revokes).toEqual([]);
  });
});

describe.skipIf(skipReason !== undefined)('high availability zookeeper on a 3-node ensemble', () => {
  let zk: ZookeeperEnsemble;
  const mine: HighAvailabilityServices[] = [];

  beforeAll(async () => {
    zk = await startZookeeper({ nodes: 3 });
  });
  afterAll(async () => {
    await Promise.all(mine.map((ha) => ha.close()));
    await zk?.stop();
  });

  it('revokes nothing when the ensemble loses its leader node: every session moves to a node that still serves', async () => {
    const open = openFor(zk, clusterId(), mine);
    const [a, b] = [await open(), await open()];
    const seen: HaConnectionState[][] = [[], []];
    a.onConnectionState((s) => seen[0]?.push(s));
    b.onConnectionState((s) => seen[1]?.push(s));
    const ea = a.leaderElection('dispatcher');
    const ca = new TestingContender();
    await ea.start(ca);
    const token = await waitUntil('a to lead', () => ca.leading);
    const cb = new TestingContender();
    await b.leaderElection('dispatcher').start(cb);
    const modes = await Promise.all(zk.nodes.map((n) => n.mode()));
    const leaderNode = zk.nodes[modes.indexOf('leader')]!;
    // The followers drop their clients while they elect a new leader: every session is suspended.
    leaderNode.kill('SIGKILL');
    await waitUntil('both sessions back', () => (seen.every((s) => s.includes('suspended') && s.at(-1) === 'connected') ? true : undefined));
    expect(seen).toEqual([
      ['suspended', 'connected'],
      ['suspended', 'connected'],
    ]);
    expect(ca.grants).toEqual([token]);
    expect(ca.revokes).toEqual([]);
    expect(cb.grants).toEqual([]);
    await a.jobs.put(token, testingRecord('j1', 1));
    expect(await b.jobs.get('j1')).toEqual(testingRecord('j1', 1));
  });
});
