/**
 * Failures of a cluster of processes, each with the exactly-once job (a checkpointed keyed job
 * with a two-phase-commit file sink) spread over two TaskManager processes: a TaskManager killed
 * with SIGKILL, one frozen with SIGSTOP past the heartbeat timeout and resumed, and the data
 * connection between two TaskManagers cut mid-exchange. Every run must commit exactly what a
 * failure-free run commits. Waits are for states (a checkpoint, a log line), never for time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import { capturingLogger, startMultiProcessCluster, type MultiProcessCluster, type MultiProcessClusterOptions, type SubmittedJob } from './multiprocess-harness.js';

const EVENTS = 120_000;
const KEYS = 20;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

async function cluster(options: Omit<MultiProcessClusterOptions, 'logger'>): Promise<{ cluster: MultiProcessCluster; log: string[] }> {
  const { logger, lines } = capturingLogger();
  const c = await startMultiProcessCluster({ ...options, logger });
  cleanups.push(() => c.close());
  return { cluster: c, log: lines };
}

/** Starts the exactly-once job at parallelism 2 (a keyed subtask in each of two slots) and waits for `checkpoints` completed checkpoints. */
async function startJob(c: MultiProcessCluster, checkpoints: number): Promise<{ job: SubmittedJob; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'sluice-mp-eo-'));
  cleanups.push(() => rmSync(out, { recursive: true, force: true }));
  const job = await c.submit(jobPath('exactly-once.ts'), { parallelism: 2, params: { out, events: String(EVENTS), keys: String(KEYS), rate: '12000', interval: '200' } });
  await waitFor(`${checkpoints} completed checkpoints`, async () => ((await job.checkpoints()).counts.completed >= checkpoints ? true : undefined), 60_000);
  return { job, out };
}

async function expectExactlyOnce(job: SubmittedJob, out: string): Promise<void> {
  const result = await job.result();
  expect(result.error?.message).toBeUndefined();
  expect(result.status).toBe('FINISHED');
  expect(result.restarts).toBeGreaterThanOrEqual(1);
  const lines = committedLines(out).sort(order);
  const want = failureFreeLines(EVENTS, KEYS).sort(order);
  expect(lines.length).toBe(want.length);
  expect(lines).toEqual(want);
}

/** The TaskManagers whose slots hold subtasks now. */
async function busyTaskManagers(c: MultiProcessCluster): Promise<string[]> {
  return (await c.taskManagers()).filter((t) => t.freeSlots < t.numberOfSlots).map((t) => t.resourceId);
}

function waitForLog(log: string[], re: RegExp, what: string): Promise<string> {
  return waitFor(what, () => log.find((l) => re.test(l)), 60_000);
}

describe('failures of a cluster of processes', () => {
  it('kill -9 of a TaskManager: a replacement is started and the job runs again from its latest checkpoint, exactly once', async () => {
    const { cluster: c, log } = await cluster({ taskManagers: 2, slotsPerTaskManager: 1, maxTaskManagers: 3, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 5_000 });
    const { job, out } = await startJob(c, 2);
    const [victim] = await busyTaskManagers(c);
    process.kill(c.pids().get(victim!)!, 'SIGKILL');
    const recovered = await waitForLog(log, /job recovered: .* from checkpoint \d+/, 'the job to recover');
    expect(recovered).toMatch(/after restart 1/);
    expect(log.some((l) => l.includes(`TaskManager process ${victim} was killed by SIGKILL`))).toBe(true);
    // The replacement the ResourceManager asked the driver for took the lost slot.
    const tms = await c.waitForTaskManagers(2);
    expect(tms.map((t) => t.resourceId)).not.toContain(victim);
    expect(await job.status()).toBe('RUNNING');
    await expectExactlyOnce(job, out);
  }, 180_000);

  it('a TaskManager frozen past the heartbeat timeout is failed over; resumed, it hears it was dropped, cancels its tasks and registers again', async () => {
    const { cluster: c, log } = await cluster({ taskManagers: 3, slotsPerTaskManager: 1, maxTaskManagers: 3, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2_000 });
    const { job, out } = await startJob(c, 1);
    const [victim] = await busyTaskManagers(c);
    const pid = c.pids().get(victim!)!;
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    cleanups.push(() => void (resumed || process.kill(pid, 'SIGCONT')));
    await waitForLog(log, /job recovered: .* from checkpoint \d+/, 'the job to recover on the spare TaskManager');
    expect(log.some((l) => l.includes('TaskManager disconnected') && l.includes(victim!))).toBe(true);
    process.kill(pid, 'SIGCONT');
    resumed = true;
    await c.waitForLine(new RegExp(`^${victim}: .*lost the JobMaster of job ${job.jobId} .*cancelling its tasks`));
    await c.waitForLine(new RegExp(`^${victim}: .*lost the ResourceManager .*registering again`));
    await waitFor('the frozen TaskManager to register again', async () => ((await c.taskManagers()).some((t) => t.resourceId === victim) ? true : undefined), 60_000);
    await expectExactlyOnce(job, out);
  }, 180_000);

  it('a data connection cut between two TaskManagers mid-exchange fails the job over, and it recovers exactly once', async () => {
    const { cluster: c, log } = await cluster({ taskManagers: 2, slotsPerTaskManager: 1, dataProxies: true });
    const { job, out } = await startJob(c, 2);
    const proxies = [...c.proxies.values()];
    await waitFor('a data connection through a proxy', () => (proxies.some((p) => p.open > 0) ? true : undefined));
    for (const p of proxies) p.cut();
    await waitForLog(log, /job recovered: .* from checkpoint \d+/, 'the job to recover');
    expect(log.some((l) => /restarting the job/.test(l) && /data connection/.test(l))).toBe(true);
    await expectExactlyOnce(job, out);
  }, 180_000);
});
