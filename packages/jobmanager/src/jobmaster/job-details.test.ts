import { SluiceError, silentLogger } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, LocalRpcService, type JobDetails, type JobGraph, type JobSubmission, type JobVertexDetails, type RestartStrategyConfig } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
// The real TaskManager with a testing runner: the JobMaster's details end to end, without workers.
import { TaskManager } from '@sluice/runtime';
import { TestingTaskRunner, type TestingTask } from '@sluice/runtime/testing';
import { Dispatcher } from '../dispatcher/dispatcher.js';
import { createLocalCluster, type LocalCluster, type LocalClusterOptions } from '../local-cluster.js';
import { noSplits } from './deployment.js';

const SOURCE = 1;
const SINK = 2;

/** Source (node 1) → rebalance → Sink (node 2), both at `parallelism`. */
function twoVertexJob(jobId: string, parallelism = 2, restartStrategy: RestartStrategyConfig = { type: 'none' }): JobSubmission {
  const jobGraph: JobGraph = {
    jobName: `job ${jobId}`,
    vertices: [
      { id: 'src', name: 'Source', parallelism, maxParallelism: 128, operators: [{ nodeId: SOURCE, name: 'Source', kind: 'source' }], isSource: true, isSink: false },
      { id: 'sink', name: 'Sink', parallelism, maxParallelism: 128, operators: [{ nodeId: SINK, name: 'Sink', kind: 'sink' }], isSource: false, isSink: true },
    ],
    edges: [{ id: 'e1', sourceVertex: 'src', targetVertex: 'sink', sourceNodeId: SOURCE, targetNodeId: SINK, inputIndex: 0, partitioner: 'rebalance' }],
    config: { ...DEFAULT_JOB_CONFIG, restartStrategy },
  };
  return { jobId, jobName: jobGraph.jobName, artifact: { entry: '/jobs/test.js', params: {} }, jobGraph };
}

/** What a source subtask reading `n` records and a sink subtask writing `n` count (FLIP-33 ends). */
function ops(task: TestingTask, n: number): { nodeId: number; name: string; vertexId: string; recordsIn: number; recordsOut: number }[] {
  const source = task.tdd.vertexId === 'src';
  return [{ nodeId: source ? SOURCE : SINK, name: task.tdd.vertexName, vertexId: task.tdd.vertexId, recordsIn: source ? 0 : n, recordsOut: source ? n : 0 }];
}

function summary(d: JobDetails): Pick<JobVertexDetails, 'id' | 'subtasks' | 'recordsIn' | 'recordsOut'>[] {
  return d.vertices.map(({ id, subtasks, recordsIn, recordsOut }) => ({ id, subtasks, recordsIn, recordsOut }));
}

describe('job details', () => {
  let cluster: LocalCluster | undefined;
  let runners: TestingTaskRunner[] = [];

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    runners = [];
  });

  async function start(behaviour: (t: TestingTask) => void, options: Partial<LocalClusterOptions> = {}): Promise<LocalCluster> {
    cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      logger: silentLogger,
      splitProvider: noSplits,
      taskManagerFactory: async (ctx) => {
        const taskRunner = new TestingTaskRunner({ behaviour });
        runners.push(taskRunner);
        return new TaskManager({ ...ctx, taskRunner, logger: silentLogger });
      },
      ...options,
    });
    return cluster;
  }

  const tasks = (attempt = 0): TestingTask[] => runners.flatMap((r) => r.tasks).filter((t) => t.tdd.attempt === attempt);
  const details = (c: LocalCluster, jobId: string): Promise<JobDetails> => c.dispatcher.requestJobDetails(jobId);
  /** Asks until the details satisfy `cond` (live counts are pulled at most every half second). */
  const detailsWhen = async (c: LocalCluster, jobId: string, cond: (d: JobDetails) => boolean): Promise<JobDetails> => {
    let last: JobDetails | undefined;
    await waitFor(async () => cond((last = await details(c, jobId))), () => JSON.stringify(last));
    return last!;
  };

  it('shows each vertex waiting for slots', async () => {
    // One TaskManager of two slots, and no more, for a job that needs three.
    const c = await start(() => undefined, { maxTaskManagers: 1 });
    await c.submit(twoVertexJob('j-states', 3));
    const waiting = await detailsWhen(c, 'j-states', (d) => d.vertices[0]?.subtasks.SCHEDULED === 3);
    expect(waiting.vertices.map((v) => [v.id, v.name, v.parallelism, v.subtasks])).toEqual([
      ['src', 'Source', 3, { SCHEDULED: 3 }],
      ['sink', 'Sink', 3, { SCHEDULED: 3 }],
    ]);
    expect(waiting).toMatchObject({ exceptions: [], exceptionsDropped: 0 });
  });

  it('shows each vertex deploying, running and finished, with final counts once ended', async () => {
    const d = await start(() => undefined);
    await d.submit(twoVertexJob('j-life'));
    await runners[0]!.waitForTasks(4);
    expect(summary(await detailsWhen(d, 'j-life', (x) => x.vertices.every((v) => v.subtasks.DEPLOYING === 2)))).toEqual([
      { id: 'src', subtasks: { DEPLOYING: 2 }, recordsIn: 0, recordsOut: 0 },
      { id: 'sink', subtasks: { DEPLOYING: 2 }, recordsIn: 0, recordsOut: 0 },
    ]);
    tasks().find((t) => t.tdd.vertexId === 'src' && t.tdd.subtaskIndex === 0)!.running();
    const one = await detailsWhen(d, 'j-life', (x) => x.vertices[0]!.subtasks.RUNNING === 1);
    expect(one.vertices.map((v) => v.subtasks)).toEqual([{ DEPLOYING: 1, RUNNING: 1 }, { DEPLOYING: 2 }]);
    for (const t of tasks()) t.running();
    await detailsWhen(d, 'j-life', (x) => x.vertices.every((v) => v.subtasks.RUNNING === 2));
    for (const t of tasks()) t.finish(ops(t, 10 + t.tdd.subtaskIndex));
    expect((await d.dispatcher.requestJobResult('j-life')).status).toBe('FINISHED');
    // Ended: the Dispatcher answers with what the JobMaster said last, after that stopped serving.
    await waitFor(() => d.rpc.connect('jobmaster/j-life').then(() => false, () => true));
    expect(summary(await details(d, 'j-life'))).toEqual([
      { id: 'src', subtasks: { FINISHED: 2 }, recordsIn: 21, recordsOut: 21 },
      { id: 'sink', subtasks: { FINISHED: 2 }, recordsIn: 21, recordsOut: 21 },
    ]);
  });

  it("sums the running subtasks' live counts, which grow, and reports the highest backpressure", async () => {
    const c = await start((t) => t.running());
    await c.submit(twoVertexJob('j-counts'));
    await runners[0]!.waitForTasks(4);
    await detailsWhen(c, 'j-counts', (d) => d.vertices.every((v) => v.subtasks.RUNNING === 2));
    for (const t of tasks()) t.count(ops(t, 100), { busyMs: 600, backpressuredMs: t.tdd.vertexId === 'src' && t.tdd.subtaskIndex === 1 ? 400 : 0, idleMs: 0 });
    const first = await detailsWhen(c, 'j-counts', (d) => d.vertices[0]!.recordsIn === 200);
    expect(summary(first)).toEqual([
      { id: 'src', subtasks: { RUNNING: 2 }, recordsIn: 200, recordsOut: 200 },
      { id: 'sink', subtasks: { RUNNING: 2 }, recordsIn: 200, recordsOut: 200 },
    ]);
    expect(first.vertices.map((v) => v.backpressure)).toEqual([0.4, 0]);
    // Between the two readings the blocked source was held up 300 ms of 500: backpressure is recent, not lifelong.
    for (const t of tasks()) t.count(ops(t, 250), { busyMs: 700, backpressuredMs: t.tdd.vertexId === 'src' && t.tdd.subtaskIndex === 1 ? 700 : 0, idleMs: 100 });
    const later = await detailsWhen(c, 'j-counts', (d) => d.vertices[1]!.recordsOut === 500);
    expect(later.vertices.map((v) => [v.recordsIn, v.recordsOut])).toEqual([
      [500, 500],
      [500, 500],
    ]);
    expect(later.vertices[0]!.backpressure).toBeCloseTo(0.6);
  });

  it('records the failure that caused a restart, with its subtask and TaskManager, and counts only the new attempt', async () => {
    const c = await start((t) => {
      t.running();
      if (t.tdd.attempt === 0 && t.tdd.vertexId === 'sink' && t.tdd.subtaskIndex === 1) t.fail(new SluiceError('USER_FUNCTION', 'boom in attempt 0'), ops(t, 7));
    });
    const before = Date.now();
    await c.submit(twoVertexJob('j-restart', 2, { type: 'fixed-delay', attempts: 3, delayMs: 0 }));
    await runners[0]!.waitForTasks(8);
    const d = await detailsWhen(c, 'j-restart', (x) => x.vertices.every((v) => v.subtasks.RUNNING === 2));
    const [tm] = await c.taskManagers();
    expect(d.exceptions).toEqual([{ timestamp: expect.any(Number), code: 'USER_FUNCTION', message: 'boom in attempt 0', vertexId: 'sink', vertexName: 'Sink', subtask: 1, taskManager: tm!.resourceId }]);
    expect(d.exceptions[0]!.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(d.exceptionsDropped).toBe(0);
    // The failed attempt's 7 records are not part of the new attempt's figures.
    expect(d.vertices.map((v) => v.recordsIn)).toEqual([0, 0]);
    for (const t of tasks(1)) t.count(ops(t, 5));
    expect(summary(await detailsWhen(c, 'j-restart', (x) => x.vertices[1]!.recordsIn === 10))).toEqual([
      { id: 'src', subtasks: { RUNNING: 2 }, recordsIn: 10, recordsOut: 10 },
      { id: 'sink', subtasks: { RUNNING: 2 }, recordsIn: 10, recordsOut: 10 },
    ]);
  });

  it('records every restart and the failure that ended the job, kept after the JobMaster stopped', async () => {
    const c = await start((t) => {
      t.running();
      if (t.tdd.vertexId === 'src' && t.tdd.subtaskIndex === 0) t.fail(new SluiceError('USER_FUNCTION', `boom in attempt ${t.tdd.attempt}`));
    });
    await c.submit(twoVertexJob('j-fails', 2, { type: 'fixed-delay', attempts: 1, delayMs: 0 }));
    const result = await c.dispatcher.requestJobResult('j-fails');
    expect(result).toMatchObject({ status: 'FAILED', restarts: 1 });
    const d = await details(c, 'j-fails');
    expect(d.exceptions.map((e) => [e.code, e.message, e.vertexId, e.subtask])).toEqual([
      ['USER_FUNCTION', 'boom in attempt 0', 'src', 0],
      ['USER_FUNCTION', `${result.error!.message}`, 'src', 0],
    ]);
    expect(result.error!.message).toMatch(/^boom in attempt 1 \(not restarted: /);
    expect(d.exceptions[0]!.timestamp).toBeLessThanOrEqual(d.exceptions[1]!.timestamp);
    expect(d.vertices.map((v) => v.subtasks)).toEqual([{ FAILED: 1, CANCELED: 1 }, { CANCELED: 2 }]);
  });

  it('records a job that could not start: no subtask, no TaskManager', async () => {
    const c = await start(() => undefined, { taskManagers: 0, maxTaskManagers: 0, slotRequestTimeoutMs: 20 });
    await c.submit(twoVertexJob('j-no-slots'));
    expect((await c.dispatcher.requestJobResult('j-no-slots')).status).toBe('FAILED');
    const d = await details(c, 'j-no-slots');
    expect(d.exceptions).toEqual([{ timestamp: expect.any(Number), code: 'SLOT_REQUEST_TIMEOUT', message: expect.stringMatching(/^job j-no-slots got only 0 of the 2 slots/) }]);
    expect(d.vertices.map((v) => v.subtasks)).toEqual([{ CANCELED: 2 }, { CANCELED: 2 }]);
  });
});

describe('Dispatcher job details', () => {
  it("of a job whose JobMaster died: no vertices, and the loss as the job's one exception", async () => {
    const rpc = new LocalRpcService();
    const dispatcher = new Dispatcher({
      rpc,
      address: 'dispatcher',
      resourceManagerAddress: 'rm',
      logger: silentLogger,
      jobMasterRunnerFactory: (ctx) => ({
        address: ctx.address,
        termination: Promise.resolve({ type: 'died', reason: 'its process exited with code 137' }),
        // A JobMaster that never answers: its process is gone.
        start: async () => ctx.rpc.register(ctx.address, { requestJobResult: () => new Promise(() => undefined) }),
        close: async () => ctx.rpc.unregister(ctx.address),
      }),
    });
    await dispatcher.start();
    try {
      await dispatcher.submitJob(twoVertexJob('j-lost'));
      expect((await dispatcher.requestJobResult('j-lost')).status).toBe('FAILED');
      expect(await dispatcher.requestJobDetails('j-lost')).toEqual({
        vertices: [],
        exceptions: [{ timestamp: expect.any(Number), code: 'JOB_MASTER_LOST', message: expect.stringContaining('its process exited with code 137') }],
        exceptionsDropped: 0,
      });
      await expect(dispatcher.requestJobDetails('nope')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    } finally {
      await dispatcher.close();
    }
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, last: () => string = () => '', timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met in time; last seen: ${last()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
