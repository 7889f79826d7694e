/**
 * Where a restore reads from: a savepoint or checkpoint directory (or its `_metadata` file), or
 * a job's checkpoint folder (`<dir>/<jobId>`, holding `chk-<n>` directories), in which case
 * the newest complete checkpoint is taken — partial or corrupt ones are skipped with a warning.
 * Either way the result has been verified, state files' checksums included.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { SluiceError, type Logger } from '@sluice/common';
import { findLatestCheckpoint, resolveCheckpoint, verifyCheckpoint, type CheckpointMetadata } from '@sluice/runtime';

export async function locateCheckpoint(path: string, logger: Logger): Promise<{ dir: string; meta: CheckpointMetadata }> {
  const abs = resolve(path);
  let found: { dir: string; meta: CheckpointMetadata };
  try {
    found = await resolveCheckpoint(abs);
  } catch (err) {
    if (!(err instanceof SluiceError) || err.code !== 'CHECKPOINT_NOT_FOUND') throw err;
    const entries = await readdir(abs).catch(() => [] as string[]);
    if (!entries.some((e) => /^chk-\d+$/.test(e))) throw err;
    const latest = await findLatestCheckpoint(dirname(abs), basename(abs), logger, { verifyChecksums: true });
    if (latest === undefined) {
      throw new SluiceError('CHECKPOINT_NOT_FOUND', `${abs} holds checkpoint directories, but none is complete and intact; restore from a savepoint instead`, { cause: err });
    }
    logger.info(`restoring from the newest complete checkpoint in ${abs}`, { path: latest.dir });
    return latest;
  }
  await verifyCheckpoint(found.dir, found.meta, { checksums: true });
  return found;
}
