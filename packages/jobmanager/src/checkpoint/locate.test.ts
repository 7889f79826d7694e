import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, writeMetadata, writeStateFile, type CheckpointMetadata } from '@sluice/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { locateCheckpoint } from './locate.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

async function checkpoint(dir: string, id: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { handle } = await writeStateFile(dir, 'op.state', [{ bytes: new Uint8Array([id, 2, 3]) }]);
  const meta: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    jobId: 'job-a',
    jobName: 'a',
    checkpointId: id,
    kind: 'checkpoint',
    triggeredAt: 1,
    completedAt: 2,
    operators: [{ uid: 'src', name: 'src', kind: 'source', parallelism: 1, maxParallelism: 128, keyed: [], operator: [{ ...handle, subtask: 0 }], finishedSubtasks: [] }],
  };
  await writeMetadata(dir, meta);
}

describe('locateCheckpoint', () => {
  it('takes a checkpoint directory as it is (verified), and in a job folder the newest intact one, warning about the rest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-locate-'));
    roots.push(root);
    const job = join(root, 'job-a');
    await checkpoint(join(job, 'chk-1'), 1);
    await checkpoint(join(job, 'chk-2'), 2);
    writeFileSync(join(job, 'chk-2', 'op.state'), 'damaged'); // corrupt state file
    mkdirSync(join(job, 'chk-3')); // partial: no _metadata
    const warnings: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (m: string) => warnings.push(m), error: () => {}, child: () => logger };
    expect((await locateCheckpoint(join(job, 'chk-1'), logger)).meta.checkpointId).toBe(1);
    // Named directly, a damaged checkpoint is refused rather than skipped.
    await expect(locateCheckpoint(join(job, 'chk-2'), logger)).rejects.toThrow(/op\.state/);
    const latest = await locateCheckpoint(job, logger);
    expect(latest.meta.checkpointId).toBe(1);
    expect(warnings.length).toBe(2);
    expect(warnings.join('\n')).toMatch(/chk-3/);
    expect(warnings.join('\n')).toMatch(/chk-2/);
    await expect(locateCheckpoint(join(root, 'nothing-here'), logger)).rejects.toThrow(/does not exist/);
  });
});
