/**
 * The checkpoint coordinator and restarts through the real JobMaster and TaskManager, with a
 * testing task runner standing in for worker threads: which subtasks are triggered, when a
 * checkpoint completes or aborts, what is notified, and how the restart strategy decides.
 * (Here, above both packages: the JobMaster never imports the runtime.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCheckpoint } from '@sluice/checkpoint';
import { createLogger, silentLogger, type Logger } from '@sluice/common';
import { createLocalCluster, noSplits, type LocalCluster } from '@sluice/jobmanager';
import { DEFAULT_JOB_CONFIG, type JobConfig, type JobGraph, type JobSubmission, type SourcePosition } from '@sluice/protocol';
import { TaskManager } from '@sluice/runtime';
import { TestingTaskRunner, type TestingTask } from '@sluice/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';

function job(jobId: string, config: Partial<JobConfig>): JobSubmission {
  const jobGraph: JobGraph = {
    jobName: `job ${jobId}`,
    vertices: [
      { id: 'src', name: 'Source', parallelism: 2, maxParallelism: 128, operators: [{ nodeId: 1, name: 'Source', kind: 'source', uid: 'src' }], isSource: true, isSink: false },
      { id: 'sink', name: 'Sink', parallelism: 2, maxParallelism: 128, operators: [{ nodeId: 2, name: 'Sink', kind: 'sink', uid: 'sink' }], isSource: false, isSink: true },
    ],
    edges: [{ id: 'e1', sourceVertex: 'src', targetVertex: 'sink', sourceNodeId: 1, targetNodeId: 2, inputIndex: 0, partitioner: 'rebalance' }],
    config: { ...DEFAULT_JOB_CONFIG, ...config },
  };
  return { jobId, jobName: jobGraph.jobName, artifact: { entry: '/jobs/test.js', params: {} }, jobGraph };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Generous: only a hang should fail a wait, however busy the machine.
async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('checkpoint coordinator', () => {
  let cluster: LocalCluster | undefined;
  let runner: TestingTaskRunner | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(logger: Logger = silentLogger): Promise<LocalCluster> {
    cluster = await createLocalCluster({
      taskManagers: 1,
      slotsPerTaskManager: 2,
      logger,
      // The jobs here are graphs without a module behind them.
      splitProvider: noSplits,
      taskManagerFactory: async (ctx) => {
        runner = new TestingTaskRunner({ behaviour: (t) => t.running() });
        return new TaskManager({ ...ctx, taskRunner: runner, logger: silentLogger });
      },
    });
    return cluster;
  }

  const live = (attempt: number): TestingTask[] => runner!.tasks.filter((t) => t.tdd.attempt === attempt && !t.terminal);
  const triggered = (t: TestingTask, id: number): boolean => t.checkpointCalls.includes(`trigger ${id}`);

  it('triggers sources only, completes on every acknowledgement, writes metadata last and notifies', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
    dirs.push(root);
    const c = await start();
    const handle = await c.submit(job('cp-1', { checkpointIntervalMs: 20, checkpointDir: root, tolerableFailedCheckpoints: 1 }));
    const sources = await until('the first trigger', () => {
      const s = live(0).filter((t) => t.tdd.vertexId === 'src');
      return s.length === 2 && s.every((t) => triggered(t, 1)) ? s : undefined;
    });
    const sinks = live(0).filter((t) => t.tdd.vertexId === 'sink');
    expect(sinks.every((t) => t.checkpointCalls.length === 0)).toBe(true);
    for (const t of [...sources, sinks[0]!]) t.ack(1);
    await sleep(50);
    // One acknowledgement missing: not complete, no metadata, no second checkpoint yet.
    expect(existsSync(join(root, 'cp-1', 'chk-1', '_metadata'))).toBe(false);
    expect(sources.some((t) => triggered(t, 2))).toBe(false);
    sinks[1]!.ack(1);
    await until('completion notices', () => (live(0).every((t) => t.checkpointCalls.includes('complete 1')) ? true : undefined));
    expect(existsSync(join(root, 'cp-1', 'chk-1', '_metadata'))).toBe(true);
    await until('the next trigger', () => (sources.every((t) => triggered(t, 2)) ? true : undefined));

    // A decline aborts checkpoint 2: everyone hears it, and checkpoint 3 follows.
    sinks[0]!.decline(2, new Error('disk full'));
    await until('abort notices', () => (live(0).every((t) => t.checkpointCalls.includes('aborted 2')) ? true : undefined));
    await until('checkpoint 3', () => (sources.every((t) => triggered(t, 3)) ? true : undefined));
    expect(existsSync(join(root, 'cp-1', 'chk-2', '_metadata'))).toBe(false);
    await handle.cancel();
    expect((await handle.result()).status).toBe('CANCELED');
  });

  it('aborts a checkpoint that outlives its timeout', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
    dirs.push(root);
    const c = await start();
    const handle = await c.submit(job('cp-2', { checkpointIntervalMs: 10, checkpointTimeoutMs: 60, checkpointDir: root, tolerableFailedCheckpoints: 1 }));
    await until('abort after the timeout', () => (live(0).some((t) => t.checkpointCalls.includes('aborted 1')) ? true : undefined));
    await until('a new attempt at checkpointing', () => (live(0).some((t) => triggered(t, 2)) ? true : undefined));
    await handle.cancel();
  });

  it('restarts from the latest checkpoint while the strategy allows, says when it has recovered, then fails naming it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
    dirs.push(root);
    const warnings: string[] = [];
    const c = await start(createLogger('warn', 'test', (line) => warnings.push(line)));
    const handle = await c.submit(job('cp-3', { checkpointIntervalMs: 10, checkpointDir: root, restartStrategy: { type: 'fixed-delay', attempts: 1, delayMs: 10 } }));
    await until('trigger 1', () => (live(0).filter((t) => triggered(t, 1)).length === 2 ? true : undefined));
    for (const t of live(0)) t.ack(1);
    await until('checkpoint 1 complete', () => (live(0).every((t) => t.checkpointCalls.includes('complete 1')) ? true : undefined));
    const counted = (records: number) => [{ nodeId: 1, name: 'Source', vertexId: 'src', recordsIn: 0, recordsOut: records }];
    live(0).find((t) => t.tdd.vertexId === 'src')!.fail(new Error('boom'), counted(10));
    const restarted = await until('attempt 1 deployed', () => (live(1).length === 4 ? live(1) : undefined));
    // Every subtask of attempt 1 runs (the testing tasks report running at once): the log says so, at the default level.
    await until('the recovery line', () => warnings.find((l) => l.includes('job recovered')));
    expect(warnings.filter((l) => l.includes('job recovered'))).toEqual([expect.stringMatching(/WARN .* job recovered: all 4 subtasks run again after restart 1, from checkpoint 1, \d+ ms after the failure$/)]);
    expect(warnings.findIndex((l) => l.includes('restarting the job'))).toBeLessThan(warnings.findIndex((l) => l.includes('job recovered')));
    // Attempt 1 starts from checkpoint 1 (the testing subtasks acknowledged no state, so there
    // is nothing to read back) and keeps numbering checkpoints after it.
    expect(restarted.every((t) => t.tdd.restore === undefined)).toBe(true);
    const next = await until('a trigger in attempt 1', () => live(1).flatMap((t) => t.checkpointCalls).find((c) => c.startsWith('trigger ')));
    expect(Number(next.split(' ')[1])).toBeGreaterThan(1);
    live(1).find((t) => t.tdd.vertexId === 'src')!.fail(new Error('boom again'), counted(5));
    const r = await handle.result();
    // The result counts what every attempt's subtasks reported, not only the last attempt's.
    expect(r.operators.find((o) => o.nodeId === 1)?.recordsOut).toBe(15);
    expect(r.status).toBe('FAILED');
    expect(r.restarts).toBe(1);
    expect(r.error?.message).toMatch(/boom again/);
    expect(r.error?.message).toMatch(/fixed-delay/);
    expect(r.lastCheckpoint?.id).toBe(1);
  });

  it('fails the job over once more checkpoints fail in a row than it tolerates; a completed one resets the count', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
    dirs.push(root);
    const c = await start();
    const handle = await c.submit(job('cp-4', { checkpointIntervalMs: 10, checkpointDir: root, tolerableFailedCheckpoints: 1 }));
    const sinks = (): TestingTask[] => live(0).filter((t) => t.tdd.vertexId === 'sink');
    const aborted = (id: number): boolean | undefined => (live(0).every((t) => t.checkpointCalls.includes(`aborted ${id}`)) ? true : undefined);
    // Failure, success, failure: never two in a row, so the job keeps running.
    await until('trigger 1', () => (live(0).filter((t) => triggered(t, 1)).length === 2 ? true : undefined));
    sinks()[0]!.decline(1, new Error('disk full'));
    await until('abort of 1', () => aborted(1));
    await until('trigger 2', () => (live(0).filter((t) => triggered(t, 2)).length === 2 ? true : undefined));
    for (const t of live(0)) t.ack(2);
    await until('checkpoint 2 complete', () => (live(0).every((t) => t.checkpointCalls.includes('complete 2')) ? true : undefined));
    await until('trigger 3', () => (live(0).filter((t) => triggered(t, 3)).length === 2 ? true : undefined));
    sinks()[1]!.decline(3, new Error('disk full'));
    await until('abort of 3', () => aborted(3));
    const running = await c.dispatcher.requestCheckpointStatistics('cp-4');
    expect(running.counts).toMatchObject({ completed: 1, failed: 2 });
    expect(running.lastFailure).toMatchObject({ checkpointId: 3, reason: expect.stringContaining('disk full') });
    expect(await handle.status()).toBe('RUNNING');
    // A second failure in a row: the job fails over; without a restart strategy it fails.
    await until('trigger 4', () => (live(0).filter((t) => triggered(t, 4)).length === 2 ? true : undefined));
    sinks()[0]!.decline(4, new Error('disk still full'));
    const r = await handle.result();
    expect(r.status).toBe('FAILED');
    expect(r.error).toMatchObject({ code: 'CHECKPOINTS_FAILED' });
    expect(r.error?.message).toMatch(/^2 checkpoints failed in a row, more than the 1 tolerated \(tolerable-failed-checkpoints\); checkpoint 4: subtask .* declined: disk still full/);
    expect(r.checkpoints).toEqual({ completed: 1, failed: 3, lastFailure: { checkpointId: 4, timestamp: expect.any(Number), reason: expect.stringContaining('disk still full') } });
  });

  it('carries the final position of a source subtask that has ended into every later checkpoint of the attempt, as plain data', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-coord-'));
    dirs.push(root);
    const c = await start();
    const handle = await c.submit(job('cp-5', { checkpointIntervalMs: 10, checkpointDir: root }));
    await until('trigger 1', () => (live(0).filter((t) => triggered(t, 1)).length === 2 ? true : undefined));
    for (const t of live(0)) t.ack(1);
    await until('checkpoint 1 complete', () => (live(0).every((t) => t.checkpointCalls.includes('complete 1')) ? true : undefined));
    // Source subtask 0 reaches the end of its input and reports where its splits ended.
    const ended: SourcePosition = { splits: [{ splitId: 'p-0', offset: 42 }], watermark: 'end' };
    const src0 = live(0).find((t) => t.tdd.vertexId === 'src' && t.tdd.subtaskIndex === 0)!;
    src0.finish(undefined, ended);
    // A checkpoint the remaining subtasks complete holds subtask 0's final position beside their own.
    const next = await until('a checkpoint without subtask 0', () => {
      const rest = live(0);
      const id = rest.find((t) => t.tdd.vertexId === 'src')?.checkpointCalls.map((x) => /^trigger (\d+)$/.exec(x)?.[1]).filter((x) => x !== undefined).map(Number).at(-1);
      return id !== undefined && id > 1 && rest.every((t) => t.tdd.vertexId !== 'src' || triggered(t, id)) ? id : undefined;
    });
    for (const t of live(0)) t.ack(next);
    await until('its completion', () => (live(0).every((t) => t.checkpointCalls.includes(`complete ${next}`)) ? true : undefined));
    const { meta } = await resolveCheckpoint(join(root, 'cp-5', `chk-${next}`));
    const src = meta.operators.find((o) => o.uid === 'src')!;
    expect(src.finishedSubtasks).toEqual([0]);
    expect(src.operator).toEqual([]);
    expect(src.positions).toEqual([{ subtask: 0, splits: [{ splitId: 'p-0', offset: 42 }], watermark: 'end' }]);
    await handle.cancel();
    expect((await handle.result()).status).toBe('CANCELED');
  });
});
