/**
 * `sluice mesos-job` (per-job mode) end to end on the Mesos fake: the real CLI process registers
 * a framework of its own, the fake's agents start Sluice's executor as real processes, the
 * executors start real TaskManagers, and the job runs on them. Whatever way the job ends —
 * finished, failed, or cancelled with Ctrl-C — the command exits with its outcome only after
 * the framework was torn down, and leaves no process behind.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SchedulerCall } from '@sluice/mesos-proto';
import { until, type Outcome, type Started } from './cli-process.js';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { SMALL_TASKMANAGER } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { childrenOf, isRunning } from './processes.js';

const bed = mesosTestBed('sluice-mesos-job-');

// Ports apart from the other Mesos tests', so runs of them from other checkouts on this machine do not collide.
const AGENT = { resources: 'cpus:2;mem:2048;disk:1000;ports:[30100-30199]' };
const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

/** What one per-job run put where: its framework, and the processes it made (JobMaster, TaskManagers). */
interface Observed {
  frameworkId: string;
  frameworkName: string;
  pids: number[];
}

/**
 * Waits until `tasks` TaskManagers run for the job's framework; then the framework, its JobMaster
 * process (a child of the CLI) and its TaskManager processes (children of the executors) exist.
 */
async function observeRunning(cluster: MesosCluster, run: Started, tasks: number): Promise<Observed> {
  return cluster.waitFor(`${tasks} TaskManagers running`, () => {
    if (run.child.exitCode !== null) throw new Error(`sluice mesos-job exited early:\n${run.out.stderr.slice(-4000)}`);
    const framework = cluster.frameworks()[0];
    if (framework === undefined || cluster.tasks(framework.id).filter((t) => t.state === 'TASK_RUNNING').length < tasks) return undefined;
    const executors = cluster.executors().filter((e) => e.frameworkId === framework.id && e.pid !== undefined);
    // The agent runs the executor's command with /bin/sh -c, which may or may not exec it.
    const executorProcesses = executors.flatMap((e) => [e.pid!, ...childrenOf(e.pid!, 'executor-main.js')]);
    const taskManagers = executorProcesses.flatMap((pid) => childrenOf(pid, 'taskmanager-main.js'));
    const jobMasters = childrenOf(run.child.pid!, 'jobmaster-main.js');
    if (taskManagers.length < tasks || jobMasters.length !== 1) return undefined;
    return { frameworkId: framework.id, frameworkName: framework.info.name, pids: [...jobMasters, ...taskManagers, ...executorProcesses] };
  }, 180_000);
}

/** After the command exited: one TEARDOWN of its framework, every executor ended, no process of the run left, its directory gone. */
async function expectTornDown(cluster: MesosCluster, seen: Observed, outcome: Outcome): Promise<void> {
  const teardowns = cluster.calls({ api: 'scheduler', type: 'TEARDOWN' }).filter((c) => (c.call as SchedulerCall).framework_id?.value === seen.frameworkId);
  expect(teardowns.map((c) => c.status)).toEqual([202]);
  expect(cluster.frameworks().map((f) => f.id)).not.toContain(seen.frameworkId);
  await cluster.waitFor('every executor gone', () => cluster.executors().every((e) => e.exit !== undefined), 30_000);
  // The TaskManagers are the executors' children: they end before them or with their process group.
  expect(seen.pids.filter(isRunning)).toEqual([]);
  const dir = /Directory +(\S+) \(temporary; removed at the end\)/.exec(outcome.stderr)?.[1];
  expect(dir, outcome.stderr).toBeDefined();
  expect(existsSync(dir!)).toBe(false);
  const tokenFile = /REST API +http:\/\/\S+ \(token in (\S+)\)/.exec(outcome.stderr)?.[1];
  expect(tokenFile, outcome.stderr).toBeDefined();
  expect(existsSync(tokenFile!)).toBe(false);
}

function startJob(cluster: MesosCluster, job: string, args: string[]): Started {
  return bed.procs.start(['mesos-job', jobPath(job), '--master', cluster.masterAddress, ...SMALL_TASKMANAGER, ...args]);
}

describe('sluice mesos-job on the Mesos fake', () => {
  it('runs the exactly-once job on a framework of its own, exactly, then kills its TaskManagers, tears the framework down and exits 0', async () => {
    const mesos = await bed.start({ agents: [AGENT, AGENT, AGENT], allocationIntervalMs: 100 });
    const out = mkdtempSync(join(bed.home, 'out-'));
    const events = 30_000;
    const keys = 12;
    const run = startJob(mesos, 'exactly-once.ts', ['-p', '2', '-D', `out=${out}`, '-D', `events=${events}`, '-D', `keys=${keys}`, '-D', 'rate=20000']);
    const seen = await observeRunning(mesos, run, 2);
    expect(seen.frameworkName).toBe('Sluice job exactly-once');
    const outcome = await run.done;
    expect(outcome.code, outcome.stderr.slice(-4000)).toBe(0);
    expect(outcome.stdout).toMatch(/^Job 'exactly-once' FINISHED in /m);
    expect(committedLines(out).sort(order)).toEqual(failureFreeLines(events, keys).sort(order));
    expect(mesos.tasks(seen.frameworkId).map((t) => t.taskId).sort()).toEqual(['taskmanager-1', 'taskmanager-2']);
    await expectTornDown(mesos, seen, outcome);
  }, 300_000);

  it('exits 1 when the job fails, after tearing its framework down the same way', async () => {
    const mesos = await bed.start({ agents: [AGENT, AGENT], allocationIntervalMs: 100 });
    // Fails once both subtasks run and records flow; without a restart strategy the job fails for good.
    const run = startJob(mesos, 'failing.ts', ['-p', '2', '-D', 'failAt=200000', '--framework-name', 'scoring']);
    const seen = await observeRunning(mesos, run, 2);
    expect(seen.frameworkName).toBe('scoring');
    const outcome = await run.done;
    expect(outcome.code, outcome.stderr.slice(-4000)).toBe(1);
    expect(outcome.stderr).toMatch(/^sluice: error: job 'failing' failed after /m);
    expect(outcome.stderr).toContain('cannot score card card-');
    await expectTornDown(mesos, seen, outcome);
  }, 300_000);

  it('fails a job that cannot be built before anything registers with Mesos', async () => {
    const mesos = await bed.start({ agents: [AGENT], allocationIntervalMs: 100 });
    const outcome = await startJob(mesos, 'failing.ts', ['-D', 'where=build']).done;
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('the job refused to build: missing configuration "table"');
    expect(mesos.calls({ api: 'scheduler' })).toEqual([]);
  }, 120_000);

  it('with --cluster-dir, a run after a kill -9 of the previous one takes its framework and its unfinished job over, exactly once', async () => {
    const mesos = await bed.start({ agents: [AGENT, AGENT], allocationIntervalMs: 100 });
    const out = mkdtempSync(join(bed.home, 'out-'));
    const dir = join(bed.home, 'kept-cluster');
    const events = 60_000;
    const keys = 8;
    const args = ['-p', '2', '-D', `out=${out}`, '-D', `events=${events}`, '-D', `keys=${keys}`, '-D', 'rate=4000', '--cluster-dir', dir];
    const first = startJob(mesos, 'exactly-once.ts', args);
    const seen = await observeRunning(mesos, first, 2);
    await until('committed output', () => committedLines(out).length > 0, 120_000);
    first.child.kill('SIGKILL');
    await first.done;
    expect(committedLines(out).length).toBeLessThan(events);

    const second = startJob(mesos, 'exactly-once.ts', args);
    const outcome = await second.done;
    expect(outcome.code, outcome.stderr.slice(-4000)).toBe(0);
    expect(outcome.stderr).toMatch(/^Job 'exactly-once' \([0-9a-f]+\) was left unfinished in .* by an earlier run and resumes from its latest checkpoint/m);
    expect(committedLines(out).sort(order)).toEqual(failureFreeLines(events, keys).sort(order));
    // The same framework throughout, removed once, at the very end.
    expect(new Set(mesos.calls({ api: 'scheduler', type: 'SUBSCRIBE' }).map((c) => (c.call as SchedulerCall).subscribe?.framework_info.id?.value ?? 'new'))).toEqual(new Set(['new', seen.frameworkId]));
    expect(mesos.calls({ api: 'scheduler', type: 'TEARDOWN' }).map((c) => (c.call as SchedulerCall).framework_id?.value)).toEqual([seen.frameworkId]);
    await mesos.waitFor('every executor gone', () => mesos.executors().every((e) => e.exit !== undefined), 30_000);
    expect(seen.pids.filter(isRunning)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  }, 300_000);

  it('cancels the running job on Ctrl-C, then tears the framework down and exits 130', async () => {
    const mesos = await bed.start({ agents: [AGENT, AGENT], allocationIntervalMs: 100 });
    const out = mkdtempSync(join(bed.home, 'out-'));
    // Slow enough that it is still running when interrupted.
    const run = startJob(mesos, 'exactly-once.ts', ['-p', '2', '-D', `out=${out}`, '-D', 'events=10000000', '-D', 'rate=2000']);
    const seen = await observeRunning(mesos, run, 2);
    // Running for real: a checkpoint completed and its output was committed.
    await until('committed output', () => committedLines(out).length > 0, 120_000);
    run.child.kill('SIGINT');
    const outcome = await run.done;
    expect(outcome.code, outcome.stderr.slice(-4000)).toBe(130);
    expect(outcome.stderr).toContain('SIGINT received, cancelling the job');
    expect(outcome.stderr).toMatch(/^Job 'exactly-once' CANCELED after /m);
    await expectTornDown(mesos, seen, outcome);
  }, 300_000);
});
