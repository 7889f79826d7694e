import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { serialize } from 'node:v8';
import { createLogger, type Logger } from '@sluice/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, encodeMetadata, METADATA_FILE_NAME, type CheckpointMetadata, type OperatorCheckpointState } from './format.js';
import { FileSystemCheckpointStorage } from './fs-storage.js';
import { writeStateFile } from './state-file.js';

let root: string;
const storage = new FileSystemCheckpointStorage();
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-fs-storage-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function capturingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: createLogger('warn', 'test', (line) => warnings.push(line)), warnings };
}

const split = (partition: number, offset: number) => ({ splitId: `t-${partition}`, topic: 't', partition, offset });

/** A format-4 checkpoint as the coordinator commits it: a keyed operator with a state file, a source with positions. */
async function commitCheckpoint(id: number, jobId = 'job-1'): Promise<{ location: string; meta: CheckpointMetadata }> {
  const location = storage.checkpointLocation(root, jobId, id);
  const { handle, keyGroups } = await writeStateFile(location, 'count-0.keyed', [{ keyGroup: 3, bytes: new Uint8Array([id, 1, 2]) }]);
  const meta: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    jobId,
    jobName: 'job',
    checkpointId: id,
    kind: 'checkpoint',
    triggeredAt: 10,
    completedAt: 20,
    operators: [
      { uid: 'src', name: 'Source', kind: 'source', parallelism: 2, maxParallelism: 8, keyed: [], operator: [], finishedSubtasks: [1], positions: [
        { subtask: 0, splits: [split(0, id)], watermark: 100 },
        { subtask: 1, splits: [split(1, 7)], watermark: 'end' },
      ] },
      { uid: 'count', name: 'Count', kind: 'reduce', parallelism: 1, maxParallelism: 8, keyed: [{ ...handle, subtask: 0, keyGroups }], operator: [], finishedSubtasks: [] },
    ],
  };
  await storage.commit(location, meta);
  return { location, meta };
}

describe('FileSystemCheckpointStorage', () => {
  it('lays checkpoints out as <root>/<job>/chk-<id>, commits metadata once (creating a directory no subtask wrote to) and resolves it by directory or _metadata', async () => {
    expect(storage.checkpointLocation(root, 'job-1', 3)).toBe(join(root, 'job-1', 'chk-3'));
    const empty = storage.checkpointLocation(root, 'job-1', 1);
    const meta: CheckpointMetadata = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_FORMAT_VERSION, jobId: 'job-1', jobName: 'job', checkpointId: 1, kind: 'checkpoint', triggeredAt: 1, completedAt: 2, operators: [] };
    await storage.commit(empty, meta);
    expect(await readdir(empty)).toEqual([METADATA_FILE_NAME]);
    await expect(storage.commit(empty, meta)).rejects.toMatchObject({ code: 'CHECKPOINT_EXISTS' });

    const { location } = await commitCheckpoint(2);
    const byDir = await storage.resolve(location);
    const byFile = await storage.resolve(relative(process.cwd(), join(location, METADATA_FILE_NAME)));
    expect(byFile).toEqual(byDir);
    expect(byDir.location).toBe(location);
    expect(byDir.meta.operators[0]?.positions).toEqual([
      { subtask: 0, splits: [split(0, 2)], watermark: 100 },
      { subtask: 1, splits: [split(1, 7)], watermark: 'end' },
    ]);
    await storage.verify(byDir);
    await writeFile(join(location, 'count-0.keyed'), 'damaged');
    await expect(storage.verify(byDir)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/count-0\.keyed/) });
    await expect(storage.resolve(join(root, 'nothing'))).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });
  });

  it("recognises a job's checkpoint folder, finds its newest complete checkpoint and prunes the older ones", async () => {
    await commitCheckpoint(1);
    await commitCheckpoint(2);
    await mkdir(join(root, 'job-1', 'chk-3')); // in progress: no _metadata yet
    expect(await storage.jobCheckpointsAt(join(root, 'job-1'))).toEqual({ root, jobId: 'job-1' });
    expect(await storage.jobCheckpointsAt(root)).toBeUndefined();
    expect(await storage.jobCheckpointsAt(join(root, 'missing'))).toBeUndefined();

    const { logger, warnings } = capturingLogger();
    const latest = await storage.findLatest(root, 'job-1', logger);
    expect(latest?.location).toBe(join(root, 'job-1', 'chk-2'));
    expect(warnings).toEqual([expect.stringMatching(/skipping checkpoint .*chk-3/)]);
    expect(await storage.findLatest(root, 'other-job', logger)).toBeUndefined();

    const pruned = await storage.prune(root, 'job-1', 1, logger);
    expect(pruned).toEqual({ kept: [3, 2], deleted: [1], failed: [] });
    expect((await readdir(join(root, 'job-1'))).sort()).toEqual(['chk-2', 'chk-3']);
  });

  it('copies a checkpoint into a self-contained savepoint that resolves and verifies on its own', async () => {
    const checkpoint = await commitCheckpoint(4);
    const target = join(root, 'savepoints');
    await storage.checkTarget(target, 'savepoint directory');
    const location = await storage.copyToSavepoint(checkpoint, target);
    expect(location).toMatch(new RegExp(`^${target}/savepoint-job-1-4-[0-9a-f]+$`));
    await rm(checkpoint.location, { recursive: true });
    const savepoint = await storage.resolve(location);
    await storage.verify(savepoint);
    expect(savepoint.meta).toEqual({ ...checkpoint.meta, kind: 'savepoint' });
    expect((await readdir(location)).sort()).toEqual([METADATA_FILE_NAME, 'count-0.keyed']);
  });

  it('refuses a target it cannot write to', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(storage.checkTarget(join(file, 'below'), 'savepoint directory')).rejects.toThrow(/savepoint directory/);
  });
});

describe('FileSystemCheckpointStorage reading format 3 (source positions in state files)', () => {
  /** A format-3 checkpoint as an older Sluice wrote it: each source subtask's `{ splits, watermark }` v8-serialized into a state file. */
  async function writeFormat3(dir: string, sourceStates: { subtask: number; file: string; state: unknown }[]): Promise<void> {
    const source: OperatorCheckpointState = { uid: 'src', name: 'Source', kind: 'source', parallelism: 3, maxParallelism: 8, keyed: [], operator: [], finishedSubtasks: [2] };
    for (const s of sourceStates) {
      const { handle } = await writeStateFile(dir, s.file, [{ bytes: serialize(s.state) }]);
      source.operator.push({ ...handle, subtask: s.subtask });
    }
    const { handle } = await writeStateFile(dir, 'sink-0-2.op', [{ bytes: serialize({ txn: 'abc' }) }]);
    const sink: OperatorCheckpointState = { uid: 'sink', name: 'Sink', kind: 'sink', parallelism: 1, maxParallelism: 8, keyed: [], operator: [{ ...handle, subtask: 0 }], finishedSubtasks: [] };
    const meta: CheckpointMetadata = { format: CHECKPOINT_FORMAT, version: 3, jobId: 'job-1', jobName: 'old', checkpointId: 5, kind: 'savepoint', triggeredAt: 1, completedAt: 2, operators: [source, sink] };
    await writeFile(join(dir, METADATA_FILE_NAME), encodeMetadata(meta));
  }

  it('converts the state files into plain positions (watermarks -Infinity and +Infinity included) and leaves other operator state alone', async () => {
    const dir = join(root, 'old-savepoint');
    await writeFormat3(dir, [
      { subtask: 0, file: 'src-0-1.op', state: { splits: [split(0, 11)], watermark: 1234 } },
      { subtask: 1, file: 'src-1-1.op', state: { splits: [], watermark: -Infinity } },
      { subtask: 2, file: 'src-2-1.ended', state: { splits: [split(2, 30)], watermark: Infinity } },
    ]);
    const found = await storage.resolve(dir);
    expect(found.meta.version).toBe(3);
    const [source, sink] = found.meta.operators;
    expect(source?.operator).toEqual([]);
    expect(source?.positions).toEqual([
      { subtask: 0, splits: [split(0, 11)], watermark: 1234 },
      { subtask: 1, splits: [] },
      { subtask: 2, splits: [split(2, 30)], watermark: 'end' },
    ]);
    expect(sink?.operator).toEqual([expect.objectContaining({ file: 'sink-0-2.op', subtask: 0 })]);
    await storage.verify(found);
    // The metadata on disk is what it was: converting is a reading of it, not a rewrite.
    expect(JSON.parse(await readFile(join(dir, METADATA_FILE_NAME), 'utf8'))).toMatchObject({ version: 3 });
  });

  it('finds and converts the newest format-3 checkpoint of a job', async () => {
    await writeFormat3(join(root, 'job-1', 'chk-5'), [{ subtask: 0, file: 'src-0-1.op', state: { splits: [split(0, 1)], watermark: 5 } }]);
    const latest = await storage.findLatest(root, 'job-1', capturingLogger().logger);
    expect(latest?.meta.operators[0]?.positions).toEqual([{ subtask: 0, splits: [split(0, 1)], watermark: 5 }]);
  });

  it('refuses splits plain data cannot hold with CHECKPOINT_VERSION, saying which version and what to do', async () => {
    const dir = join(root, 'old-bigint');
    await writeFormat3(dir, [{ subtask: 0, file: 'src-0-1.op', state: { splits: [{ splitId: 'x', offset: 5n }], watermark: 0 } }]);
    const err = await storage.resolve(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CHECKPOINT_VERSION' });
    expect((err as Error).message).toMatch(/written in checkpoint format 3, and the state of source 'src' \(Source\) subtask 0 .* cannot be converted to format 4's plain source positions: .*splits\[0\]\.offset is a bigint/);
    expect((err as Error).message).toMatch(/Restore it with the Sluice release that wrote it and take a new savepoint there/);
  });

  it('reports a source state file that does not decode as corrupt', async () => {
    const dir = join(root, 'old-garbage');
    await mkdir(dir);
    const { handle } = await writeStateFile(dir, 'src-0-1.op', [{ bytes: new Uint8Array([1, 2, 3]) }]);
    const meta: CheckpointMetadata = {
      format: CHECKPOINT_FORMAT, version: 3, jobId: 'job-1', jobName: 'old', checkpointId: 1, kind: 'checkpoint', triggeredAt: 1, completedAt: 2,
      operators: [{ uid: 'src', name: 'Source', kind: 'source', parallelism: 1, maxParallelism: 8, keyed: [], operator: [{ ...handle, subtask: 0 }], finishedSubtasks: [] }],
    };
    await writeFile(join(dir, METADATA_FILE_NAME), encodeMetadata(meta));
    await expect(storage.resolve(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/src-0-1\.op.*(does not decode|is not a source position)/) });
  });
});
