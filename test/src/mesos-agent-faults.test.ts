/**
 * Agent-side faults on the Mesos fake, end to end with real processes: `sluice mesos-session` is
 * the framework scheduler, the fake's agents run Sluice's executor, the executors run
 * TaskManager processes, and the exactly-once job (checkpoints every 200 ms, a two-phase-commit
 * file sink) runs on two of them. An agent restart, a partitioned agent, lost framework messages
 * and executor authentication: each is judged by what the fake recorded (calls, events, task
 * states), the session's output, the processes, and the job's committed output against a
 * failure-free run's. Waits are for states, never for time.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutorCall, SchedulerCall } from '@sluice/mesos-proto';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import type { MesosCluster, MesosClusterOptions } from './mesos-fake/index.js';
import {
  httpSdTaskIds,
  launchedTaskIds,
  sessionRest,
  startMesosSession,
  submitDetached,
  taskManagerPids,
  waitForCheckpoints,
  waitForJobEnd,
  type MesosSession,
} from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { isRunning } from './processes.js';

const EVENTS = 60_000;
const KEYS = 20;
/** Records a second: about 15 s of input, long enough for checkpoints before the fault, during it and after it. */
const RATE = 4_000;

const bed = mesosTestBed('sluice-mesos-agent-faults-');
let session: MesosSession | undefined;
let sessionCount = 0;
/** Every TaskManager and executor pid seen, to check none outlives the test. */
const seenPids = new Set<number>();

beforeEach((context) => {
  session = undefined;
  seenPids.clear();
  context.onTestFailed(() => console.error(session?.output() ?? '(no session)'));
});

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

function remember(m: MesosCluster): void {
  for (const e of m.executors()) if (e.pid !== undefined) seenPids.add(e.pid);
  for (const pid of taskManagerPids(m).values()) seenPids.add(pid);
}

/** A session on three agents running the exactly-once job at parallelism 2 (two one-slot TaskManagers), with `checkpoints` completed. */
async function runningJob(checkpoints: number, options: MesosClusterOptions = {}): Promise<{ m: MesosCluster; s: MesosSession; jobId: string; out: string }> {
  const m = await bed.start({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500, ...options });
  const s = await startMesosSession(bed.procs, bed.home, `session-${++sessionCount}`, m);
  session = s;
  const out = mkdtempSync(join(bed.home, 'out-'));
  const jobId = await submitDetached(s, jobPath('exactly-once.ts'), ['-p', '2', '-D', `out=${out}`, '-D', `events=${EVENTS}`, '-D', `keys=${KEYS}`, '-D', `rate=${RATE}`, '-D', 'interval=200']);
  await waitForCheckpoints(s, jobId, checkpoints);
  await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
  remember(m);
  return { m, s, jobId, out };
}

async function completedCheckpoints(s: MesosSession, jobId: string): Promise<number> {
  return (await sessionRest<{ counts: { completed: number } }>(s, 'GET', `/jobs/${jobId}/checkpoints`)).counts.completed;
}

/** The job finished with exactly the failure-free output; `restarted` says whether it recovered from a checkpoint on the way. */
async function expectExactlyOnce(s: MesosSession, jobId: string, out: string, restarted: boolean): Promise<void> {
  const end = await waitForJobEnd(s, jobId);
  expect(end.result?.error?.message).toBeUndefined();
  expect(end.status).toBe('FINISHED');
  if (restarted) expect(s.process.out.stderr).toMatch(/job recovered: .* after restart 1, from checkpoint \d+/);
  else expect(s.process.out.stderr).not.toMatch(/job recovered/);
  const lines = committedLines(out).sort(order);
  const want = failureFreeLines(EVENTS, KEYS).sort(order);
  expect(lines.length).toBe(want.length);
  expect(lines).toEqual(want);
}

/** Ctrl-C: the session stops, every executor ends, and no executor or TaskManager process is left. */
async function stopSession(m: MesosCluster, s: MesosSession): Promise<void> {
  remember(m);
  s.process.child.kill('SIGINT');
  const stopped = await s.process.done;
  expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
  await m.waitFor('every executor gone', () => m.executors().every((e) => e.exit !== undefined), 30_000);
  await waitFor('every executor and TaskManager process to end', () => ([...seenPids].some(isRunning) ? undefined : true), 30_000);
}

/** The agent a running task of the job is on, with the task, its executor's pid and its TaskManager's pid. */
function victimOf(m: MesosCluster): { taskId: string; executorId: string; agent: number; tmPid: number } {
  const task = m.tasks().find((t) => t.state === 'TASK_RUNNING')!;
  const tmPid = taskManagerPids(m).get(task.executorId!)!;
  expect(tmPid).toBeGreaterThan(0);
  return { taskId: task.taskId, executorId: task.executorId!, agent: m.agents.findIndex((a) => a.id === task.agentId), tmPid };
}

function executorCalls(m: MesosCluster, type: string, executorId: string): { call: ExecutorCall; status: number }[] {
  return m.calls({ api: 'executor', type }).filter((c) => (c.call as ExecutorCall).executor_id.value === executorId) as { call: ExecutorCall; status: number }[];
}

describe('agent faults on the Mesos fake', () => {
  it('an agent restart: the executor re-subscribes within the window, its TaskManager keeps running, nothing is replaced, the job finishes exactly once without a restart', async () => {
    // A re-registration window with room for a busy machine; the executor's backoff bound follows it.
    const { m, s, jobId, out } = await runningJob(2, { executorReregistrationTimeoutMs: 5_000 });
    const v = victimOf(m);
    const subscribesBefore = executorCalls(m, 'SUBSCRIBE', v.executorId).length;
    const checkpointsBefore = await completedCheckpoints(s, jobId);

    await m.agents[v.agent]!.restart({ downMs: 1_000 });

    // Re-subscribed (answered 200) after the restart, so the agent kept the executor past its window.
    const subscribes = executorCalls(m, 'SUBSCRIBE', v.executorId);
    expect(subscribes.length).toBeGreaterThan(subscribesBefore);
    expect(subscribes.at(-1)!.status).toBe(200);
    // RUNNING was acknowledged long before: the SUBSCRIBE holds no task the agent might otherwise drop, and only updates it has not acknowledged.
    const resubscribe = subscribes.at(-1)!.call.subscribe!;
    expect(resubscribe.unacknowledged_tasks ?? []).toEqual([]);
    expect((resubscribe.unacknowledged_updates ?? []).map((u) => u.status.state)).not.toContain('TASK_STARTING');
    const executor = m.executors().find((e) => e.executorId === v.executorId)!;
    expect(executor.exit).toBeUndefined();
    expect(executor.subscribed).toBe(true);
    expect(readFileSync(join(executor.sandbox, 'stderr'), 'utf8')).toMatch(/re-subscribed to /);

    // The same TaskManager process, the task never left RUNNING, nothing was launched or killed.
    expect(taskManagerPids(m).get(v.executorId)).toBe(v.tmPid);
    expect(isRunning(v.tmPid)).toBe(true);
    expect(m.task(v.taskId)!.history.filter((st) => st !== 'TASK_STAGING' && st !== 'TASK_STARTING')).toEqual(['TASK_RUNNING']);
    expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2']);
    expect(m.calls({ api: 'scheduler', type: 'KILL' })).toEqual([]);
    await waitForCheckpoints(s, jobId, checkpointsBefore + 2);

    await expectExactlyOnce(s, jobId, out, false);
    expect(launchedTaskIds(m)).toHaveLength(2);
    await stopSession(m, s);
  }, 300_000);

  it('a partitioned agent: TASK_UNREACHABLE is not the end, the TaskManager keeps serving the job, after healing reconciliation finds the task RUNNING and nothing was launched twice', async () => {
    const { m, s, jobId, out } = await runningJob(2);
    const v = victimOf(m);
    const frameworkId = m.frameworks()[0]!.id;
    const updatesOf = (state: string): number => m.events(frameworkId).filter((e) => e.type === 'UPDATE' && e.update?.status.task_id.value === v.taskId && e.update.status.state === state).length;
    const runningBefore = updatesOf('TASK_RUNNING');

    m.agents[v.agent]!.partition();
    await waitFor('the scheduler to log the task unreachable', () => new RegExp(`TaskManager task ${v.taskId} is unreachable`).test(s.process.out.stderr), 60_000);
    expect(updatesOf('TASK_UNREACHABLE')).toBeGreaterThan(0);
    // Mesos cannot say whether the TaskManager lives; it still heartbeats to the ResourceManager, so
    // the job keeps running on it: checkpoints complete while the agent is cut off.
    await waitForCheckpoints(s, jobId, (await completedCheckpoints(s, jobId)) + 3);
    expect(isRunning(v.tmPid)).toBe(true);
    expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2']);
    expect(m.calls({ api: 'scheduler', type: 'KILL' })).toEqual([]);
    expect(s.process.out.stderr).not.toMatch(new RegExp(`TaskManager task ${v.taskId} ended`));

    m.agents[v.agent]!.heal();
    // The scheduler keeps asking Mesos about an unreachable task; once healed, the answer is RUNNING.
    await m.waitFor('a reconciliation answer RUNNING for the healed task', () => updatesOf('TASK_RUNNING') > runningBefore, 90_000);
    const reconciles = m.calls({ api: 'scheduler', type: 'RECONCILE' }).map((c) => (c.call as SchedulerCall).reconcile?.tasks?.map((t) => t.task_id.value) ?? []);
    expect(reconciles.some((ids) => ids.includes(v.taskId))).toBe(true);
    const lastStatus = m.task(v.taskId)!.statuses.at(-1)!;
    expect({ state: lastStatus.state, reason: lastStatus.reason }).toEqual({ state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION' });
    expect(m.task(v.taskId)!.state).toBe('TASK_RUNNING');
    expect(taskManagerPids(m).get(v.executorId)).toBe(v.tmPid);

    await expectExactlyOnce(s, jobId, out, false);
    expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2']);
    await stopSession(m, s);
  }, 300_000);

  it('lost framework messages: http_sd lists only TaskManagers whose reports arrived, keeps the last known of a live one, drops an ended one, and fills in once messages flow', async () => {
    const m = await bed.start({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500, agentEnv: { SLUICE_EXECUTOR_REPORT_INTERVAL: '1secs' } });
    m.dropFrameworkMessages(true);
    const s = await startMesosSession(bed.procs, bed.home, `session-${++sessionCount}`, m);
    session = s;
    const out = mkdtempSync(join(bed.home, 'out-'));
    const jobId = await submitDetached(s, jobPath('exactly-once.ts'), ['-p', '2', '-D', `out=${out}`, '-D', `events=${EVENTS}`, '-D', `keys=${KEYS}`, '-D', `rate=${RATE}`, '-D', 'interval=200']);
    await waitForCheckpoints(s, jobId, 2);
    await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
    remember(m);
    const [first, second] = m.tasks().filter((t) => t.state === 'TASK_RUNNING').map((t) => t.taskId).sort();

    // Each executor reported (the agent took the MESSAGE), and none of it reached the scheduler.
    const running = m.tasks().filter((t) => t.state === 'TASK_RUNNING');
    await m.waitFor('a report from each executor', () => running.every((t) => executorCalls(m, 'MESSAGE', t.executorId!).some((c) => c.status === 202)));
    expect(m.events().filter((e) => e.type === 'MESSAGE')).toEqual([]);
    expect(await httpSdTaskIds(s)).toEqual([]);

    m.dropFrameworkMessages(false);
    await waitFor('http_sd to list both TaskManagers', async () => ((await httpSdTaskIds(s)).join() === [first, second].join() ? true : undefined), 60_000);

    // Lost again, and one TaskManager dies: the dead one leaves the list at once (its task ended), the
    // live one stays as last reported, its replacement is missing until a report of it arrives.
    m.dropFrameworkMessages(true);
    const victim = m.task(first!)!;
    process.kill(taskManagerPids(m).get(victim.executorId!)!, 'SIGKILL');
    await waitFor('the scheduler to see the TaskManager task end', () => new RegExp(`TaskManager task ${first} ended: TASK_FAILED`).test(s.process.out.stderr), 60_000);
    await m.waitFor('a replacement TaskManager task running', () => m.task('taskmanager-3')?.state === 'TASK_RUNNING', 90_000);
    remember(m);
    await m.waitFor('a report from the replacement', () => executorCalls(m, 'MESSAGE', m.task('taskmanager-3')!.executorId!).some((c) => c.status === 202));
    expect(await httpSdTaskIds(s)).toEqual([second]);

    m.dropFrameworkMessages(false);
    await waitFor('http_sd to list the survivor and the replacement', async () => ((await httpSdTaskIds(s)).join() === [second, 'taskmanager-3'].sort().join() ? true : undefined), 60_000);
    expect((await fetch(`${s.schedulerUrl}/healthz`)).status).toBe(200);

    await expectExactlyOnce(s, jobId, out, true);
    expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
    await stopSession(m, s);
  }, 300_000);

  it('executor authentication: the executor sends the agent\'s token as Bearer, its TaskManager does not inherit it, the job runs exactly once', async () => {
    const { m, s, jobId, out } = await runningJob(2, { executorAuthentication: true });
    const environ = (pid: number): Map<string, string> =>
      new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const [executorId, tmPid] of taskManagerPids(m)) {
      const executor = m.executors().find((e) => e.executorId === executorId)!;
      const token = environ(executor.pid!).get('MESOS_EXECUTOR_AUTHENTICATION_TOKEN');
      expect(token, `the agent gave executor ${executorId} a token`).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const tmEnv = environ(tmPid);
      expect(tmEnv.has('MESOS_EXECUTOR_AUTHENTICATION_TOKEN')).toBe(false);
      expect([...tmEnv.values()].some((value) => value.includes(token!))).toBe(false);
      // The agent records a call only once its token checked out (else 401, unrecorded): SUBSCRIBE and UPDATEs got through.
      expect(executorCalls(m, 'SUBSCRIBE', executorId).map((c) => c.status)).toEqual([200]);
      expect(executorCalls(m, 'UPDATE', executorId).map((c) => c.status)).toEqual([202, 202]);
    }
    await expectExactlyOnce(s, jobId, out, false);
    await stopSession(m, s);
  }, 300_000);
});
