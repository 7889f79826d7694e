/**
 * `sluice mesos-session --high-availability zookeeper`, end to end on the Mesos fake with a real
 * ZooKeeper: two sessions of one cluster id (their own SLUICE_HOME, cluster directory and ports,
 * a shared storage directory) against one fake master, one leading. The exactly-once job
 * (checkpoints every 200 ms, a two-phase-commit file sink) is submitted through the standby's
 * REST API, which forwards it to the leader.
 *
 * - The framework id is in ZooKeeper under the cluster's `mesos/` node, and is the fake's framework.
 * - `kill -9` of the leader: the standby leads once ZooKeeper expires the dead session, subscribes
 *   as the same framework, reconciles the launched tasks and adopts the running TaskManagers
 *   (they find it through ZooKeeper; nothing is launched for them), and the job finishes exactly once.
 * - Ctrl-C of the leader hands over: no TEARDOWN, the framework stays and the standby takes it.
 *
 * Order is read from the fake's recorded calls and the processes' logs, never from the clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '@sluice/common';
import { decodeTaskManagerLaunch } from '@sluice/mesos-executor';
import type { SchedulerCall } from '@sluice/mesos-proto';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { clusterZnode, publishedLeader, readZnode } from './ha-cluster.js';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import { startMesosCluster, type MesosCluster } from './mesos-fake/index.js';
import { launchedTaskIds, launchedTasks, restTokenOf, sessionRest, SMALL_TASKMANAGER, startMesosSession, submitDetached, taskManagerPids, waitForCheckpoints, waitForJobEnd, type MesosSession } from './mesos-harness.js';
import { childrenOf, isRunning } from './processes.js';
import { startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`Mesos HA tests skipped (${skipReason})`);

const KEYS = 20;
const RATE = 4_000;
const SESSION_TIMEOUT_MS = 5_000;

describe.runIf(skipReason === undefined)('sluice mesos-session with high availability on ZooKeeper', () => {
  let zk: ZookeeperEnsemble;
  let home = '';
  let procs: CliProcesses;
  let mesos: MesosCluster | undefined;
  let sessions: MesosSession[] = [];
  const seenPids = new Set<number>();

  beforeAll(async () => {
    zk = await startZookeeper();
    home = mkdtempSync(join(tmpdir(), 'sluice-mesos-ha-'));
    procs = cliProcesses(home);
  }, 120_000);
  beforeEach((context) => {
    sessions = [];
    context.onTestFailed(() => {
      for (const s of sessions) console.error(s.output());
    });
  });
  afterEach(async () => {
    // The sessions' JobMaster processes too: every process a test started must be gone.
    for (const s of sessions) if (s.process.child.pid !== undefined) for (const pid of childrenOf(s.process.child.pid, 'main.js')) seenPids.add(pid);
    if (mesos !== undefined) remember(mesos);
    procs.killAll();
    await mesos?.stop();
    mesos = undefined;
    await waitFor('every executor and TaskManager process to end', () => ([...seenPids].some(isRunning) ? undefined : true), 30_000);
    seenPids.clear();
  }, 60_000);
  afterAll(async () => {
    await zk?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

  function remember(m: MesosCluster): void {
    for (const e of m.executors()) if (e.pid !== undefined) seenPids.add(e.pid);
    for (const pid of taskManagerPids(m).values()) seenPids.add(pid);
  }

  interface HaCluster {
    clusterId: string;
    m: MesosCluster;
    leader: MesosSession;
    standby: MesosSession;
  }

  /** Two HA sessions of a new cluster id on a new fake; resolves once one of them is the published leader. */
  async function haCluster(): Promise<HaCluster> {
    const m = await startMesosCluster({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500 });
    mesos = m;
    const clusterId = `mesos-${randomId(6)}`;
    const ha = ['--high-availability', 'zookeeper', '--ha-quorum', zk.connectString, '--ha-storage-dir', join(home, 'shared'), '--ha-cluster-id', clusterId, '--ha-session-timeout', String(SESSION_TIMEOUT_MS)];
    const start = async (name: string): Promise<MesosSession> => {
      const s = await startMesosSession(procs, home, `${clusterId}-${name}`, m, [...SMALL_TASKMANAGER, ...ha], { SLUICE_LOG_LEVEL: 'info' });
      sessions.push(s);
      return s;
    };
    const a = await start('a');
    const b = await start('b');
    const leader = await waitFor('a published leader', async () => {
      const address = (await publishedLeader(zk.connectString, clusterId))?.address;
      return [a, b].find((s) => s.rpcAddress === address);
    }, 60_000);
    return { clusterId, m, leader, standby: leader === a ? b : a };
  }

  async function submit(s: MesosSession, events: number): Promise<{ jobId: string; out: string }> {
    const out = mkdtempSync(join(home, 'out-'));
    const jobId = await submitDetached(s, jobPath('exactly-once.ts'), ['-p', '2', '-D', `out=${out}`, '-D', `events=${events}`, '-D', `keys=${KEYS}`, '-D', `rate=${RATE}`, '-D', 'interval=200']);
    return { jobId, out };
  }

  async function registeredTaskManagers(s: MesosSession): Promise<string[]> {
    const { taskManagers } = await sessionRest<{ taskManagers: { resourceId: string }[] }>(s, 'GET', '/taskmanagers');
    return taskManagers.map((t) => t.resourceId).sort();
  }

  /** The framework id the HA store holds in ZooKeeper. */
  async function storedFrameworkId(clusterId: string): Promise<string | undefined> {
    const text = await readZnode(zk.connectString, clusterZnode({ clusterId }, 'mesos', 'framework-id'));
    return text === undefined ? undefined : (JSON.parse(text) as { frameworkId: string }).frameworkId;
  }

  /** Runs the job on the first leader until it has checkpointed on two running TaskManagers; what the next leader must adopt. */
  async function runningJob(c: HaCluster, events: number) {
    const { jobId, out } = await submit(c.standby, events);
    await waitForCheckpoints(c.leader, jobId, 2);
    await c.m.waitFor('two running TaskManager tasks', () => c.m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
    remember(c.m);
    const frameworks = c.m.frameworks();
    expect(frameworks).toHaveLength(1);
    const frameworkId = frameworks[0]!.id;
    expect(await storedFrameworkId(c.clusterId)).toBe(frameworkId);
    const tasks = c.m.tasks().map((t) => t.taskId).sort();
    expect(tasks).toEqual(['taskmanager-1', 'taskmanager-2']);
    const resourceIds = await registeredTaskManagers(c.leader);
    expect(resourceIds).toHaveLength(2);
    // The TaskManagers were told to find the leader through ZooKeeper, not at the leader's address.
    const launches = launchedTasks(c.m);
    expect(launches).toHaveLength(2);
    for (const t of launches) {
      const launch = decodeTaskManagerLaunch(t.data!);
      expect(launch.cluster).toBeUndefined();
      expect(launch.ha).toEqual({ 'high-availability': 'zookeeper', 'ha-quorum': zk.connectString, 'ha-cluster-id': c.clusterId, 'ha-session-timeout': String(SESSION_TIMEOUT_MS) });
    }
    // Only the leader talks to Mesos; the standby's scheduler waits without a subscription.
    expect(c.m.calls({ api: 'scheduler', type: 'SUBSCRIBE' })).toHaveLength(1);
    expect(await (await fetch(`${c.standby.schedulerUrl}/healthz`)).json()).toEqual({ state: 'standby', subscribed: false });
    expect(await (await fetch(`${c.leader.schedulerUrl}/healthz`)).json()).toEqual({ state: 'running', subscribed: true, frameworkId });
    return { jobId, out, frameworkId, tasks, resourceIds, tmPids: taskManagerPids(c.m), jobMasters: childrenOf(c.leader.process.child.pid!, 'jobmaster-main.js') };
  }

  /** After the old leader is gone: the standby leads as the same framework, adopts both TaskManagers, and the job finishes exactly once on them. */
  async function expectTakenOver(c: HaCluster, job: Awaited<ReturnType<typeof runningJob>>, callsBefore: number, events: number): Promise<void> {
    const { m, standby } = c;
    await waitFor('the standby published as leader', async () => ((await publishedLeader(zk.connectString, c.clusterId))?.address === standby.rpcAddress ? true : undefined), 60_000);
    const subscribe = await m.waitFor('a SUBSCRIBE from the new leader', () => m.calls({ api: 'scheduler' }).slice(callsBefore).find((x) => (x.call as SchedulerCall).type === 'SUBSCRIBE'), 60_000);
    const call = subscribe.call as SchedulerCall;
    expect(call.framework_id?.value).toBe(job.frameworkId);
    expect(call.subscribe?.framework_info.id?.value).toBe(job.frameworkId);
    expect(m.frameworks().map((f) => f.id)).toEqual([job.frameworkId]);
    const all = (): typeof subscribe[] => m.calls({ api: 'scheduler' });
    const reconcile = await m.waitFor('an explicit RECONCILE of both tasks by the new leader', () =>
      all().slice(callsBefore).find((x) => ((x.call as SchedulerCall).reconcile?.tasks ?? []).length === 2),
    60_000);
    expect(all().indexOf(reconcile)).toBeGreaterThan(all().indexOf(subscribe));
    expect(((reconcile.call as SchedulerCall).reconcile!.tasks ?? []).map((t) => t.task_id.value).sort()).toEqual(job.tasks);

    // The same TaskManagers find the new leader through ZooKeeper and register there.
    await waitFor('both TaskManagers registered at the new leader', async () => {
      const tms = await registeredTaskManagers(standby).catch(() => []);
      return tms.length === 2 ? tms : undefined;
    }, 90_000).then((tms) => expect(tms).toEqual(job.resourceIds));

    const end = await waitForJobEnd(standby, job.jobId);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    const lines = committedLines(job.out).sort(order);
    const want = failureFreeLines(events, KEYS).sort(order);
    expect(lines.length).toBe(want.length);
    expect(lines).toEqual(want);

    // Nothing was launched for the adopted TaskManagers: the same two tasks and processes throughout.
    expect(launchedTaskIds(m)).toEqual(job.tasks);
    for (const [executorId, pid] of job.tmPids) expect(taskManagerPids(m).get(executorId)).toBe(pid);
    expect(await storedFrameworkId(c.clusterId)).toBe(job.frameworkId);
    expect(m.calls({ api: 'scheduler', type: 'TEARDOWN' })).toEqual([]);
  }

  it('kill -9 of the leading session: the standby subscribes as the same framework, reconciles, adopts the running TaskManagers, and the job finishes exactly once', async () => {
    const events = 80_000;
    const c = await haCluster();
    const job = await runningJob(c, events);
    expect(job.jobMasters).toHaveLength(1);
    const callsBefore = c.m.calls({ api: 'scheduler' }).length;
    c.leader.process.child.kill('SIGKILL');
    await c.leader.process.done;
    await waitFor("the killed session's JobMaster to end", () => (job.jobMasters.some(isRunning) ? undefined : true), 30_000);
    await expectTakenOver(c, job, callsBefore, events);
    // The TaskManagers could only have found the new leader through ZooKeeper: it is at another address.
    expect(c.standby.rpcAddress).not.toBe(c.leader.rpcAddress);
    expect(c.standby.process.out.stderr).toMatch(/job recovered; its JobMaster attempt \d+ resumes it from checkpoint \d+/);
  }, 300_000);

  it('Ctrl-C of the leading session hands over: no TEARDOWN, the framework and its TaskManagers stay, and the standby finishes the job exactly once', async () => {
    const events = 60_000;
    const c = await haCluster();
    const job = await runningJob(c, events);
    const callsBefore = c.m.calls({ api: 'scheduler' }).length;
    c.leader.process.child.kill('SIGINT');
    const stopped = await c.leader.process.done;
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
    // It left the framework and both tasks to the next leader.
    expect(c.m.calls({ api: 'scheduler' }).slice(callsBefore).map((x) => (x.call as SchedulerCall).type)).not.toContain('TEARDOWN');
    expect(c.m.calls({ api: 'scheduler' }).slice(callsBefore).map((x) => (x.call as SchedulerCall).type)).not.toContain('KILL');
    expect(c.m.frameworks().map((f) => f.id)).toEqual([job.frameworkId]);
    expect(c.m.tasks().map((t) => [t.taskId, t.state])).toEqual(job.tasks.map((id) => [id, 'TASK_RUNNING']));
    await expectTakenOver(c, job, callsBefore, events);
  }, 300_000);
  it('the leading session frozen past the ZooKeeper session timeout: the standby takes the framework over; resumed, the deposed session stops its scheduler without subscribing again, and its /healthz and /http_sd say it stands by', async () => {
    const events = 80_000;
    const c = await haCluster();
    const job = await runningJob(c, events);
    const deposed = c.leader;
    const from = deposed.process.out.stderr.length;
    const callsBefore = c.m.calls({ api: 'scheduler' }).length;
    process.kill(deposed.process.child.pid!, 'SIGSTOP');
    try {
      await expectTakenOver(c, job, callsBefore, events);
    } finally {
      process.kill(deposed.process.child.pid!, 'SIGCONT');
    }
    const streams = c.m.frameworks()[0]!.streamIds;
    await waitFor('the deposed session to step down', () => (/this entrypoint no longer leads the cluster/.test(deposed.process.out.stderr.slice(from)) ? true : undefined), 60_000);
    const health = await waitFor('the deposed scheduler to stand by', async () => {
      const h = (await (await fetch(`${deposed.schedulerUrl}/healthz`)).json()) as { state: string };
      return h.state === 'standby' ? h : undefined;
    }, 30_000);
    expect(health).toEqual({ state: 'standby', subscribed: false });
    const sd = await fetch(`${deposed.schedulerUrl}/http_sd`, { headers: { Authorization: `Bearer ${restTokenOf(deposed)}` } });
    expect(sd.status).toBe(200);
    expect(await sd.json()).toEqual([]);
    // The deposed scheduler never took the framework back: one subscription since the takeover, still connected.
    const [framework] = c.m.frameworks();
    expect(framework!.streamIds).toEqual(streams);
    expect(framework!.connected).toBe(true);
    expect(launchedTaskIds(c.m)).toEqual(job.tasks);
    expect(c.m.calls({ api: 'scheduler', type: 'TEARDOWN' })).toEqual([]);
  }, 300_000);
});
