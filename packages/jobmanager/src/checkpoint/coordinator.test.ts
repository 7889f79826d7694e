/**
 * Source positions through the coordinator alone (a fake host, in-memory checkpoint storage):
 * acknowledgements → `_metadata` → restore plan, as plain data, with a source subtask that
 * finished before the checkpoint, and the refusal of a position JSON cannot hold. The
 * coordinator with a real JobMaster and TaskManager is tested in test/src/checkpoint-coordinator.test.ts.
 */
import { ManualClock, silentLogger, SluiceError } from '@sluice/common';
import { TestingCheckpointStorage } from '@sluice/checkpoint/testing';
import { DEFAULT_JOB_CONFIG, type CheckpointAck, type JobGraph, type SourcePosition } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { CheckpointCoordinator, type CoordinatorHost } from './coordinator.js';
import { planRestore } from './restore.js';

function graph(sourceParallelism: number): JobGraph {
  return {
    jobName: 'positions',
    vertices: [
      { id: 'src', name: 'Source', parallelism: sourceParallelism, maxParallelism: 128, operators: [{ nodeId: 1, name: 'Source', kind: 'source', uid: 'src' }], isSource: true, isSink: false },
      { id: 'sink', name: 'Sink', parallelism: 2, maxParallelism: 128, operators: [{ nodeId: 2, name: 'Sink', kind: 'sink', uid: 'sink' }], isSource: false, isSink: true },
    ],
    edges: [{ id: 'e1', sourceVertex: 'src', targetVertex: 'sink', sourceNodeId: 1, targetNodeId: 2, inputIndex: 0, partitioner: 'rebalance' }],
    config: { ...DEFAULT_JOB_CONFIG },
  };
}

type FakeExecution = ReturnType<CoordinatorHost['executions']>[number];

/** Two source and two sink subtasks, all running; records what the coordinator asks of them. */
class FakeHost implements CoordinatorHost {
  readonly list: FakeExecution[] = ['src', 'sink'].flatMap((v) => [0, 1].map((i) => ({ executionId: `${v}-${i}`, vertex: { id: v, isSource: v === 'src' }, subtaskIndex: i, state: 'RUNNING' })));
  readonly triggered: string[] = [];
  readonly failovers: string[] = [];
  executions(): readonly FakeExecution[] {
    return this.list;
  }
  isRunning(): boolean {
    return true;
  }
  async triggerAt(executionId: string, checkpointId: number): Promise<void> {
    this.triggered.push(`${executionId} ${checkpointId}`);
  }
  readonly events: string[] = [];
  recorder: ((c: { id: number; location: string }) => Promise<void>) | undefined;
  notify(executionId: string, outcome: string, id: number): void {
    this.events.push(`notify ${outcome} ${id} ${executionId}`);
  }
  recordCheckpoint(c: { id: number; location: string }): Promise<void> {
    this.events.push(`record ${c.id} ${c.location}`);
    return this.recorder?.(c) ?? Promise.resolve();
  }
  run(action: () => void): void {
    action();
  }
  failOver(reason: string): void {
    this.failovers.push(reason);
  }
}

function setUp(): { host: FakeHost; storage: TestingCheckpointStorage; coordinator: CheckpointCoordinator } {
  const host = new FakeHost();
  const storage = new TestingCheckpointStorage();
  const g = graph(2);
  const coordinator = new CheckpointCoordinator({ jobId: 'job-1', jobName: g.jobName, jobGraph: g, config: g.config, root: '/ckpt', storage, host, clock: new ManualClock(1000), logger: silentLogger });
  return { host, storage, coordinator };
}

function ack(executionId: string, checkpointId: number, source?: SourcePosition): CheckpointAck {
  const operators = source === undefined ? [] : [{ nodeId: 1, uid: 'src', source }];
  return { jobId: 'job-1', executionId, checkpointId, operators, stats: { bytes: 0, syncMs: 0, asyncMs: 0, alignmentMs: 0, maxPauseMs: 0 } };
}

const split = (partition: number, offset: number) => ({ splitId: `t-${partition}`, topic: 't', partition, offset });

describe('checkpoint coordinator: source positions', () => {
  it('records acknowledged and finished positions in the metadata, and a restore deals them out without reading a file', async () => {
    const { host, storage, coordinator } = setUp();
    const first = coordinator.triggerNow();
    expect(host.triggered).toEqual(['src-0 1', 'src-1 1']);
    coordinator.receiveAck(ack('src-0', 1, { splits: [split(0, 5)], watermark: 100 }));
    coordinator.receiveAck(ack('src-1', 1, { splits: [split(1, 7), split(2, 0)] }));
    coordinator.receiveAck(ack('sink-0', 1));
    coordinator.receiveAck(ack('sink-1', 1));
    const c1 = await first;
    expect(c1.meta.operators.find((o) => o.uid === 'src')?.positions).toEqual([
      { subtask: 0, splits: [split(0, 5)], watermark: 100 },
      { subtask: 1, splits: [split(1, 7), split(2, 0)] },
    ]);

    // Source subtask 0 reaches the end of its input: its final position goes into the next checkpoint.
    host.list[0]!.state = 'FINISHED';
    coordinator.executionFinished('src-0', 'src', 0, { splits: [split(0, 9)], watermark: 'end' });
    const second = coordinator.triggerNow();
    expect(host.triggered.slice(2)).toEqual(['src-1 2']);
    coordinator.receiveAck(ack('src-1', 2, { splits: [split(1, 8), split(2, 3)], watermark: 120 }));
    coordinator.receiveAck(ack('sink-0', 2));
    coordinator.receiveAck(ack('sink-1', 2));
    const c2 = await second;
    expect(c2.location).toBe('/ckpt/job-1/chk-2');

    // What a restore reads back from storage: the committed _metadata, decoded.
    const stored = await storage.resolve(c2.location);
    const src = stored.meta.operators.find((o) => o.uid === 'src')!;
    expect(src.finishedSubtasks).toEqual([0]);
    expect(src.operator).toEqual([]);
    expect(src.positions).toEqual([
      { subtask: 0, splits: [split(0, 9)], watermark: 'end' },
      { subtask: 1, splits: [split(1, 8), split(2, 3)], watermark: 120 },
    ]);

    const refuse = { allowNonRestoredState: false, assignSplits: () => Promise.reject(new Error('same parallelism: no reassignment')) };
    const same = await planRestore(stored.location, stored.meta, graph(2), refuse);
    expect(same.splits.get('src')).toEqual([[split(0, 9)], [split(1, 8), split(2, 3)]]);
    expect(same.subtasks.get('src')?.map((r) => r?.sourceWatermark)).toEqual([Infinity, 120]);

    // At another parallelism every split, the finished subtask's included, is dealt out again.
    const dealt: unknown[][] = [];
    const rescaled = await planRestore(stored.location, stored.meta, graph(3), {
      allowNonRestoredState: false,
      assignSplits: async (vertexId, parallelism, splits) => {
        dealt.push([vertexId, parallelism, splits]);
        return Array.from({ length: parallelism }, (_, i) => splits.filter((_s, j) => j % parallelism === i));
      },
    });
    expect(dealt).toEqual([['src', 3, [split(0, 9), split(1, 8), split(2, 3)]]]);
    expect(rescaled.splits.get('src')).toEqual([[split(0, 9)], [split(1, 8)], [split(2, 3)]]);
    // The floor over the subtasks still running (the finished one's event time is over).
    expect(rescaled.subtasks.get('src')?.map((r) => r?.sourceWatermark)).toEqual([120, 120, 120]);
  });

  it('aborts a checkpoint whose acknowledgement carries splits JSON cannot hold, naming the source and what is wrong', async () => {
    const { storage, coordinator } = setUp();
    const pending = coordinator.triggerNow();
    coordinator.receiveAck(ack('src-0', 1, { splits: [split(0, 5)] }));
    coordinator.receiveAck(ack('src-1', 1, { splits: [{ splitId: 't-1', offset: 7n }] }));
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).message).toBe(
      "savepoint (checkpoint 1) failed: source 'Source' (uid 'src', subtask 1) reported a position that is not plain JSON data: " +
        'position.splits[0].offset is a bigint (7n); store it as a number if it is a safe integer, or as a string',
    );
    expect(coordinator.lastFailure?.checkpointId).toBe(1);
    expect(storage.committed.size).toBe(0);
  });

  it('records a completed checkpoint for recovery before any task hears it completed', async () => {
    const { host, coordinator } = setUp();
    const pending = coordinator.triggerNow();
    for (const id of ['src-0', 'src-1', 'sink-0', 'sink-1']) coordinator.receiveAck(ack(id, 1, id.startsWith('src') ? { splits: [] } : undefined));
    await pending;
    expect(host.events[0]).toBe('record 1 /ckpt/job-1/chk-1');
    expect(host.events.slice(1).every((e) => e.startsWith('notify complete 1'))).toBe(true);
    expect(host.events).toHaveLength(5);
  });

  it('aborts a checkpoint that cannot be recorded for recovery: no task hears it completed', async () => {
    const { host, coordinator } = setUp();
    host.recorder = () => Promise.reject(new Error('job store is read-only'));
    const pending = coordinator.triggerNow();
    for (const id of ['src-0', 'src-1', 'sink-0', 'sink-1']) coordinator.receiveAck(ack(id, 1, id.startsWith('src') ? { splits: [] } : undefined));
    await expect(pending).rejects.toThrow(/could not record it for recovery: job store is read-only/);
    expect(host.events.filter((e) => e.startsWith('notify complete'))).toEqual([]);
    expect(coordinator.latestCompleted()).toBeUndefined();
  });
});

describe('checkpoint coordinator: a shared checkpoint id counter', () => {
  it('takes every id from the counter (asking for at least the next local one) and names the checkpoint after it', async () => {
    const { host, coordinator } = setUp();
    const asked: number[] = [];
    const ids = [41, 57];
    (host as CoordinatorHost).nextCheckpointId = async (atLeast) => {
      asked.push(atLeast);
      return ids.shift()!;
    };
    const complete = async (id: number) => {
      for (const e of ['src-0', 'src-1', 'sink-0', 'sink-1']) coordinator.receiveAck(ack(e, id));
    };
    const first = coordinator.triggerNow();
    while (host.triggered.length < 2) await new Promise((r) => setImmediate(r));
    expect(host.triggered).toEqual(['src-0 41', 'src-1 41']);
    await complete(41);
    expect((await first).location).toBe('/ckpt/job-1/chk-41');
    const second = coordinator.triggerNow();
    while (host.triggered.length < 4) await new Promise((r) => setImmediate(r));
    await complete(57);
    expect((await second).id).toBe(57);
    expect(asked).toEqual([1, 42]);
  });

  it('a counter that cannot answer fails the savepoint with the reason and triggers nothing', async () => {
    const { host, coordinator } = setUp();
    (host as CoordinatorHost).nextCheckpointId = () => Promise.reject(new SluiceError('HA_FENCED', 'the leadership term dispatcher/latch-0000000003 is over'));
    await expect(coordinator.triggerNow()).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_POSSIBLE', message: expect.stringContaining('latch-0000000003 is over') });
    expect(host.triggered).toEqual([]);
    expect(coordinator.stats.failed).toBe(1);
  });
});
