/**
 * The framework scheduler and the Mesos master failing under a running job, end to end on the
 * Mesos fake with real processes and the exactly-once job (checkpoints every 200 ms, a
 * two-phase-commit file sink):
 *
 * - `kill -9` of `sluice mesos-session` and a restart from the same SLUICE_HOME on the same RPC
 *   port: the framework resubscribes with its id, reconciles the tasks it launched, launches no
 *   second TaskManager, the running TaskManagers register at the new ResourceManager, and the
 *   job is recovered from its checkpoint and finishes exactly once.
 * - Failover to a second master: the scheduler follows the new leader, resubscribes with the
 *   same framework id and reconciles; the job is untouched and a second job still gets a
 *   TaskManager from the new leader's offers.
 *
 * Order is read from the fake's recorded calls and the processes' logs, never from the clock.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SchedulerCall } from '@sluice/mesos-proto';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { sessionRest, startMesosSession, submitDetached, taskManagerPids, waitForCheckpoints, waitForJobEnd, type MesosSession, launchedTaskIds, SMALL_TASKMANAGER } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { unusedPort } from './ports.js';
import { childrenOf, isRunning } from './processes.js';

const KEYS = 20;
const RATE = 4_000;

const bed = mesosTestBed('sluice-mesos-failover-');

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

/** Index of every scheduler call of `type` in the order the masters received them. */
function callIndexes(m: MesosCluster, type: string): number[] {
  return m.calls({ api: 'scheduler' }).flatMap((c, i) => ((c.call as SchedulerCall).type === type ? [i] : []));
}

async function session(m: MesosCluster, name: string, args: string[] = []): Promise<MesosSession> {
  // Later flags win: `args` may replace the harness's `--rpc-port 0`.
  const s = await startMesosSession(bed.procs, bed.home, name, m, [...SMALL_TASKMANAGER, ...args], { SLUICE_LOG_LEVEL: 'info' });
  bed.show(s);
  return s;
}

async function submit(s: MesosSession, events: number, parallelism: number): Promise<{ jobId: string; out: string }> {
  const out = mkdtempSync(join(bed.home, 'out-'));
  const jobId = await submitDetached(s, jobPath('exactly-once.ts'), ['-p', String(parallelism), '-D', `out=${out}`, '-D', `events=${events}`, '-D', `keys=${KEYS}`, '-D', `rate=${RATE}`, '-D', 'interval=200']);
  return { jobId, out };
}

/** Resource ids of the TaskManagers registered at the session's ResourceManager, sorted. */
async function registeredTaskManagers(s: MesosSession): Promise<string[]> {
  const { taskManagers } = await sessionRest<{ taskManagers: { resourceId: string }[] }>(s, 'GET', '/taskmanagers');
  return taskManagers.map((t) => t.resourceId).sort();
}

async function expectExactlyOnce(s: MesosSession, jobId: string, out: string, events: number): Promise<void> {
  const end = await waitForJobEnd(s, jobId);
  expect(end.result?.error?.message).toBeUndefined();
  expect(end.status).toBe('FINISHED');
  const lines = committedLines(out).sort(order);
  const want = failureFreeLines(events, KEYS).sort(order);
  expect(lines.length).toBe(want.length);
  expect(lines).toEqual(want);
}

describe('scheduler and master failures on the Mesos fake', () => {
  it('kill -9 of the scheduler and a restart: same framework id, tasks reconciled, no second TaskManager, the TaskManagers register again and the job finishes exactly once', async () => {
    const events = 80_000;
    const m = await bed.start({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500 });
    const rpcPort = await unusedPort();
    const first = await session(m, 'restarted', ['--rpc-port', String(rpcPort)]);
    const { jobId, out } = await submit(first, events, 2);
    await waitForCheckpoints(first, jobId, 2);
    await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
    bed.remember(m);
    const [framework] = m.frameworks();
    const tasksBefore = m.tasks().map((t) => t.taskId).sort();
    expect(tasksBefore).toEqual(['taskmanager-1', 'taskmanager-2']);
    const tmPids = taskManagerPids(m);
    const resourceIds = await registeredTaskManagers(first);
    expect(resourceIds).toHaveLength(2);

    // Frozen, the TaskManagers register at the restarted entrypoint only after its recovered job
    // has asked for slots: the worst case for duplicates.
    for (const pid of tmPids.values()) process.kill(pid, 'SIGSTOP');
    const jobMasters = childrenOf(first.process.child.pid!, 'jobmaster-main.js');
    expect(jobMasters).toHaveLength(1);
    first.process.child.kill('SIGKILL');
    await first.process.done;
    // Its JobMaster process ends with it (the restarted entrypoint starts its own).
    await waitFor('the killed session\'s JobMaster to end', () => (jobMasters.some(isRunning) ? undefined : true), 30_000);
    await m.waitFor('the framework to be disconnected', () => m.frameworks().every((f) => !f.connected));
    const callsBeforeRestart = m.calls({ api: 'scheduler' }).length;

    const second = await session(m, 'restarted', ['--rpc-port', String(rpcPort)]);
    expect(second.output()).toContain(`sluice://127.0.0.1:${rpcPort}`);
    // Resubscribed with the same framework id, then reconciled the two tasks it had launched.
    const subscribes = m.calls({ api: 'scheduler', type: 'SUBSCRIBE' });
    expect(subscribes).toHaveLength(2);
    const resubscribe = subscribes[1]!.call as SchedulerCall;
    expect(resubscribe.framework_id?.value).toBe(framework!.id);
    expect(resubscribe.subscribe?.framework_info.id?.value).toBe(framework!.id);
    expect(m.frameworks().map((f) => f.id)).toEqual([framework!.id]);
    const reconciled = await m.waitFor('an explicit RECONCILE of both tasks after the restart', () =>
      m
        .calls({ api: 'scheduler', type: 'RECONCILE' })
        .map((c) => (c.call as SchedulerCall).reconcile?.tasks?.map((t) => t.task_id.value).sort() ?? [])
        .find((ids) => ids.length === 2),
    );
    expect(reconciled).toEqual(tasksBefore);
    expect(Math.min(...callIndexes(m, 'RECONCILE').filter((i) => i >= callsBeforeRestart))).toBeGreaterThan(callIndexes(m, 'SUBSCRIBE')[1]!);

    // The recovered job asks for two slots: the ResourceManager waits for the two workers it recovered.
    await waitFor('the ResourceManager to wait for the recovered workers, or to start new ones', () =>
      /waiting for 2 recovered worker\(s\) to register before starting new ones/.test(second.process.out.stderr) || launchedTaskIds(m).length > 2 ? true : undefined,
    60_000);
    expect(launchedTaskIds(m)).toEqual(tasksBefore);
    for (const pid of tmPids.values()) process.kill(pid, 'SIGCONT');

    // The same TaskManagers register at the new ResourceManager and the job comes back from its checkpoint.
    await waitFor('both TaskManagers registered at the restarted entrypoint', async () => {
      const tms = await registeredTaskManagers(second).catch(() => []);
      return tms.length === 2 ? tms : undefined;
    }, 60_000).then((tms) => expect(tms).toEqual(resourceIds));
    expect(second.process.out.stderr).toMatch(/job recovered; its JobMaster attempt \d+ resumes it from checkpoint \d+/);
    await expectExactlyOnce(second, jobId, out, events);

    // No TaskManager was launched or restarted: the same two tasks and processes ran throughout.
    expect(launchedTaskIds(m)).toEqual(tasksBefore);
    expect(m.tasks().map((t) => [t.taskId, t.state])).toEqual(tasksBefore.map((id) => [id, 'TASK_RUNNING']));
    for (const [executorId, pid] of tmPids) expect(taskManagerPids(m).get(executorId)).toBe(pid);
    await bed.stopSession(m, second);
  }, 300_000);

  it('a restart on another RPC port: the TaskManagers left running cannot find it, so after the heartbeat timeout they are killed and replaced, and the job finishes exactly once', async () => {
    const events = 60_000;
    const m = await bed.start({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500 });
    const heartbeats = ['--heartbeat-interval', '200', '--heartbeat-timeout', '3000'];
    const first = await session(m, 'moved', ['--rpc-port', String(await unusedPort()), ...heartbeats]);
    const { jobId, out } = await submit(first, events, 2);
    await waitForCheckpoints(first, jobId, 2);
    await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
    bed.remember(m);
    const oldTasks = m.tasks().map((t) => t.taskId).sort();
    const oldResources = await registeredTaskManagers(first);
    first.process.child.kill('SIGKILL');
    await first.process.done;
    await m.waitFor('the framework to be disconnected', () => m.frameworks().every((f) => !f.connected));

    const second = await session(m, 'moved', heartbeats); // --rpc-port 0: another port
    expect(/RPC +(\S+)/.exec(second.process.out.stdout)?.[1]).not.toBe(/RPC +(\S+)/.exec(first.process.out.stdout)?.[1]);
    for (const id of oldResources) {
      await waitFor(`recovered worker ${id} given up`, () => (second.process.out.stderr.includes(`recovered worker ${id} did not register within 3000 ms; releasing it`) ? true : undefined), 60_000);
    }
    // Killed through Mesos, then replaced by two new tasks the job runs on.
    await m.waitFor('the old tasks killed', () => oldTasks.every((id) => m.task(id)?.state === 'TASK_KILLED'), 60_000);
    expect(m.calls({ api: 'scheduler', type: 'KILL' }).map((c) => (c.call as SchedulerCall).kill!.task_id.value).sort()).toEqual(oldTasks);
    await m.waitFor('two new TaskManager tasks running', () => ['taskmanager-3', 'taskmanager-4'].every((id) => m.task(id)?.state === 'TASK_RUNNING'), 60_000);
    bed.remember(m);
    expect(launchedTaskIds(m)).toEqual([...oldTasks, 'taskmanager-3', 'taskmanager-4']);
    // The ResourceManager asked for new workers only once it had given up on a recovered one.
    const log = second.process.out.stderr;
    expect(log.indexOf('requesting a worker')).toBeGreaterThan(log.indexOf('did not register within 3000 ms; releasing it'));
    const now = await registeredTaskManagers(second);
    expect(now).toHaveLength(2);
    for (const id of oldResources) expect(now).not.toContain(id);
    await expectExactlyOnce(second, jobId, out, events);
    await bed.stopSession(m, second);
  }, 300_000);

  it('master failover: the scheduler follows the new leader, resubscribes with the same framework id and reconciles; the job runs on untouched and a second job gets a TaskManager from the new leader', async () => {
    const events = 60_000;
    const m = await bed.start({ masters: 2, agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500 });
    const masters = m.masterUrls.map((u) => u.slice('http://'.length)).join(',');
    const s = await session(m, 'followed', ['--master', masters]);
    const { jobId, out } = await submit(s, events, 2);
    await waitForCheckpoints(s, jobId, 2);
    await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
    bed.remember(m);
    const [framework] = m.frameworks();
    const tasksBefore = m.tasks().map((t) => t.taskId).sort();
    const before = m.calls({ api: 'scheduler' }).length;

    m.failoverMaster(1);
    // The old leader redirects; the scheduler resubscribes at the new one with its framework id.
    const resubscribed = await m.waitFor('a SUBSCRIBE at the new leader', () =>
      m.calls({ api: 'scheduler', type: 'SUBSCRIBE' }).find((c, i) => i > 0 && c.at === 'master-1' && c.status === 200),
    60_000);
    const call = resubscribed.call as SchedulerCall;
    expect(call.framework_id?.value).toBe(framework!.id);
    expect(call.subscribe?.framework_info.id?.value).toBe(framework!.id);
    expect(m.frameworks().map((f) => [f.id, f.connected])).toEqual([[framework!.id, true]]);
    const reconcile = await m.waitFor('an explicit RECONCILE of both tasks at the new leader', () =>
      m.calls({ api: 'scheduler', type: 'RECONCILE' }).find((c) => c.at === 'master-1' && ((c.call as SchedulerCall).reconcile?.tasks ?? []).length === 2),
    );
    expect(m.calls({ api: 'scheduler' }).indexOf(reconcile)).toBeGreaterThan(m.calls({ api: 'scheduler' }).indexOf(resubscribed));
    expect(((reconcile.call as SchedulerCall).reconcile!.tasks ?? []).map((t) => t.task_id.value).sort()).toEqual(tasksBefore);

    // Offers keep coming, from the new leader: a second job gets a third TaskManager.
    const second = await submit(s, 4_000, 1);
    const launch = await m.waitFor('a launch at the new leader', () =>
      m.calls({ api: 'scheduler', type: 'ACCEPT' }).find((c) => c.at === 'master-1' && ((c.call as SchedulerCall).accept?.operations ?? []).some((o) => o.launch !== undefined)),
    60_000);
    expect((launch.call as SchedulerCall).accept!.operations!.flatMap((o) => o.launch?.task_infos ?? []).map((t) => t.task_id.value)).toEqual(['taskmanager-3']);
    await expectExactlyOnce(s, second.jobId, second.out, 4_000);
    bed.remember(m);

    // The first job never noticed: no failure, no restart, and exactly the failure-free output.
    await expectExactlyOnce(s, jobId, out, events);
    const first = await waitForJobEnd(s, jobId);
    expect(first.exceptions).toEqual([]);
    expect(first.result?.restarts ?? 0).toBe(0);
    expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
    // Everything after the failover went to the new leader (the old one answers 307 and records nothing).
    expect(new Set(m.calls({ api: 'scheduler' }).slice(before).map((c) => c.at))).toEqual(new Set(['master-1']));
    await bed.stopSession(m, s);
  }, 300_000);
});
