/**
 * A savepoint is a completed checkpoint copied into a location of the user's choosing, with its
 * own `_metadata` (kind 'savepoint'). It references nothing outside itself, so it can be moved,
 * archived, and restored by a later job — at another parallelism, after job changes — long after
 * the job's own checkpoints were pruned. CheckpointStorage.copyToSavepoint makes one.
 */
import { SluiceError } from '@sluice/common';
import type { CheckpointStorage } from '@sluice/checkpoint';

/**
 * Refuses (`SAVEPOINT_TARGET`) a target that cannot be created or written, or that lies on a
 * kernel pseudo-filesystem, before the savepoint is triggered: a stop-with-savepoint must not
 * end the job and then fail the copy. Bounded in time (see checkStorageDirectory).
 */
export async function checkSavepointTarget(storage: CheckpointStorage, target: string): Promise<void> {
  try {
    await storage.checkTarget(target, 'savepoint directory');
  } catch (err) {
    throw new SluiceError('SAVEPOINT_TARGET', (err as Error).message, { cause: err });
  }
}
