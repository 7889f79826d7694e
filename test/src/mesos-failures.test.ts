/**
 * Failures of TaskManagers on the Mesos fake, end to end with real processes: `sluice
 * mesos-session` is the framework scheduler, the fake's agents run Sluice's executor, the
 * executors run TaskManager processes, and the exactly-once job (checkpoints every 200 ms, a
 * two-phase-commit file sink) runs on two of them. A TaskManager killed with SIGKILL, and an
 * executor killed with SIGKILL (its TaskManager goes with it): Mesos reports the task failed,
 * the ResourceManager gets a replacement launched as a new Mesos task, the job recovers from
 * its latest checkpoint, and its committed output equals a failure-free run's. Waits are for
 * states (a task state, a log line, a checkpoint count), never for time.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { startMesosSession, submitDetached, taskManagerPids, waitForCheckpoints, waitForJobEnd, type MesosSession, launchedTaskIds } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { isRunning } from './processes.js';

const EVENTS = 60_000;
const KEYS = 20;
/** Records a second: about 15 s of input, long enough for checkpoints before the failure and after it. */
const RATE = 4_000;

const bed = mesosTestBed('sluice-mesos-failures-');
let sessionCount = 0;

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

/** A session on three agents running the exactly-once job at parallelism 2 (two one-slot TaskManagers), with `checkpoints` completed. */
async function runningJob(checkpoints: number): Promise<{ m: MesosCluster; s: MesosSession; jobId: string; out: string }> {
  const m = await bed.start({ agents: [{}, {}, {}], allocationIntervalMs: 200, statusUpdateRetryMs: 500 });
  const s = await startMesosSession(bed.procs, bed.home, `session-${++sessionCount}`, m);
  bed.show(s);
  const out = mkdtempSync(join(bed.home, 'out-'));
  const jobId = await submitDetached(s, jobPath('exactly-once.ts'), ['-p', '2', '-D', `out=${out}`, '-D', `events=${EVENTS}`, '-D', `keys=${KEYS}`, '-D', `rate=${RATE}`, '-D', 'interval=200']);
  await waitForCheckpoints(s, jobId, checkpoints);
  await m.waitFor('two running TaskManager tasks', () => m.tasks().filter((t) => t.state === 'TASK_RUNNING').length === 2);
  bed.remember(m);
  return { m, s, jobId, out };
}

/** The job finished after a restart from a checkpoint, with exactly the failure-free output. */
async function expectRecoveredExactlyOnce(s: MesosSession, jobId: string, out: string): Promise<void> {
  const end = await waitForJobEnd(s, jobId);
  expect(end.result?.error?.message).toBeUndefined();
  expect(end.status).toBe('FINISHED');
  expect(s.process.out.stderr).toMatch(/job recovered: .* after restart 1, from checkpoint \d+/);
  const lines = committedLines(out).sort(order);
  const want = failureFreeLines(EVENTS, KEYS).sort(order);
  expect(lines.length).toBe(want.length);
  expect(lines).toEqual(want);
  // The entrypoint's /metrics counts the restart (the Dispatcher keeps an ended job's final figures).
  const metrics = await waitFor('the restart in the entrypoint\'s /metrics', async () => {
    const text = await (await fetch(`${s.restUrl}/metrics`)).text();
    return new RegExp(`^sluice_job_restarts_total\\{job_name="[^"]*",job_id="${jobId}"\\} 1$`, 'm').test(text) ? text : undefined;
  }, 30_000);
  expect(metrics).toMatch(/^sluice_entrypoint_leader 1$/m);
}

/**
 * After task `victim` failed: it was reported TASK_FAILED as `failure` says, and exactly one
 * replacement was launched (the caller saw two launches before the failure) and runs.
 */
async function expectReplaced(m: MesosCluster, victim: string, failure: { reason: string; source: string }): Promise<void> {
  const failed = await m.waitFor(`${victim} to be reported failed`, () => m.task(victim)?.statuses.find((st) => st.state === 'TASK_FAILED'), 60_000);
  expect({ reason: failed.reason, source: failed.source }).toEqual(failure);
  await m.waitFor('a replacement TaskManager task running', () => m.task('taskmanager-3')?.state === 'TASK_RUNNING', 90_000);
  bed.remember(m);
  expect(launchedTaskIds(m)).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
}

describe('TaskManager failures on the Mesos fake', () => {
  it('kill -9 of an executor\'s TaskManager: the task fails, a new Mesos task replaces it, the job recovers from its checkpoint exactly once', async () => {
    const { m, s, jobId, out } = await runningJob(2);
    const pids = taskManagerPids(m);
    const victimTask = m.tasks().find((t) => t.state === 'TASK_RUNNING')!;
    const victimPid = pids.get(victimTask.executorId!)!;
    expect(victimPid).toBeGreaterThan(0);
    expect(launchedTaskIds(m)).toHaveLength(2);
    process.kill(victimPid, 'SIGKILL');

    await expectReplaced(m, victimTask.taskId, { reason: 'REASON_COMMAND_EXECUTOR_FAILED', source: 'SOURCE_EXECUTOR' });
    expect(m.task(victimTask.taskId)!.statuses.find((st) => st.state === 'TASK_FAILED')!.message).toMatch(/killed by SIGKILL/);
    // The executor whose TaskManager died ends by itself once its terminal update is acknowledged.
    await m.waitFor('the failed task\'s executor to exit', () => m.executors().find((e) => e.executorId === victimTask.executorId)?.exit);
    expect(s.process.out.stderr).toMatch(new RegExp(`TaskManager task ${victimTask.taskId} ended: TASK_FAILED`));
    await expectRecoveredExactlyOnce(s, jobId, out);
    await bed.stopSession(m, s);
  }, 300_000);

  it('an executor crash (SIGKILL): TASK_FAILED with REASON_EXECUTOR_TERMINATED, its TaskManager ends too, a new Mesos task replaces it, the job recovers exactly once', async () => {
    const { m, s, jobId, out } = await runningJob(2);
    const victimTask = m.tasks().find((t) => t.state === 'TASK_RUNNING')!;
    const orphan = taskManagerPids(m).get(victimTask.executorId!)!;
    expect(launchedTaskIds(m)).toHaveLength(2);
    m.crashExecutor(victimTask.executorId!);

    await expectReplaced(m, victimTask.taskId, { reason: 'REASON_EXECUTOR_TERMINATED', source: 'SOURCE_AGENT' });
    expect(m.events().some((e) => e.type === 'FAILURE' && e.failure?.executor_id?.value === victimTask.executorId)).toBe(true);
    // The agent destroys what is left of the container when its executor is gone, as a cgroup kill does.
    await waitFor('the crashed executor\'s TaskManager to end', () => (isRunning(orphan) ? undefined : true), 60_000);
    await expectRecoveredExactlyOnce(s, jobId, out);
    await bed.stopSession(m, s);
  }, 300_000);
});
