/**
 * A TaskManager that goes silent (frozen, like a process under SIGSTOP: nothing in, nothing out)
 * is found by heartbeats alone: its tasks fail over and the job recovers on a new TaskManager;
 * once it thaws it is told it was dropped, cancels its tasks and registers again.
 */
import { silentLogger } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, LocalRpcService, type JobSubmission, type RpcService } from '@sluice/protocol';
import { TaskManager } from '@sluice/runtime';
import { TestingTaskRunner, type TestingTask } from '@sluice/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { noSplits } from './jobmaster/deployment.js';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';

/** An RpcService view that, while frozen, holds every call in or out until it thaws. */
class FreezableRpc implements RpcService {
  private thawed: Promise<void> = Promise.resolve();
  private thaw: (() => void) | undefined;
  constructor(private readonly inner: LocalRpcService) {}
  freeze(): void {
    this.thawed = new Promise((resolve) => (this.thaw = resolve));
  }
  unfreeze(): void {
    this.thaw?.();
  }
  register<G extends object>(address: string, gateway: G): void {
    const gate = (): Promise<void> => this.thawed;
    const held = new Proxy(gateway, {
      get: (target, key) => {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await gate();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    this.inner.register(address, held);
  }
  unregister(address: string): void {
    this.inner.unregister(address);
  }
  async connect<G extends object>(address: string): Promise<G> {
    await this.thawed;
    return this.inner.connect<G>(address);
  }
}

function job(jobId: string): JobSubmission {
  const config = { ...DEFAULT_JOB_CONFIG, restartStrategy: { type: 'fixed-delay' as const, attempts: 3, delayMs: 0 } };
  const vertex = (id: string, kind: 'source' | 'sink', nodeId: number) => ({ id, name: id, parallelism: 2, maxParallelism: 128, operators: [{ nodeId, name: id, kind }], isSource: kind === 'source', isSink: kind === 'sink' });
  return {
    jobId,
    jobName: jobId,
    artifact: { entry: '/jobs/test.js', params: {} },
    jobGraph: { jobName: jobId, vertices: [vertex('src', 'source', 1), vertex('sink', 'sink', 2)], edges: [{ id: 'e1', sourceVertex: 'src', targetVertex: 'sink', sourceNodeId: 1, targetNodeId: 2, inputIndex: 0, partitioner: 'rebalance' }], config },
  };
}

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('heartbeats in a local cluster', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('fails a silent TaskManager\'s tasks over to a new TaskManager, and the thawed one cancels its tasks and registers again', async () => {
    const taskManagers: { tm: TaskManager; rpc: FreezableRpc; runner: TestingTaskRunner }[] = [];
    const behaviour = (t: TestingTask): void => {
      t.running();
      if (t.tdd.attempt > 0) t.finish([{ nodeId: t.tdd.vertexId === 'src' ? 1 : 2, name: t.tdd.vertexName, vertexId: t.tdd.vertexId, recordsIn: 1, recordsOut: 1 }]);
    };
    cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 200,
      cancelTimeoutMs: 200,
      logger: silentLogger,
      // The job is a graph without a module behind it.
      splitProvider: noSplits,
      taskManagerFactory: async (ctx) => {
        const rpc = new FreezableRpc(ctx.rpc as LocalRpcService);
        const runner = new TestingTaskRunner({ behaviour });
        // A frozen process times nobody out (under SIGSTOP its timers stand still, and the late
        // tick after SIGCONT is forgiven): its own timeout is long, so it learns its fate by being told.
        const tm = new TaskManager({ ...ctx, rpc, taskRunner: runner, logger: silentLogger, heartbeatTimeoutMs: 60_000 });
        taskManagers.push({ tm, rpc, runner });
        return tm;
      },
    });
    const handle = await cluster.submit(job('job-frozen'));
    const first = taskManagers[0]!;
    await waitFor('attempt 0 running', () => first.runner.tasks.length === 4 && first.runner.tasks.every((t) => t.status === 'running'));
    first.rpc.freeze();

    const result = await handle.result();
    expect(result.status).toBe('FINISHED');
    expect(result.restarts).toBe(1);
    // Attempt 1 ran on a TaskManager started for it; the frozen one never heard of it.
    expect(taskManagers.length).toBeGreaterThan(1);
    expect(first.runner.tasks.every((t) => t.tdd.attempt === 0)).toBe(true);
    expect(taskManagers.slice(1).flatMap((x) => x.runner.tasks).filter((t) => t.tdd.attempt === 1)).toHaveLength(4);
    // Its attempt-0 tasks are still running: it could not be told anything.
    expect(first.runner.tasks.every((t) => t.status === 'running')).toBe(true);

    first.rpc.unfreeze();
    await waitFor('the thawed TaskManager to cancel its tasks', () => first.runner.tasks.every((t) => t.status === 'canceled'));
    const deadline = Date.now() + 30_000;
    const registered = async (): Promise<boolean> => (await cluster!.taskManagers()).some((t) => t.resourceId === first.tm.resourceId);
    while (!(await registered()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await registered()).toBe(true);
  }, 60_000);
});
