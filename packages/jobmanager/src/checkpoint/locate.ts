/**
 * Where a restore reads from: a savepoint or checkpoint (its location, or its `_metadata`), or a
 * job's checkpoint folder (`<dir>/<jobId>`, holding `chk-<n>` directories), in which case the
 * newest complete checkpoint is taken — partial or corrupt ones are skipped with a warning.
 * Either way the result has been verified, state files' checksums included.
 */
import { SluiceError, type Logger } from '@sluice/common';
import type { CheckpointStorage, StoredCheckpoint } from '@sluice/checkpoint';

export async function locateCheckpoint(storage: CheckpointStorage, pointer: string, logger: Logger): Promise<StoredCheckpoint> {
  let found: StoredCheckpoint;
  try {
    found = await storage.resolve(pointer);
  } catch (err) {
    if (!(err instanceof SluiceError) || err.code !== 'CHECKPOINT_NOT_FOUND') throw err;
    const job = await storage.jobCheckpointsAt(pointer);
    if (job === undefined) throw err;
    const latest = await storage.findLatest(job.root, job.jobId, logger, { verifyChecksums: true });
    if (latest === undefined) {
      throw new SluiceError('CHECKPOINT_NOT_FOUND', `${pointer} holds checkpoint directories, but none is complete and intact; restore from a savepoint instead`, { cause: err });
    }
    logger.info(`restoring from the newest complete checkpoint in ${pointer}`, { path: latest.location });
    return latest;
  }
  await storage.verify(found, { checksums: true });
  return found;
}
