/**
 * A savepoint is a completed checkpoint copied into a directory of the user's choosing, with its
 * own `_metadata` (kind 'savepoint'). It references nothing outside itself, so it can be moved,
 * archived, and restored by a later job — at another parallelism, after job changes — long after
 * the job's own checkpoints were pruned.
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkStorageDirectory, ensureDirectory, randomId, SluiceError } from '@sluice/common';
import { writeMetadata, type CheckpointMetadata } from '@sluice/runtime';

/** Copies checkpoint `dir` into a new `savepoint-<job>-<id>-<random>` directory under `target`; returns its path. */
export async function copyToSavepoint(dir: string, meta: CheckpointMetadata, target: string): Promise<string> {
  const out = join(resolve(target), `savepoint-${meta.jobId.slice(0, 6)}-${meta.checkpointId}-${randomId(3)}`);
  await ensureDirectory(out, 'savepoint directory');
  const files = new Set<string>();
  for (const op of meta.operators) {
    for (const h of op.keyed) files.add(h.file);
    for (const h of op.operator) files.add(h.file);
  }
  for (const f of files) await copyFile(join(dir, f), join(out, f));
  await writeMetadata(out, { ...meta, kind: 'savepoint' });
  return out;
}

/**
 * Refuses (`SAVEPOINT_TARGET`) a target directory that cannot be created or written, or that
 * lies on a kernel pseudo-filesystem, before the savepoint is triggered: a stop-with-savepoint
 * must not end the job and then fail the copy. Bounded in time (see checkStorageDirectory).
 */
export async function checkSavepointTarget(target: string): Promise<void> {
  try {
    await checkStorageDirectory(target, { what: 'savepoint directory' });
  } catch (err) {
    throw new SluiceError('SAVEPOINT_TARGET', (err as Error).message, { cause: err });
  }
}
