/**
 * A savepoint is a completed checkpoint copied into a directory of the user's choosing, with its
 * own `_metadata` (kind 'savepoint'). It references nothing outside itself, so it can be moved,
 * archived, and restored by a later job — at another parallelism, after job changes — long after
 * the job's own checkpoints were pruned.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomId } from '@sluice/common';
import { writeMetadata, type CheckpointMetadata } from '@sluice/runtime';

/** Copies checkpoint `dir` into a new `savepoint-<job>-<id>-<random>` directory under `target`; returns its path. */
export async function copyToSavepoint(dir: string, meta: CheckpointMetadata, target: string): Promise<string> {
  const out = join(resolve(target), `savepoint-${meta.jobId.slice(0, 6)}-${meta.checkpointId}-${randomId(3)}`);
  await mkdir(out, { recursive: true });
  const files = new Set<string>();
  for (const op of meta.operators) {
    for (const h of op.keyed) files.add(h.file);
    for (const h of op.operator) files.add(h.file);
  }
  for (const f of files) await copyFile(join(dir, f), join(out, f));
  await writeMetadata(out, { ...meta, kind: 'savepoint' });
  return out;
}
