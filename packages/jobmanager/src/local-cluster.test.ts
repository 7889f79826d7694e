import { SluiceError, createLogger, silentLogger } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, type JobGraph, type JobMasterToken, type JobSubmission, type SlotAllocationAck, type SlotId } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
// The real TaskManager with a testing runner: the control plane end to end, without workers.
import { TaskManager } from '@sluice/runtime';
import { TestingTaskRunner, type TestingTask } from '@sluice/runtime/testing';
import { noSplits } from './jobmaster/deployment.js';
import { createLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';

const NODE_OF: Record<string, number> = { src: 1, sink: 2 };

function twoVertexJob(jobId: string, parallelism = 2): JobSubmission {
  const jobGraph: JobGraph = {
    jobName: `job ${jobId}`,
    vertices: [
      { id: 'src', name: 'Source', parallelism, maxParallelism: 128, operators: [{ nodeId: 1, name: 'Source', kind: 'source' }], isSource: true, isSink: false },
      { id: 'sink', name: 'Sink', parallelism, maxParallelism: 128, operators: [{ nodeId: 2, name: 'Sink', kind: 'sink' }], isSource: false, isSink: true },
    ],
    edges: [{ id: 'e1', sourceVertex: 'src', targetVertex: 'sink', sourceNodeId: 1, targetNodeId: 2, inputIndex: 0, partitioner: 'rebalance' }],
    config: { ...DEFAULT_JOB_CONFIG },
  };
  return { jobId, jobName: jobGraph.jobName, artifact: { entry: '/jobs/test.js', params: {} }, jobGraph };
}

function counts(task: TestingTask, n: number) {
  const nodeId = NODE_OF[task.tdd.vertexId] ?? 0;
  return [{ nodeId, name: task.tdd.vertexName, vertexId: task.tdd.vertexId, recordsIn: n, recordsOut: n }];
}

/** Runs, emits two records from each sink subtask, finishes. */
function finishing(task: TestingTask): void {
  task.running();
  if (task.tdd.vertexId === 'sink') task.emit('out', [`${task.tdd.subtaskIndex}-a`, `${task.tdd.subtaskIndex}-b`]);
  task.finish(counts(task, 10));
}

describe('local cluster', () => {
  let cluster: LocalCluster | undefined;
  let runners: TestingTaskRunner[] = [];
  let taskManagers: TaskManager[] = [];

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    runners = [];
    taskManagers = [];
  });

  async function start(behaviour: (t: TestingTask) => void, options: Partial<LocalClusterOptions> = {}): Promise<LocalCluster> {
    cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      logger: silentLogger,
      // The jobs here are graphs without a module behind them.
      splitProvider: noSplits,
      taskManagerFactory: async (ctx) => {
        const taskRunner = new TestingTaskRunner({ behaviour });
        runners.push(taskRunner);
        const tm = new TaskManager({ ...ctx, taskRunner, logger: silentLogger });
        taskManagers.push(tm);
        return tm;
      },
      ...options,
    });
    return cluster;
  }

  const allTasks = (): TestingTask[] => runners.flatMap((r) => r.tasks);

  it('runs a job of two vertices at parallelism 2 to FINISHED with collected records and summed counts', async () => {
    const c = await start(finishing);
    const handle = await c.submit(twoVertexJob('job-1'));
    const result = await handle.result();
    expect(result.status).toBe('FINISHED');
    expect(result.error).toBeUndefined();
    expect([...(result.collected.out ?? [])].sort()).toEqual(['0-a', '0-b', '1-a', '1-b']);
    expect(result.operators).toEqual([
      { nodeId: 1, name: 'Source', vertexId: 'src', recordsIn: 20, recordsOut: 20 },
      { nodeId: 2, name: 'Sink', vertexId: 'sink', recordsIn: 20, recordsOut: 20 },
    ]);
    expect(await handle.status()).toBe('FINISHED');
    // Subtask i of every vertex shares slot i; four distinct executions were deployed with attempt 0.
    const tdds = allTasks().map((t) => t.tdd);
    expect(new Set(tdds.map((t) => t.executionId)).size).toBe(4);
    for (const i of [0, 1]) expect(new Set(tdds.filter((t) => t.subtaskIndex === i).map((t) => t.allocationId)).size).toBe(1);
    const sink0 = tdds.find((t) => t.vertexId === 'sink' && t.subtaskIndex === 0)!;
    expect(sink0).toMatchObject({ attempt: 0, inputs: [{ edgeId: 'e1', inputIndex: 0, producerVertexId: 'src', producerParallelism: 2 }], outputs: [] });
    // Slots are released at the end (just after the result: wait for it rather than guess how long).
    await waitFor(async () => (await c.taskManagers()).every((t) => t.freeSlots === 2));
    expect((await c.taskManagers()).map((t) => t.freeSlots)).toEqual([2]);
  });

  it('hands each source subtask its splits from the SplitProvider', async () => {
    const c = await start(finishing, { splitProvider: async (_submission, vertexId, p) => Array.from({ length: p }, (_, i) => [`${vertexId}-split-${i}`]) });
    await (await c.submit(twoVertexJob('job-splits'))).result();
    const src = allTasks().filter((t) => t.tdd.vertexId === 'src').map((t) => [t.tdd.subtaskIndex, t.tdd.splits]);
    expect(src.sort()).toEqual([[0, ['src-split-0']], [1, ['src-split-1']]]);
    expect(allTasks().filter((t) => t.tdd.vertexId === 'sink').every((t) => t.tdd.splits.length === 0)).toBe(true);
  });

  it('fails the job with the task error and cancels the other tasks', async () => {
    const c = await start((t) => {
      t.running();
      if (t.tdd.vertexId === 'sink' && t.tdd.subtaskIndex === 1) t.fail(new SluiceError('USER_FUNCTION', 'boom in sink 1'));
    });
    const result = await (await c.submit(twoVertexJob('job-fail'))).result();
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatchObject({ code: 'USER_FUNCTION', message: 'boom in sink 1' });
    const others = allTasks().filter((t) => !(t.tdd.vertexId === 'sink' && t.tdd.subtaskIndex === 1));
    expect(others).toHaveLength(3);
    expect(others.every((t) => t.status === 'canceled')).toBe(true);
  });

  it('cancels a running job', async () => {
    const c = await start((t) => t.running());
    const handle = await c.submit(twoVertexJob('job-cancel'));
    await Promise.all(runners.map((r) => r.waitForTasks(4)));
    await waitFor(async () => (await handle.status()) === 'RUNNING');
    await handle.cancel();
    const result = await handle.result();
    expect(result.status).toBe('CANCELED');
    expect(allTasks().every((t) => t.status === 'canceled')).toBe(true);
  });

  it('gives up on tasks that ignore cancellation after the cancel timeout', async () => {
    const c = await start((t) => {
      t.ignoreCancel = true;
      t.running();
    }, { cancelTimeoutMs: 50 });
    const handle = await c.submit(twoVertexJob('job-hang'));
    await Promise.all(runners.map((r) => r.waitForTasks(4)));
    await handle.cancel();
    expect(await handle.status()).toBe('CANCELLING');
    expect((await handle.result()).status).toBe('CANCELED');
    expect(allTasks().every((t) => t.cancelRequested)).toBe(true);
  });

  it('fails the job clearly when a TaskManager dies', async () => {
    const c = await start((t) => t.running(), { taskManagers: 2, slotsPerTaskManager: 1 });
    const handle = await c.submit(twoVertexJob('job-tm-lost'));
    await waitFor(() => allTasks().length === 4 && allTasks().every((t) => t.status === 'running'));
    const victim = taskManagers[1]!;
    await victim.stop();
    const result = await handle.result();
    expect(result.status).toBe('FAILED');
    expect(result.error?.code).toBe('TASK_MANAGER_LOST');
    expect(result.error?.message).toContain(`TaskManager '${victim.resourceId}' was lost (TaskManager stopped)`);
    expect(allTasks().every((t) => t.terminal)).toBe(true);
  });

  it('allocates each slot of a wide job once, with no slot request failing', async () => {
    // Parallelism 8 in one TaskManager: slot reports queued behind each other reach the
    // ResourceManager after the acknowledgements of later slot requests.
    const lines: string[] = [];
    const logger = createLogger('warn', 'sluice', (l) => lines.push(l));
    const requests: string[] = [];
    class CountingTaskManager extends TaskManager {
      override requestSlot(rmId: string, slotId: SlotId, jobMaster: JobMasterToken, allocationId: string, jobMasterAddress: string): Promise<SlotAllocationAck> {
        requests.push(`${slotId.slotIndex} ${jobMaster.jobId}`);
        return super.requestSlot(rmId, slotId, jobMaster, allocationId, jobMasterAddress);
      }
    }
    cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 8,
      logger,
      splitProvider: noSplits,
      taskManagerFactory: async (ctx) => {
        const taskRunner = new TestingTaskRunner({ behaviour: finishing });
        runners.push(taskRunner);
        return new CountingTaskManager({ ...ctx, taskRunner, logger });
      },
    });
    const result = await (await cluster.submit(twoVertexJob('job-wide', 8))).result();
    expect(result.status).toBe('FINISHED');
    expect(requests.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `${i} job-wide`));
    expect(lines).toEqual([]);
  });

  it('starts TaskManagers on demand when slots are short', async () => {
    const c = await start(finishing, { taskManagers: 1, slotsPerTaskManager: 1 });
    const result = await (await c.submit(twoVertexJob('job-elastic'))).result();
    expect(result.status).toBe('FINISHED');
    expect(await c.taskManagers()).toHaveLength(2);
  });

  // Two clusters: with one short slot request timeout for both jobs, a busy machine could let it
  // expire before the cancel, and the waiting job would end FAILED instead of CANCELED.
  it('cancels a job still waiting for slots', async () => {
    const c = await start(finishing, { taskManagers: 1, slotsPerTaskManager: 1, maxTaskManagers: 1 });
    const waiting = await c.submit(twoVertexJob('job-waiting'));
    await waitFor(async () => (await c.taskManagers())[0]?.freeSlots === 0);
    await waiting.cancel();
    expect((await waiting.result()).status).toBe('CANCELED');
    await waitFor(async () => (await c.taskManagers())[0]?.freeSlots === 1);
    expect(allTasks()).toEqual([]);
  });

  it('fails a job whose slots never come', async () => {
    const c = await start(finishing, { taskManagers: 1, slotsPerTaskManager: 1, maxTaskManagers: 1, slotRequestTimeoutMs: 100 });
    const starved = await (await c.submit(twoVertexJob('job-starved'))).result();
    expect(starved.status).toBe('FAILED');
    expect(starved.error).toMatchObject({ code: 'SLOT_REQUEST_TIMEOUT', message: expect.stringContaining('got only 1 of the 2 slots') });
    expect(allTasks()).toEqual([]);
  });

  it('runs jobs submitted one after another and side by side', async () => {
    const c = await start(finishing, { slotsPerTaskManager: 2 });
    expect((await (await c.submit(twoVertexJob('first'))).result()).status).toBe('FINISHED');
    expect((await (await c.submit(twoVertexJob('second'))).result()).status).toBe('FINISHED');
    const [a, b] = await Promise.all([c.submit(twoVertexJob('third')), c.submit(twoVertexJob('fourth'))]);
    expect((await Promise.all([a.result(), b.result()])).map((r) => r.status)).toEqual(['FINISHED', 'FINISHED']);
    expect((await c.dispatcher.listJobs()).map((j) => [j.jobId, j.status])).toEqual([
      ['first', 'FINISHED'],
      ['second', 'FINISHED'],
      ['third', 'FINISHED'],
      ['fourth', 'FINISHED'],
    ]);
    await expect(c.submit(twoVertexJob('first'))).rejects.toThrow(/already submitted/);
  });

  it('rejects bad submissions and unknown jobs with clear errors', async () => {
    const c = await start(finishing);
    const bad = { ...twoVertexJob('bad'), extra: 1 } as JobSubmission;
    await expect(c.submit(bad)).rejects.toThrow(/unknown field\(s\) 'extra'/);
    const empty = twoVertexJob('empty');
    empty.jobGraph.vertices = [];
    empty.jobGraph.edges = [];
    await expect(c.submit(empty)).rejects.toThrow(/vertices must be a non-empty array/);
    await expect(c.dispatcher.cancelJob('nope')).rejects.toThrow(/no job with id 'nope'/);
    await expect(c.dispatcher.requestJobResult('nope')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('reports each job\'s metrics from its JobMaster, restarts included, and keeps them after the job ends', async () => {
    const c = await start((t) => {
      if (t.tdd.attempt > 0) return finishing(t);
      t.running();
      if (t.tdd.vertexId === 'sink' && t.tdd.subtaskIndex === 1) t.fail(new SluiceError('USER_FUNCTION', 'boom in attempt 0'));
    });
    expect(c.jobMetricsSnapshot()).toEqual([]);
    const submission = twoVertexJob('job-metrics');
    submission.jobGraph.config = { ...submission.jobGraph.config, restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 0 } };
    const before = Date.now();
    const result = await (await c.submit(submission)).result();
    expect(result.status).toBe('FINISHED');
    expect(result.restarts).toBe(1);
    const [m, ...more] = c.jobMetricsSnapshot();
    expect(more).toEqual([]);
    expect(m).toMatchObject({
      jobId: 'job-metrics',
      jobName: 'job job-metrics',
      status: 'FINISHED',
      restarts: 1,
      checkpoints: { completed: 0, failed: 0, inProgress: 0, lastCompletedId: 0 },
    });
    // Wall-clock times (the JobMaster's clock; a little slack for its drift from Date.now()):
    // the job became RUNNING again at the restart, then ended.
    expect(m!.runningSince).toBeGreaterThan(before - 1000);
    expect(m!.endTime).toBeGreaterThanOrEqual(m!.runningSince!);
    expect(m!.endTime).toBeLessThan(Date.now() + 1000);
  });

  it('fails the job at once, whatever its restart strategy, when a subtask finds restored state the job would misread', async () => {
    const c = await start((t) => {
      t.running();
      if (t.tdd.vertexId === 'sink' && t.tdd.subtaskIndex === 0) t.fail(new SluiceError('STATE_INCOMPATIBLE', "state 'count' is value state in the checkpoint"));
      else if (t.tdd.vertexId !== 'sink') t.finish(counts(t, 1));
    });
    const submission = twoVertexJob('incompatible');
    submission.jobGraph.config = { ...submission.jobGraph.config, restartStrategy: { type: 'fixed-delay', attempts: 5, delayMs: 0 } };
    const result = await (await c.submit(submission)).result();
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatchObject({ code: 'STATE_INCOMPATIBLE', message: "state 'count' is value state in the checkpoint" });
    expect(result.restarts).toBeUndefined();
    expect(new Set(allTasks().map((t) => t.tdd.attempt))).toEqual(new Set([0]));
  });

  it('checks the state shapes a submitted job graph declares', async () => {
    const c = await start(finishing);
    const bad = twoVertexJob('bad-states');
    bad.jobGraph.vertices[0]!.operators[0]!.states = [{ name: 'splits', kind: '' }, { name: 'x' } as never];
    await expect(c.submit(bad)).rejects.toThrow(/operators\[0\]\.states\[0\]\.kind must be a non-empty string[\s\S]*operators\[0\]\.states\[1\]\.kind is missing/);
  });

  it('leaves no timers behind after close()', async () => {
    const tracker = new TimerTracker();
    const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = activeTimers();
    tracker.install();
    try {
      const c = await start((t) => t.running());
      const handle = await c.submit(twoVertexJob('job-close'));
      await waitFor(() => allTasks().length === 4);
      await c.close();
      expect((await handle.result()).status).toBe('CANCELED');
      cluster = undefined;
    } finally {
      tracker.uninstall();
    }
    expect(tracker.live()).toEqual([]);
    expect(activeTimers()).toBeLessThanOrEqual(baseline);
  });
});

/** Polls `cond`; the bound is generous, so that only a hang fails it on a busy machine. */
async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Counts timers created while installed that are neither fired (timeouts) nor cleared. */
class TimerTracker {
  private readonly pending = new Map<unknown, string>();
  private originals: { st: typeof setTimeout; si: typeof setInterval; ct: typeof clearTimeout; ci: typeof clearInterval } | undefined;

  install(): void {
    const o = { st: globalThis.setTimeout, si: globalThis.setInterval, ct: globalThis.clearTimeout, ci: globalThis.clearInterval };
    this.originals = o;
    const pending = this.pending;
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle: unknown = o.st((...a: unknown[]) => {
        pending.delete(handle);
        fn(...a);
      }, ms, ...args);
      pending.set(handle, `setTimeout(${ms})`);
      return handle;
    }) as typeof setTimeout;
    globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle = o.si(fn, ms, ...args);
      pending.set(handle, `setInterval(${ms})`);
      return handle;
    }) as typeof setInterval;
    globalThis.clearTimeout = ((h: Parameters<typeof clearTimeout>[0]) => {
      pending.delete(h);
      o.ct(h);
    }) as typeof clearTimeout;
    globalThis.clearInterval = ((h: Parameters<typeof clearInterval>[0]) => {
      pending.delete(h);
      o.ci(h);
    }) as typeof clearInterval;
  }

  uninstall(): void {
    if (this.originals === undefined) return;
    globalThis.setTimeout = this.originals.st;
    globalThis.setInterval = this.originals.si;
    globalThis.clearTimeout = this.originals.ct;
    globalThis.clearInterval = this.originals.ci;
  }

  live(): string[] {
    return [...this.pending.values()];
  }
}
