/**
 * The test ZooKeeper itself (test/src/zookeeper.ts, infra/zookeeper): real ZooKeeper 3.9 JVMs on
 * loopback, as the HA tests will use them. A 3-node ensemble elects one leader, survives the loss
 * of one node, and stops serving when it loses two; a standalone node serves alone. Nothing
 * started here outlives the test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './leaks.js';
import { childrenRunning } from './processes.js';
import { fourLetter, startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble, type ZookeeperNode } from './zookeeper.js';

// Under CI=true this throws when Java or the jars are missing, which fails the file.
const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`ZooKeeper tests skipped (${skipReason})`);

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectNoOrphans(pids: number[]): Promise<void> {
  expect(childrenRunning('QuorumPeerMain')).toEqual([]);
  for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
}

describe.skipIf(skipReason !== undefined)('a 3-node ZooKeeper ensemble', () => {
  let zk: ZookeeperEnsemble;
  let leader: ZookeeperNode;
  let followers: ZookeeperNode[];

  beforeAll(async () => {
    const started = Date.now();
    zk = await startZookeeper({ nodes: 3 });
    console.log(`3-node ensemble serving after ${Date.now() - started} ms: ${zk.connectString}`);
  });

  afterAll(async () => {
    const pids = zk?.nodes.map((node) => node.pid) ?? [];
    await zk?.stop();
    await expectNoOrphans(pids);
  });

  it('serves on three loopback ports with exactly one leader and two followers', async () => {
    expect(zk.connectString).toMatch(/^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    expect(new Set(zk.nodes.map((node) => node.clientPort)).size).toBe(3);
    const modes = await Promise.all(zk.nodes.map((node) => node.mode()));
    expect([...modes].sort()).toEqual(['follower', 'follower', 'leader']);
    leader = zk.nodes[modes.indexOf('leader')]!;
    followers = zk.nodes.filter((node) => node !== leader);
    for (const node of zk.nodes) expect(await fourLetter(node.clientPort, 'ruok')).toBe('imok');
    // Only the whitelisted commands answer: a command outside it is refused, not run.
    expect(await fourLetter(leader.clientPort, 'conf')).toContain('is not executed because it is not in the whitelist');
  });

  it('keeps serving with one leader after a follower is killed with SIGKILL', async () => {
    const [victim, survivor] = followers as [ZookeeperNode, ZookeeperNode];
    victim.kill('SIGKILL');
    await waitFor('the killed follower to exit', () => (victim.exited ? true : undefined));
    expect(alive(victim.pid)).toBe(false);
    expect(await fourLetter(victim.clientPort, 'ruok', 1_000)).toBe('');

    // Two of three are a quorum: the leader keeps leading and the other follower follows.
    expect(await leader.mode()).toBe('leader');
    expect(await survivor.mode()).toBe('follower');
    expect(await fourLetter(leader.clientPort, 'ruok')).toBe('imok');
    expect(await fourLetter(survivor.clientPort, 'ruok')).toBe('imok');
    // The leader notices the lost connection to the killed follower on its own time.
    await waitFor('the leader to count one synced follower', async () =>
      /^zk_synced_followers\s+1$/m.test(await fourLetter(leader.clientPort, 'mntr')) ? true : undefined,
    );
    expect(await leader.mode()).toBe('leader');
  });

  it('stops serving when the leader is stopped too (one of three is no quorum)', async () => {
    const survivor = followers[1]!;
    await leader.stop();
    expect(alive(leader.pid)).toBe(false);
    const answer = await waitFor('the last node to drop out of the quorum', async () => {
      const srvr = await fourLetter(survivor.clientPort, 'srvr');
      return srvr.includes(NOT_SERVING) ? srvr : undefined;
    });
    expect(answer).not.toMatch(/^Mode:/m);
    expect(await survivor.mode()).toBe('not serving');
    expect(survivor.exited).toBe(false);
  });
});

describe.skipIf(skipReason !== undefined)('a standalone ZooKeeper node', () => {
  let zk: ZookeeperEnsemble | undefined;

  afterEach(async () => {
    const pids = zk?.nodes.map((node) => node.pid) ?? [];
    await zk?.stop();
    zk = undefined;
    await expectNoOrphans(pids);
  });

  it('serves alone and is gone after stop()', async () => {
    zk = await startZookeeper();
    expect(zk.connectString).toMatch(/^127\.0\.0\.1:\d+$/);
    const [node] = zk.nodes as [ZookeeperNode];
    expect(await node.mode()).toBe('standalone');
    expect(await fourLetter(node.clientPort, 'ruok')).toBe('imok');
    await zk.stop();
    expect(node.exited).toBe(true);
    expect(alive(node.pid)).toBe(false);
    expect(await fourLetter(node.clientPort, 'ruok', 1_000)).toBe('');
  });
});
