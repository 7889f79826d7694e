import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type CheckpointMetadata } from '@sluice/checkpoint';
import { TestingCheckpointStorage } from '@sluice/checkpoint/testing';
import { describe, expect, it } from 'vitest';
import { locateCheckpoint } from './locate.js';

function meta(id: number): CheckpointMetadata {
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    jobId: 'job-a',
    jobName: 'a',
    checkpointId: id,
    kind: 'checkpoint',
    triggeredAt: 1,
    completedAt: 2,
    operators: [{ uid: 'src', name: 'src', kind: 'source', parallelism: 1, maxParallelism: 128, keyed: [], operator: [], finishedSubtasks: [], positions: [{ subtask: 0, splits: [{ splitId: 's', next: id }] }] }],
  };
}

describe('locateCheckpoint', () => {
  it('takes a checkpoint as it is (verified), and in a job folder the newest intact one, warning about the rest', async () => {
    const storage = new TestingCheckpointStorage();
    await storage.commit('/ckpt/job-a/chk-1', meta(1));
    await storage.commit('/ckpt/job-a/chk-2', meta(2));
    storage.damaged.add('/ckpt/job-a/chk-2');
    const warnings: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (m: string) => warnings.push(m), error: () => {}, child: () => logger };

    const direct = await locateCheckpoint(storage, '/ckpt/job-a/chk-1/_metadata', logger);
    expect(direct.location).toBe('/ckpt/job-a/chk-1');
    expect(direct.meta.operators[0]?.positions).toEqual([{ subtask: 0, splits: [{ splitId: 's', next: 1 }] }]);
    expect(storage.calls).toContain('verify /ckpt/job-a/chk-1');
    // Named directly, a damaged checkpoint is refused rather than skipped.
    await expect(locateCheckpoint(storage, '/ckpt/job-a/chk-2', logger)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    const latest = await locateCheckpoint(storage, '/ckpt/job-a', logger);
    expect(latest.meta.checkpointId).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/chk-2/)]);
    await expect(locateCheckpoint(storage, '/ckpt/nothing-here', logger)).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND', message: expect.stringMatching(/no checkpoint or savepoint at \/ckpt\/nothing-here/) });
  });

  it('says so when a job folder holds checkpoints but none is intact', async () => {
    const storage = new TestingCheckpointStorage();
    await storage.commit('/ckpt/job-a/chk-4', meta(4));
    storage.damaged.add('/ckpt/job-a/chk-4');
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => logger };
    await expect(locateCheckpoint(storage, '/ckpt/job-a', logger)).rejects.toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
      message: '/ckpt/job-a holds checkpoint directories, but none is complete and intact; restore from a savepoint instead',
    });
  });
});
