import { describe, expect, it } from 'vitest';
import { EventTimeSessionWindows, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from '@sluice/api';
import type { StateShape } from '@sluice/protocol';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type CheckpointMetadata, type OperatorCheckpointState } from '@sluice/checkpoint';
import { planRestore, statefulOperatorsWithoutUid } from './restore.js';

describe('statefulOperatorsWithoutUid', () => {
  it('names the operators that can hold state and have no uid, with the uid checkpoints give them', () => {
    const env = new StreamExecutionEnvironment();
    const events = env.fromSequence(1, 100).assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n));
    events
      .map((n) => n * 2)
      .name('double')
      .keyBy((n) => n % 3)
      .window(TumblingEventTimeWindows.of(10))
      .reduce((a, b) => a + b)
      .name('sums')
      .keyBy((n) => n % 2)
      .reduce((a, b) => a + b)
      .uid('totals')
      .print();
    const graph = env.getJobGraph();
    const names = statefulOperatorsWithoutUid(graph);
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^'Source: .*' \(node-\d+\)$/);
    expect(names[1]).toMatch(/^'sums' \(node-\d+\)$/);
  });

  it('is empty when every stateful operator has a uid', () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 10).uid('numbers').map((n) => n + 1).keyBy((n) => n % 2).reduce((a, b) => a + b).uid('sum').print();
    expect(statefulOperatorsWithoutUid(env.getJobGraph())).toEqual([]);
  });
});

describe('planRestore', () => {
  it('refuses state of operators the job lacks; a node-<n> uid is explained as an operator that had no uid', async () => {
    const env = new StreamExecutionEnvironment();
    env.fromSequence(1, 10).uid('numbers').keyBy((n) => n % 2).reduce((a, b) => a + b).uid('sum').print();
    const keyedOp = (uid: string, name: string) => ({
      uid,
      name,
      kind: 'reduce',
      parallelism: 1,
      maxParallelism: 128,
      keyed: [{ subtask: 0, file: 'x', keyGroups: [] }] as never[],
      operator: [],
      finishedSubtasks: [],
    });
    const meta: CheckpointMetadata = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_FORMAT_VERSION,
      jobId: 'j',
      jobName: 'old',
      checkpointId: 3,
      kind: 'savepoint',
      triggeredAt: 0,
      completedAt: 0,
      operators: [keyedOp('node-9', 'Keyed Reduce'), keyedOp('totals', 'totals')],
    };
    const options = { allowNonRestoredState: false, assignSplits: () => Promise.reject(new Error('not reached')) };
    await expect(planRestore('/sp', meta, env.getJobGraph(), options)).rejects.toThrow(
      "/sp holds state for 2 operator(s) this job does not have: uid 'node-9' (Keyed Reduce), uid 'totals' (totals). " +
        'Give those operators the same .uid(...) as in the job that wrote it, or pass --allow-non-restored-state to drop their state. ' +
        '(A node-<n> uid is an operator that had no .uid(...): it is known by its position in the graph, which this job changed.)',
    );
  });
});

describe('planRestore: does the state fit the job?', () => {
  /** A job like the one that wrote `meta` below, with its source, window and keyed process parts variable. */
  function job(options: { name?: string; collection?: boolean; window?: 'reduce' | 'process'; sessions?: boolean } = {}): ReturnType<StreamExecutionEnvironment['getJobGraph']> {
    const env = new StreamExecutionEnvironment();
    env.setJobName(options.name ?? 'fraud');
    const source = options.collection === true ? env.fromCollection([1, 2, 3], 'Source: numbers') : env.fromGenerator({ count: 10, name: 'numbers', generate: (i) => i });
    const keyed = source
      .uid('src')
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n))
      .keyBy((n) => n % 2);
    const windowed = keyed.window(options.sessions === true ? EventTimeSessionWindows.withGap(5) : TumblingEventTimeWindows.of(10));
    (options.window === 'process' ? windowed.process({ process: (_k, _c, els, out) => out.collect([...els].length) }) : windowed.reduce((a, b) => a + b)).uid('w').print();
    return env.getJobGraph();
  }

  const handle = { subtask: 0, file: 'f', bytes: 100, crc32: 0 };
  const keyedHandle = { ...handle, keyGroups: [{ keyGroup: 1, offset: 8, length: 10, crc32: 0 }] };
  function operator(uid: string, name: string, kind: string, states: StateShape[] | undefined, keyed: boolean): OperatorCheckpointState {
    const op: OperatorCheckpointState = { uid, name, kind, parallelism: 1, maxParallelism: 128, keyed: keyed ? [keyedHandle] : [], operator: keyed || kind === 'source' ? [] : [handle], finishedSubtasks: [] };
    if (kind === 'source') op.positions = [{ subtask: 0, splits: [{ splitId: 'generator-0', offset: 0, stride: 1, nextIndex: 4 }] }];
    if (states !== undefined) op.states = states;
    return op;
  }
  function metadata(version: number, withShapes: boolean): CheckpointMetadata {
    const shapes = (s: StateShape[]): StateShape[] | undefined => (withShapes ? s : undefined);
    return {
      format: CHECKPOINT_FORMAT,
      version,
      jobId: 'j',
      jobName: 'fraud',
      checkpointId: 7,
      kind: 'savepoint',
      triggeredAt: 0,
      completedAt: 0,
      operators: [
        operator('src', 'Source: numbers', 'source', shapes([{ name: 'splits', kind: 'source', type: 'generator' }]), false),
        operator(
          'w',
          'Window',
          'window',
          shapes([
            { name: 'contents', kind: 'window', type: 'reduced values of fixed windows' },
            { name: '__sluice.window-contents', kind: 'namespaced' },
            { name: '__sluice.timers', kind: 'timers' },
          ]),
          true,
        ),
      ],
    };
  }
  const options = (allowNonRestoredState: boolean) => ({ allowNonRestoredState, assignSplits: () => Promise.resolve([[]]) });

  it.each([false, true])('refuses other source splits and other window contents, naming every operator, state and both shapes (allowNonRestoredState %s)', async (allow) => {
    const err = await planRestore('/sp', metadata(CHECKPOINT_FORMAT_VERSION, true), job({ collection: true, window: 'process', sessions: true }), options(allow)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'STATE_INCOMPATIBLE',
      message:
        "/sp does not fit job 'fraud': operator 'Source: numbers' (uid 'src'): its source splits are generator splits in the checkpoint, but are collection splits in this job; " +
        "operator 'Window(EventTimeSessionWindows(5), Process)' (uid 'w'): its window contents are reduced values of fixed windows in the checkpoint, but are buffered elements of session windows in this job. " +
        'Restore a checkpoint or savepoint of this job, or give such an operator a new .uid(...) and pass --allow-non-restored-state to start it without the old state ' +
        '(--allow-non-restored-state alone does not drop the state of an operator the job still has)',
    });
  });

  it('refuses an operator of another kind under a uid, also from a checkpoint that recorded no state shapes', async () => {
    const meta = metadata(2, false);
    meta.operators[1]!.kind = 'keyedProcess';
    await expect(planRestore('/sp', meta, job(), options(true))).rejects.toThrow(
      "operator 'Window(TumblingEventTimeWindows(10), Reduce)' (uid 'w') is a window operator, but the checkpoint holds the state of a keyedProcess operator ('Window') under that uid",
    );
  });

  it("hands each subtask the keyed states the checkpoint recorded, and warns about another job's name", async () => {
    const meta = metadata(CHECKPOINT_FORMAT_VERSION, true);
    meta.operators = meta.operators.filter((o) => o.uid === 'w');
    const graph = job({ name: 'fraud v2' });
    const plan = await planRestore('/sp', meta, graph, options(false));
    const windowVertex = graph.vertices.find((v) => v.operators.some((o) => o.uid === 'w'))!;
    const nodeId = windowVertex.operators.find((o) => o.uid === 'w')!.nodeId;
    expect(plan.subtasks.get(windowVertex.id)?.[0]?.operators[nodeId]?.states).toEqual([
      { name: '__sluice.window-contents', kind: 'namespaced' },
      { name: '__sluice.timers', kind: 'timers' },
    ]);
    expect(plan.warnings).toEqual(["/sp is a savepoint of job 'fraud', restored into job 'fraud v2': its state fits the operators with the same uids, but make sure this is the savepoint you meant"]);
    expect(plan.notes).toEqual([]);
  });

  it('restores a checkpoint of format 2 unchecked beyond operator kinds, and says so', async () => {
    const meta = metadata(2, false);
    meta.operators = meta.operators.filter((o) => o.uid === 'w');
    const plan = await planRestore('/sp', meta, job({ window: 'process' }), options(false));
    expect(plan.warnings).toEqual([]);
    expect(plan.notes).toEqual([
      "/sp was written in checkpoint format 2, which does not record what each operator's state is: only operator kinds were compared with this job, and its keyed state restores unchecked",
    ]);
    expect([...plan.subtasks.values()].flat().flatMap((r) => Object.values(r?.operators ?? {})).map((o) => o.states)).toEqual([undefined]);
  });
});
