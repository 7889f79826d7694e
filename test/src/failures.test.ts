/**
 * How jobs end when things go wrong, in-process on real worker threads: a throwing user function
 * fails the job with an error that locates the fault, cancellation stops an endless job, and a
 * user function that never returns is terminated. After each, no worker thread may remain.
 *
 * Nothing here is timed: each step waits for the state it needs (the job running, the loop
 * spinning), and how a job ended is read from what the engine logged and in which order.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadJob } from '@sluice/api';
import { compileJob } from '@sluice/cli';
import { createLogger, randomId, type Logger } from '@sluice/common';
import { createLocalCluster, type JobHandle } from '@sluice/jobmanager';
import { startEmbeddedCluster } from '@sluice/minicluster';
import type { JobArtifact, JobResult } from '@sluice/protocol';
import { LocalShuffleService, PiscinaTaskRunner, TaskManager, type TaskListener, type TaskRunner } from '@sluice/runtime';
import { jobPath, runJob } from './harness.js';
import { scrape, sumIfPresent } from './prometheus.js';
import { settleThreadHandles, settleThreads, threadCount, waitFor } from './leaks.js';

// Worker threads of a closed pool exit asynchronously, so the count is polled until it is back.
// No slack: one leaked (or still spinning) worker is exactly one thread. The libuv pool is already
// up by the time beforeAll runs (vitest has done file I/O), so it does not move the baseline.
const THREAD_SLACK = 0;
/** A job still running this long after its cancel is hung; only a hang may fail the wait. */
const JOB_END_TIMEOUT_MS = 30_000;
const TERMINATING = 'subtask did not stop after cancel; terminating its worker thread';
const GAVE_UP = 'gave up waiting';

let baselineThreads = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  baselineThreads = threadCount();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function expectNoLeakedThreads(): Promise<void> {
  // runEmbedded / close() can resolve before Node has released the last MessagePort handles of
  // the destroyed pool, and threads exit asynchronously: wait for them, but they must all go.
  expect(await settleThreadHandles()).toEqual([]);
  expect(await settleThreads(baselineThreads + THREAD_SLACK)).toBeLessThanOrEqual(baselineThreads + THREAD_SLACK);
}

async function artifact(file: string, params: Record<string, string>, parallelism: number): Promise<JobArtifact> {
  return { entry: await compileJob(jobPath(file)), params, parallelism };
}

/** Resolves with the job's result, or rejects after `ms` — a hang must fail the test, not time it out. */
function resultWithin(handle: JobHandle, ms: number): Promise<JobResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job ${handle.jobId} did not end within ${ms} ms`)), ms);
  });
  return Promise.race([handle.result(), timeout]).finally(() => clearTimeout(timer));
}

describe('a user function that throws', () => {
  it('fails the job with a USER_FUNCTION error naming the operator, the subtask and the record', async () => {
    const r = await runJob('failing.ts', { parallelism: 2 });
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('USER_FUNCTION');
    expect(r.error?.name).toBe('UserFunctionError');
    // failAt 5000 is record {seq: 5000, card: 'card-' + 5000 % 97}; the rebalance decides the subtask.
    expect(r.error?.message).toMatch(
      /^operator 'score' \(subtask [01]\) threw while processing record \{"seq":5000,"card":"card-53"\}: cannot score card card-53$/,
    );
    const subtask = Number(/\(subtask (\d)\)/.exec(r.error!.message)![1]);
    expect(r.error?.details).toEqual({ operator: 'score', subtask, record: '{"seq":5000,"card":"card-53"}' });
    expect(r.collected.never ?? []).toEqual([]);
    await expectNoLeakedThreads();
  });

  it('quotes a long record truncated, with how much was left out', async () => {
    const r = await runJob('failing-wide-record.ts', { parallelism: 1 });
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('USER_FUNCTION');
    const full = JSON.stringify({ seq: 10, payload: 'y'.repeat(5000) });
    expect(r.error?.message).toBe(
      `operator 'parse' (subtask 0) threw while processing record ${full.slice(0, 200)}…(${full.length - 200} more chars): payload of record 10 is not a valid document`,
    );
    await expectNoLeakedThreads();
  });
});

describe('cancellation', () => {
  it('cancels an endless keyed job through its JobHandle and leaves no thread behind', async () => {
    const warnings: string[] = [];
    const logger = createLogger('warn', 'test', (line) => void warnings.push(line));
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, workerThreads: 8, metricsPort: 0, logger });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await embedded.close();
    });
    const { handle } = await embedded.submit(await artifact('unbounded-keyed.ts', { output: 'collect' }, 2));
    await waitFor('the job to run', async () => ((await handle.status()) === 'RUNNING' ? true : undefined));
    // Its subtasks (2 source, 2 keyed) run on worker threads of this process.
    await waitFor('worker threads to start', () => (threadCount() >= baselineThreads + 4 ? true : undefined));
    // It is doing work, not waiting: the keyed function takes many records.
    await waitFor('the keyed function to take 10,000 records', async () => {
      const taken = sumIfPresent(await scrape(embedded.metricsUrls()[0]!), 'sluice_operator_records_in_total', { operator: 'count per key' });
      return taken !== undefined && taken > 10_000 ? taken : undefined;
    });
    expect(await handle.status()).toBe('RUNNING');

    await handle.cancel();
    const r = await resultWithin(handle, JOB_END_TIMEOUT_MS);
    expect(r.status).toBe('CANCELED');
    expect(r.error).toBeUndefined();
    // Every subtask stopped on its own when asked: none had its thread terminated by the runner
    // (it would after its 5 s cancel timeout) and the JobMaster gave up on none (10 s).
    expect(warnings.filter((w) => w.includes(TERMINATING) || w.includes(GAVE_UP))).toEqual([]);

    await embedded.close();
    closed = true;
    await expectNoLeakedThreads();
  });
});

describe('a user function stuck in an endless loop', () => {
  /** The runner's cancel timeout: how long the subtasks get to stop cooperatively before the kill. */
  const RUNNER_CANCEL_TIMEOUT_MS = 3_000;
  /** The JobMaster's: far beyond the test's own bound, so only the runner can end the job in time. */
  const JOB_MASTER_CANCEL_TIMEOUT_MS = 120_000;

  /**
   * The same embedded cluster as startEmbeddedCluster, built from its public parts so that the
   * test chooses both cancel timeouts and sees, in `events`, when each subtask ended, in one
   * sequence with the log lines.
   */
  async function startCluster(logger: Logger, events: string[]) {
    const shuffle = new LocalShuffleService();
    const cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      cancelTimeoutMs: JOB_MASTER_CANCEL_TIMEOUT_MS,
      logger,
      taskManagerFactory: async (ctx) => {
        const runner = new PiscinaTaskRunner({ shuffle, maxThreads: 8, cancelTimeoutMs: RUNNER_CANCEL_TIMEOUT_MS, logger });
        const tm = new TaskManager({ ...ctx, taskRunner: recordingEnds(runner, events), logger });
        return { start: () => tm.start(), stop: () => tm.stop() };
      },
    });
    return {
      async submit(a: JobArtifact): Promise<JobHandle> {
        const job = await loadJob(a);
        const jobId = randomId();
        const handle = await cluster.submit({ jobId, jobName: job.jobGraph.jobName, artifact: a, jobGraph: job.jobGraph });
        void handle.result().finally(() => shuffle.releaseJob(jobId, 0));
        return handle;
      },
      close: () => cluster.close(),
    };
  }

  it('is terminated by the task runner after its cancel timeout, and the job ends CANCELED', async () => {
    const events: string[] = [];
    const logger = createLogger('warn', 'test', (line) => void events.push(line));
    const cluster = await startCluster(logger, events);
    const scratch = mkdtempSync(join(tmpdir(), 'sluice-stuck-'));
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await cluster.close();
      rmSync(scratch, { recursive: true, force: true });
    });
    // Record 0 (key k0) makes one 'count per key' subtask spin forever, without checking any flag;
    // it creates the marker file just before.
    const marker = join(scratch, 'spinning');
    const handle = await cluster.submit(await artifact('unbounded-keyed.ts', { output: 'collect', stuckAt: '0', stuckMarker: marker }, 2));
    await waitFor('the job to run', async () => ((await handle.status()) === 'RUNNING' ? true : undefined));
    // The cancel must find the loop running; one that comes before it is simply cooperative.
    await waitFor('the user function to start spinning', () => (existsSync(marker) ? true : undefined));

    events.push('cancel');
    await handle.cancel();
    const r = await resultWithin(handle, JOB_END_TIMEOUT_MS);
    expect(r.status).toBe('CANCELED');

    // Exactly the spinning subtask was terminated; the JobMaster gave up on none (so the runner
    // ended the job, not the JobMaster's timeout).
    const kills = events.filter((e) => e.includes(TERMINATING));
    expect(kills).toEqual([expect.stringContaining('task=count per key -> Sink: Collect(milestones)')]);
    expect(events.join('\n')).not.toContain(GAVE_UP);
    // In this order: the cancel; every other subtask stopping cooperatively; only then the
    // runner terminating the spinning one (it waited for the cooperative stop first); and that
    // one ending last.
    const stuck = `ended count per key -> Sink: Collect(milestones)#${/subtask=(\d+)/.exec(kills[0]!)![1]}`;
    const ends = events.filter((e) => e.startsWith('ended '));
    expect([...ends].sort()).toEqual(['ended Source: ticks#0', 'ended Source: ticks#1', 'ended count per key -> Sink: Collect(milestones)#0', 'ended count per key -> Sink: Collect(milestones)#1']);
    expect(events.filter((e) => e === 'cancel' || e.startsWith('ended ') || e.includes(TERMINATING))).toEqual([
      'cancel',
      ...ends.filter((e) => e !== stuck),
      kills[0],
      stuck,
    ]);

    await cluster.close();
    closed = true;
    await expectNoLeakedThreads();
  });
});

/** The runner, noting in `events` when each subtask reports its end (however it ended). */
function recordingEnds(runner: TaskRunner, events: string[]): TaskRunner {
  return {
    start(tdd, listener) {
      const ended = (): void => void events.push(`ended ${tdd.vertexName}#${tdd.subtaskIndex}`);
      const recording: TaskListener = {
        onRunning: () => listener.onRunning(),
        onCollected: (sinkName, records) => listener.onCollected(sinkName, records),
        onFinished: (operators) => (ended(), listener.onFinished(operators)),
        onFailed: (error, operators) => (ended(), listener.onFailed(error, operators)),
        onCanceled: (operators) => (ended(), listener.onCanceled(operators)),
        onCheckpointAck: (id, operators, stats) => listener.onCheckpointAck(id, operators, stats),
        onCheckpointDecline: (id, error) => listener.onCheckpointDecline(id, error),
      };
      return runner.start(tdd, recording);
    },
    metrics: () => runner.metrics(),
    close: () => runner.close(),
  };
}
