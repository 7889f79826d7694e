/**
 * High availability under failures of ZooKeeper and of the entrypoints: two entrypoints of one
 * cluster id (`sluice cluster start --high-availability zookeeper`, real processes) on a real
 * ZooKeeper, running the exactly-once job (rate-limited source, keyed state, two-phase-commit
 * file sink). In every case the job finishes once and its committed output equals a
 * failure-free run's.
 *
 * - ZooKeeper frozen (SIGSTOP) for less than the session timeout, and a 3-node ensemble losing
 *   its leader node: sessions are suspended and resume, and nothing restarts.
 * - ZooKeeper frozen past the session timeout: leadership is revoked once, one entrypoint leads
 *   afterwards, and the job is recovered once.
 * - The leading entrypoint frozen past the session timeout: the standby takes over while the
 *   deposed one still believes it leads; the deposed term's token writes nothing, and once
 *   resumed the deposed entrypoint stops its processes and serves through the new leader.
 * - Damaged store records: the jobs they belong to are listed FAILED with an error naming the
 *   znode and the job; the other jobs recover.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId, silentLogger } from '@sluice/common';
import { createHighAvailabilityServices, HA_FENCED, HA_STORE_CORRUPT } from '@sluice/ha';
import { ZooKeeperClient } from '@sluice/zookeeper';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import {
  clusterZnode,
  leaderOf,
  publishedLeader,
  readZnode,
  rest,
  restTokenOf,
  restWhenLed,
  startHaEntrypoint,
  submitBundled,
  waitForJobEnd,
  withZooKeeper,
  type HaClusterOptions,
  type HaEntrypoint,
} from './ha-cluster.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import { childrenOf, isRunning as running } from './processes.js';
import { startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble, type ZookeeperNode } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`HA cluster failure tests skipped (${skipReason})`);

const KEYS = 20;
/** Records a second of the job's source: its length in events sets how long it runs. */
const RATE = 4_000;

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

function expectFailureFreeOutput(out: string, events: number): void {
  const got = committedLines(out).sort(order);
  const want = failureFreeLines(events, KEYS).sort(order);
  expect(got.length).toBe(want.length);
  expect(got).toEqual(want);
}

/**
 * The job ends FINISHED with the failure-free output, and nothing restarted on the way: no lost
 * session, no change of leader (still term `term`), no recovered job, no new JobMaster, no restart.
 */
async function expectEndedWithoutRestart(c: { a: HaEntrypoint; b: HaEntrypoint; leader: HaEntrypoint; token: string; o: HaClusterOptions; jobId: string; term: string; out: string; events: number }): Promise<void> {
  const end = await waitForJobEnd(c.leader, c.token, c.jobId);
  expect(end.result?.error?.message).toBeUndefined();
  expect(end.status).toBe('FINISHED');
  const both = c.a.output() + c.b.output();
  expect(count(both, /HA store connection lost/)).toBe(0);
  expect(count(both, /no longer leads/)).toBe(0);
  expect(count(both, /this entrypoint leads the cluster now/)).toBe(1);
  // Neither the job (a new JobMaster) nor its tasks (a restart from a checkpoint) started over.
  expect(count(both, /job recovered/)).toBe(0);
  expect(count(both, /starting JobMaster attempt/)).toBe(0);
  expect(JSON.parse((await readZnode(c.o.quorum, clusterZnode(c.o, 'jobs', c.jobId)))!)).toMatchObject({ jobMasterAttempts: 1, ended: { status: 'FINISHED' } });
  expect((await publishedLeader(c.o.quorum, c.o.clusterId))?.token).toBe(c.term);
  expectFailureFreeOutput(c.out, c.events);
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}


describe.runIf(skipReason === undefined)('high availability: failures of ZooKeeper and of the entrypoints', () => {
  let zk: ZookeeperEnsemble | undefined;
  let home = '';
  let procs: CliProcesses;
  let started: HaEntrypoint[] = [];

  beforeEach((context) => {
    home = mkdtempSync(join(tmpdir(), 'sluice-ha-fail-'));
    procs = cliProcesses(home);
    started = [];
    // What the entrypoints (and their processes) said last is what explains a failure.
    context.onTestFailed(() => {
      for (const e of started) console.error(`--- entrypoint ${e.name}, its last lines:\n${e.output().split('\n').slice(-150).join('\n')}`);
    });
  });
  afterEach(async () => {
    // The entrypoints' processes end with them (their IPC channel closes): wait for that too.
    const children = started.flatMap((e) => childrenOf(e.pid, 'main.js'));
    for (const e of started) e.process.child.kill('SIGCONT');
    procs.killAll();
    await waitFor('the entrypoints\' processes to end', () => (children.some(running) ? undefined : true), 30_000).catch(() => {
      for (const pid of children.filter(running)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it ended meanwhile
        }
      }
    });
    await zk?.stop();
    zk = undefined;
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  function options(z: ZookeeperEnsemble, sessionTimeoutMs: number, more: Partial<HaClusterOptions> = {}): HaClusterOptions {
    return { quorum: z.connectString, clusterId: `ha-${randomId(6)}`, storageDir: join(home, 'shared'), sessionTimeoutMs, ...more };
  }

  async function start(name: string, o: HaClusterOptions): Promise<HaEntrypoint> {
    const e = await startHaEntrypoint(procs, name, home, o);
    started.push(e);
    return e;
  }

  async function submit(e: HaEntrypoint, token: string, name: string, events: number, parallelism = 2): Promise<{ jobId: string; out: string }> {
    const out = join(home, name);
    const params = { out, events: String(events), keys: String(KEYS), rate: String(RATE), interval: '200' };
    return { jobId: await submitBundled(e, token, 'exactly-once.ts', params, parallelism), out };
  }

  async function completedCheckpoints(e: HaEntrypoint, token: string, jobId: string, n: number): Promise<void> {
    await waitFor(`${n} completed checkpoints of job ${jobId}`, async () => {
      const s = await restWhenLed<{ counts: { completed: number } }>(e, token, `/jobs/${jobId}/checkpoints`);
      return s !== undefined && s.counts.completed >= n ? true : undefined;
    }, 90_000);
  }

  async function status(e: HaEntrypoint, token: string, jobId: string): Promise<string> {
    return (await rest<{ status: string }>(e, token, 'GET', `/jobs/${jobId}`)).status;
  }

  /** Waits until `e` printed a line matching `pattern` after its first `from` characters. */
  async function logged(e: HaEntrypoint, pattern: RegExp, from: number, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return waitFor(`${e.name} to log ${pattern}`, () => pattern.exec(e.output().slice(from)) ?? undefined, timeoutMs);
  }

  /**
   * Freezes ZooKeeper `node` (SIGSTOP) at the worst moment for job `jobId`: right after its
   * checkpoint counter moved, so the checkpoint just given that id is recorded in the store (the
   * JobMaster's next call to ZooKeeper) while the server does not answer. Resolves once the
   * signal is sent, with a promise of the test's own session's close.
   *
   * Just before, every session of the cluster hears from the server: rewriting the published
   * leader's own text (unchanged) fires every retrieval's data watch. A session is suspended two
   * thirds of the session timeout after it last heard from the server and lost at the full
   * timeout; sessions that last heard up to a third apart (their pings) would leave a freeze no
   * moment to end between "all suspended" and "one lost". Aligned, they leave a third.
   */
  async function freezeDuringCheckpoint(o: HaClusterOptions, jobId: string, node: ZookeeperNode): Promise<{ closed: Promise<void> }> {
    const client = new ZooKeeperClient({ connectString: o.quorum, sessionTimeoutMs: 30_000, logger: silentLogger });
    await client.start();
    try {
      const info = clusterZnode(o, 'leader', 'dispatcher', 'info');
      const { data, stat } = await client.getData(info);
      await client.setData(info, data, stat.version);
      await new Promise<void>((resolve, reject) => {
        client.getData(clusterZnode(o, 'checkpoints', jobId, 'counter'), () => {
          node.kill('SIGSTOP');
          resolve();
        }).catch(reject);
      });
    } catch (err) {
      await client.close();
      throw err;
    }
    return { closed: client.close() };
  }

  it('ZooKeeper frozen for less than the session timeout: both entrypoints suspend and reconnect, nothing restarts, the job finishes exactly once', async () => {
    zk = await startZookeeper();
    const o = options(zk, 8_000);
    const [a, b] = [await start('a', o), await start('b', o)];
    const { leader, token: term } = await leaderOf([a, b], o);
    const token = restTokenOf(o);
    const events = 60_000;
    const { jobId, out } = await submit(leader, token, 'out', events);
    await completedCheckpoints(leader, token, jobId, 2);
    const from = [a.output().length, b.output().length] as const;
    expect(await status(leader, token, jobId)).toBe('RUNNING');

    const node = zk.nodes[0]!;
    const frozen = await freezeDuringCheckpoint(o, jobId, node);
    // Every session notices: both entrypoints', and the JobMaster's, whose call is in flight.
    await Promise.all([
      logged(a, /HA store connection suspended/, from[0]),
      logged(b, /HA store connection suspended/, from[1]),
      logged(leader, /\[jobmaster \w+#0\].*ZooKeeper session suspended/, from[leader === a ? 0 : 1]),
    ]);
    node.kill('SIGCONT');
    await frozen.closed;
    await Promise.all([logged(a, /HA store connected/, from[0]), logged(b, /HA store connected/, from[1])]);
    expect(await status(leader, token, jobId)).toBe('RUNNING');

    await expectEndedWithoutRestart({ a, b, leader, token, o, jobId, term, out, events });
  }, 180_000);

  it('ZooKeeper frozen past the session timeout: leadership is revoked once, one entrypoint leads afterwards, the job is recovered once and finishes exactly once', async () => {
    zk = await startZookeeper();
    const o = options(zk, 8_000);
    const [a, b] = [await start('a', o), await start('b', o)];
    const { leader, token: first } = await leaderOf([a, b], o);
    const token = restTokenOf(o);
    const events = 80_000;
    const { jobId, out } = await submit(leader, token, 'out', events);
    await completedCheckpoints(leader, token, jobId, 2);
    const from = [a.output().length, b.output().length] as const;
    const since = (e: HaEntrypoint): string => e.output().slice(from[e === a ? 0 : 1]);
    expect(await status(leader, token, jobId)).toBe('RUNNING');

    const node = zk.nodes[0]!;
    node.kill('SIGSTOP');
    await Promise.all([logged(a, /HA store connection lost/, from[0]), logged(b, /HA store connection lost/, from[1])]);
    node.kill('SIGCONT');
    const second = await waitFor('a new leadership term', async () => {
      const info = await publishedLeader(o.quorum, o.clusterId);
      return info !== undefined && info.token !== first ? info : undefined;
    }, 60_000);
    const next = [a, b].find((e) => e.rpcAddress === second.address)!;
    expect(next).toBeDefined();
    await logged(next, /job recovered; its JobMaster attempt 1 resumes it from checkpoint \d+/, from[next === a ? 0 : 1]);
    expect(await status(next, token, jobId)).not.toMatch(/FINISHED|FAILED|CANCELED/);

    const end = await waitForJobEnd(next, token, jobId);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    // Revoked once (the term that was lost), granted once (the new one), recovered once.
    expect(count(since(leader), /this entrypoint no longer leads the cluster/)).toBe(1);
    expect(count(since(a) + since(b), /no longer leads the cluster/)).toBe(1);
    expect(count(since(next), /this entrypoint leads the cluster now/)).toBe(1);
    expect(count(since(a) + since(b), /leads the cluster now/)).toBe(1);
    expect(count(since(a) + since(b), /job recovered;/)).toBe(1);
    expect((await publishedLeader(o.quorum, o.clusterId))?.token).toBe(second.token);
    expect(JSON.parse((await readZnode(o.quorum, clusterZnode(o, 'jobs', jobId)))!)).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED' } });
    expectFailureFreeOutput(out, events);
  }, 180_000);

  it('a 3-node ensemble loses its leader node (kill -9): every session moves to a node that serves, nothing restarts, the job finishes exactly once', async () => {
    zk = await startZookeeper({ nodes: 3 });
    const o = options(zk, 8_000);
    const [a, b] = [await start('a', o), await start('b', o)];
    const { leader, token: term } = await leaderOf([a, b], o);
    const token = restTokenOf(o);
    const events = 60_000;
    const { jobId, out } = await submit(leader, token, 'out', events);
    await completedCheckpoints(leader, token, jobId, 2);
    const from = [a.output().length, b.output().length] as const;
    const modes = await Promise.all(zk.nodes.map((n) => n.mode()));
    const leaderNode = zk.nodes[modes.indexOf('leader')];
    expect(leaderNode).toBeDefined();
    expect(await status(leader, token, jobId)).toBe('RUNNING');

    // The followers drop their clients while they elect a new leader: every session moves.
    leaderNode!.kill('SIGKILL');
    await Promise.all([logged(a, /HA store connection suspended[^]*HA store connected/, from[0]), logged(b, /HA store connection suspended[^]*HA store connected/, from[1])]);
    expect(await status(leader, token, jobId)).toBe('RUNNING');

    await expectEndedWithoutRestart({ a, b, leader, token, o, jobId, term, out, events });
  }, 180_000);

  it('the leading entrypoint frozen past the session timeout: the standby takes over while the deposed one still believes it leads; the deposed token writes nothing, and once resumed the deposed entrypoint stops its processes and serves through the new leader', async () => {
    zk = await startZookeeper();
    const o = options(zk, 6_000);
    const [a, b] = [await start('a', o), await start('b', o)];
    const { leader: deposed, token: deposedTerm } = await leaderOf([a, b], o);
    const standby = deposed === a ? b : a;
    const token = restTokenOf(o);
    const events = 80_000;
    const { jobId, out } = await submit(standby, token, 'out', events);
    await completedCheckpoints(standby, token, jobId, 2);
    const jobMasters = childrenOf(deposed.pid, 'jobmaster-main.js');
    const taskManagers = childrenOf(deposed.pid, 'taskmanager-main.js');
    expect(jobMasters.length).toBe(1);
    expect(taskManagers.length).toBeGreaterThan(0);
    const from = { deposed: deposed.output().length, standby: standby.output().length };
    expect(await status(standby, token, jobId)).toBe('RUNNING');

    process.kill(deposed.pid, 'SIGSTOP');
    const current = await waitFor('the standby to lead', async () => {
      const info = await publishedLeader(o.quorum, o.clusterId);
      return info?.address === standby.rpcAddress ? info.token : undefined;
    }, 60_000);
    expect(current).not.toBe(deposedTerm);
    await logged(standby, /job recovered; its JobMaster attempt 1 resumes it from checkpoint \d+/, from.standby);
    // The deposed term's JobMaster reads the new leader from the store and stops, though the
    // entrypoint that started it is frozen (and so cannot reap it: a zombie counts as stopped).
    await waitFor('the deposed JobMaster to stop', () => (jobMasters.some(running) ? undefined : true), 60_000);

    // Two entrypoints believe they lead; only the current term's token changes anything.
    const ha = await createHighAvailabilityServices({ mode: 'zookeeper', quorum: o.quorum, clusterId: o.clusterId, sessionTimeoutMs: 10_000 });
    try {
      const record = (await ha.jobs.get(jobId))!;
      expect(record.ended).toBeUndefined();
      const attempts = [
        ha.jobs.put(deposedTerm, { ...record, ended: { status: 'CANCELED', endTime: Date.now() } }),
        ha.jobs.remove(deposedTerm, jobId),
        ha.checkpoints.putLatest(deposedTerm, jobId, { id: 1_000_000, location: join(out, '.checkpoints', 'deposed') }),
        ha.checkpoints.nextCheckpointId(deposedTerm, jobId),
        ha.mesos.putFrameworkId(deposedTerm, 'deposed'),
      ];
      for (const outcome of await Promise.allSettled(attempts)) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: HA_FENCED } });
      expect(await ha.jobs.get(jobId)).toEqual(record);
      expect((await ha.checkpoints.latest(jobId))?.id).toBeLessThan(1_000_000);
      expect(await ha.mesos.frameworkId()).toBeUndefined();
      await ha.mesos.putFrameworkId(current, 'current');
      expect(await ha.mesos.frameworkId()).toBe('current');
      await ha.mesos.clearFrameworkId(current);
    } finally {
      await ha.close();
    }

    process.kill(deposed.pid, 'SIGCONT');
    await logged(deposed, /this entrypoint no longer leads the cluster/, from.deposed);
    await logged(deposed, /\[jobmaster \w+#0\].*no longer leads .*stopping/, from.deposed);
    await waitFor('the deposed TaskManagers to stop', () => (taskManagers.some(running) ? undefined : true), 60_000);
    expect(childrenOf(deposed.pid, 'main.js').filter(running)).toEqual([]);
    // Its REST API answers through the new leader, to the end of the job.
    const end = await waitForJobEnd(deposed, token, jobId);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    const both = deposed.output().slice(from.deposed) + standby.output().slice(from.standby);
    expect(count(both, /leads the cluster now/)).toBe(1);
    expect(count(both, /job recovered;/)).toBe(1);
    expect((await publishedLeader(o.quorum, o.clusterId))?.token).toBe(current);
    expect(JSON.parse((await readZnode(o.quorum, clusterZnode(o, 'jobs', jobId)))!)).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED' } });
    expectFailureFreeOutput(out, events);
  }, 180_000);

  it('damaged store records: a job whose pointer is corrupt, and one whose checkpoint is gone, are listed FAILED naming the znode and the job; the other job recovers and finishes exactly once', async () => {
    zk = await startZookeeper();
    const o = options(zk, 6_000, { taskManagers: 1, slots: 3 });
    const a = await start('a', o);
    await leaderOf([a], o);
    const token = restTokenOf(o);
    const events = 60_000;
    const jobs = [];
    for (const name of ['one', 'two', 'three']) jobs.push(await submit(a, token, name, events, 1));
    const [one, two, three] = jobs as [(typeof jobs)[0], (typeof jobs)[0], (typeof jobs)[0]];
    for (const j of jobs) await completedCheckpoints(a, token, j.jobId, 1);
    for (const j of jobs) expect(await status(a, token, j.jobId)).toBe('RUNNING');

    a.process.child.kill('SIGKILL');
    // Once its session expired nothing of its term can write: damage the records then.
    await waitFor('the killed leader\'s session to expire', async () => ((await publishedLeader(o.quorum, o.clusterId)) === undefined ? true : undefined), 60_000);
    const latest = (jobId: string): string => clusterZnode(o, 'checkpoints', jobId, 'latest');
    const pointerOfThree = JSON.parse((await readZnode(o.quorum, latest(three.jobId)))!) as { id: number; location: string };
    rmSync(pointerOfThree.location, { recursive: true, force: true });
    await withZooKeeper(o.quorum, (client) => client.setData(latest(one.jobId), '{"id":'));

    const b = await start('b', o);
    await leaderOf([b], o);
    const failedOne = await waitForJobEnd(b, token, one.jobId, 60_000);
    expect(failedOne.status).toBe('FAILED');
    expect(failedOne.result?.error?.code).toBe(HA_STORE_CORRUPT);
    expect(failedOne.result?.error?.message).toContain(latest(one.jobId));
    expect(failedOne.result?.error?.message).toContain(`job ${one.jobId}`);
    const failedThree = await waitForJobEnd(b, token, three.jobId, 60_000);
    expect(failedThree.status).toBe('FAILED');
    expect(failedThree.result?.error?.code).toBe('CHECKPOINT_MISSING');
    expect(failedThree.result?.error?.message).toContain(latest(three.jobId));
    expect(failedThree.result?.error?.message).toContain(`job ${three.jobId}`);
    expect(failedThree.result?.error?.message).toContain(pointerOfThree.location);
    const listed = await rest<{ jobs: { jobId: string; status: string }[] }>(b, token, 'GET', '/jobs');
    expect(listed.jobs.filter((j) => j.status === 'FAILED').map((j) => j.jobId).sort()).toEqual([one.jobId, three.jobId].sort());

    const end = await waitForJobEnd(b, token, two.jobId);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    expect(count(b.output(), /job recovered;/)).toBe(1);
    expect(b.output()).toMatch(new RegExp(`job recovered; its JobMaster attempt 1 resumes it from checkpoint \\d+ .*jobId=${two.jobId}`));
    expectFailureFreeOutput(two.out, events);
  }, 180_000);
});
