import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from '@sluice/api';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type CheckpointMetadata } from '@sluice/runtime';
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
