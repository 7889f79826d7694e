/**
 * CheckpointStorage on a file system (local disk, or a mount every TaskManager and the JobMaster
 * see at the same path): locations are absolute directory paths, laid out and written as
 * storage.ts describes. Reads of older formats convert source state files into plain
 * positions (legacy-positions.ts).
 */
import { copyFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkStorageDirectory, ensureDirectory, randomId, type Logger } from '@sluice/common';
import type { CheckpointStorage, StoredCheckpoint } from './checkpoint-storage.js';
import type { CheckpointMetadata } from './format.js';
import { withPlainSourcePositions } from './legacy-positions.js';
import {
  checkpointDir,
  findLatestCheckpoint,
  pruneCheckpoints,
  resolveCheckpoint,
  verifyCheckpoint,
  writeMetadata,
  type FindCheckpointOptions,
  type PruneResult,
  type VerifyOptions,
} from './storage.js';

const CHECKPOINT_DIR_NAME = /^chk-\d+$/;

export class FileSystemCheckpointStorage implements CheckpointStorage {
  checkpointLocation(root: string, jobId: string, id: number): string {
    return checkpointDir(resolve(root), jobId, id);
  }

  async commit(location: string, meta: CheckpointMetadata): Promise<void> {
    // Subtasks with no state write no files, so the directory may not exist yet.
    await ensureDirectory(location, 'checkpoint directory');
    await writeMetadata(location, meta);
  }

  async resolve(pointer: string): Promise<StoredCheckpoint> {
    const { dir, meta } = await resolveCheckpoint(resolve(pointer));
    return { location: dir, meta: await withPlainSourcePositions(dir, meta) };
  }

  async jobCheckpointsAt(pointer: string): Promise<{ root: string; jobId: string } | undefined> {
    const abs = resolve(pointer);
    const entries = await readdir(abs).catch(() => [] as string[]);
    return entries.some((e) => CHECKPOINT_DIR_NAME.test(e)) ? { root: dirname(abs), jobId: basename(abs) } : undefined;
  }

  verify(checkpoint: StoredCheckpoint, options?: VerifyOptions): Promise<void> {
    return verifyCheckpoint(checkpoint.location, checkpoint.meta, options);
  }

  async findLatest(root: string, jobId: string, logger: Logger, options?: FindCheckpointOptions): Promise<StoredCheckpoint | undefined> {
    const found = await findLatestCheckpoint(resolve(root), jobId, logger, options);
    if (found === undefined) return undefined;
    return { location: found.dir, meta: await withPlainSourcePositions(found.dir, found.meta) };
  }

  prune(root: string, jobId: string, retain: number, logger: Logger): Promise<PruneResult> {
    return pruneCheckpoints(resolve(root), jobId, retain, logger);
  }

  /** A new `savepoint-<job>-<id>-<random>` directory under `target`, with the state files copied and its own `_metadata` (kind 'savepoint'). */
  async copyToSavepoint(checkpoint: StoredCheckpoint, target: string): Promise<string> {
    const { location, meta } = checkpoint;
    const out = join(resolve(target), `savepoint-${meta.jobId.slice(0, 6)}-${meta.checkpointId}-${randomId(3)}`);
    await ensureDirectory(out, 'savepoint directory');
    const files = new Set<string>();
    for (const op of meta.operators) {
      for (const h of op.keyed) files.add(h.file);
      for (const h of op.operator) files.add(h.file);
    }
    for (const f of files) await copyFile(join(location, f), join(out, f));
    await writeMetadata(out, { ...meta, kind: 'savepoint' });
    return out;
  }

  checkTarget(target: string, what: string): Promise<void> {
    return checkStorageDirectory(target, { what });
  }
}
