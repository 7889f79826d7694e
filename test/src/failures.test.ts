/**
 * How jobs end when things go wrong, in-process on real worker threads: a throwing user function
 * fails the job with an error that locates the fault, cancellation stops an endless job, and a
 * user function that never returns is terminated. After each, no worker thread may remain.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Source, SourceSplit } from '@sluice/api';
import { compileJob } from '@sluice/cli';
import { createLogger, randomId, type Logger } from '@sluice/common';
import { createLocalCluster, startEmbeddedCluster, type JobHandle } from '@sluice/jobmanager';
import type { JobArtifact, JobResult } from '@sluice/protocol';
import { LocalShuffleService, PiscinaTaskRunner, TaskManager, loadJob } from '@sluice/runtime';
import { jobPath, runJob } from './harness.js';
import { scrape, sum } from './prometheus.js';
import { settleThreads, threadCount, threadHandles, waitFor } from './leaks.js';

// Worker threads of a closed pool exit asynchronously, so the count is polled until it is back.
// No slack: one leaked (or still spinning) worker is exactly one thread. The libuv pool is already
// up by the time beforeAll runs (vitest has done file I/O), so it does not move the baseline.
const THREAD_SLACK = 0;

let baselineThreads = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  baselineThreads = threadCount();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function expectNoLeakedThreads(): Promise<void> {
  // runEmbedded / close() can resolve a few ms before Node has released the last MessagePort
  // handles of the destroyed pool; give them a moment, but they must all go.
  const deadline = Date.now() + 2_000;
  while (threadHandles().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(threadHandles()).toEqual([]);
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
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, workerThreads: 8, metricsPort: 0 });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await embedded.close();
    });
    const { handle } = await embedded.submit(await artifact('unbounded-keyed.ts', { output: 'collect' }, 2));
    await waitFor('the job to run', async () => ((await handle.status()) === 'RUNNING' ? true : undefined));
    // Its subtasks (2 source, 2 keyed) run on worker threads of this process.
    await waitFor('worker threads to start', () => (threadCount() >= baselineThreads + 4 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await handle.status()).toBe('RUNNING');
    // It is doing work, not waiting: the keyed function has taken many records by now.
    const before = await scrape(embedded.metricsUrls()[0]!);
    expect(sum(before, 'sluice_operator_records_in_total', { operator: 'count per key' })).toBeGreaterThan(10_000);

    const t0 = Date.now();
    await handle.cancel();
    const r = await resultWithin(handle, 5_000);
    expect(r.status).toBe('CANCELED');
    expect(r.error).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(5_000);

    await embedded.close();
    closed = true;
    await expectNoLeakedThreads();
  });
});

describe('a user function stuck in an endless loop', () => {
  /**
   * startEmbeddedCluster (and runEmbedded) do not expose PiscinaTaskRunnerOptions.cancelTimeoutMs,
   * so a stuck subtask would only be killed after the default 10 s. This builds the same embedded
   * cluster from its public parts with a 1 s runner cancel timeout, and leaves the JobMaster's own
   * cancel timeout at its default (10 s): a CANCELED result well before that can only come from
   * the runner terminating the spinning thread.
   */
  async function startClusterWithCancelTimeout(cancelTimeoutMs: number, logger: Logger) {
    const shuffle = new LocalShuffleService();
    const cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      logger,
      splitProvider: async (submission, vertexId, parallelism) => {
        const job = await loadJob(submission.artifact);
        const perSubtask: unknown[][] = Array.from({ length: parallelism }, () => []);
        const head = job.jobGraph.vertices.find((v) => v.id === vertexId)?.operators[0];
        const spec = head === undefined ? undefined : job.streamGraph.getNode(head.nodeId).spec;
        if (spec?.kind !== 'source') return perSubtask;
        const source = spec.source as Source<unknown, SourceSplit>;
        const splits = await source.enumerateSplits({ parallelism, params: submission.artifact.params });
        splits.forEach((split, i) => perSubtask[source.assignSplit?.(split, i, parallelism) ?? i % parallelism]!.push(split));
        return perSubtask;
      },
      taskManagerFactory: async (ctx) => {
        const runner = new PiscinaTaskRunner({ shuffle, maxThreads: 8, cancelTimeoutMs, logger });
        const tm = new TaskManager({ ...ctx, taskRunner: runner, logger });
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
    const warnings: string[] = [];
    const logger = createLogger('warn', 'test', (line) => void warnings.push(line));
    const cluster = await startClusterWithCancelTimeout(1_000, logger);
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await cluster.close();
    });
    // Record 0 (key k0) makes one 'count per key' subtask spin forever, without checking any flag.
    const handle = await cluster.submit(await artifact('unbounded-keyed.ts', { output: 'collect', stuckAt: '0' }, 2));
    await waitFor('the job to run', async () => ((await handle.status()) === 'RUNNING' ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_000));

    const t0 = Date.now();
    await handle.cancel();
    const r = await resultWithin(handle, 8_000);
    const tookMs = Date.now() - t0;
    expect(r.status).toBe('CANCELED');
    expect(tookMs).toBeGreaterThanOrEqual(900); // it did wait for the cooperative stop first
    expect(tookMs).toBeLessThan(5_000); // and did not wait for the JobMaster's 10 s give-up
    expect(warnings.filter((w) => w.includes('subtask did not stop after cancel; terminating its worker thread'))).toEqual([
      expect.stringContaining('task=count per key -> Sink: Collect(milestones)'),
    ]);
    expect(warnings.join('\n')).not.toContain('gave up waiting');

    await cluster.close();
    closed = true;
    await expectNoLeakedThreads();
  });
});
