/**
 * @sluice/checkpoint/testing — an in-memory CheckpointStorage for tests of what sits above the
 * storage (the coordinator, locating and planning a restore). No files: metadata is validated
 * and encoded exactly as the file system storage would write it, and read back decoded, so a
 * test sees what a restore would see. Locations look like paths but are only map keys.
 */
import { SluiceError, type Logger } from '@sluice/common';
import type { CheckpointStorage, StoredCheckpoint } from './checkpoint-storage.js';
import { checkpointError, decodeMetadata, encodeMetadata, METADATA_FILE_NAME, validateMetadataForWrite, type CheckpointMetadata } from './format.js';
import type { PruneResult } from './storage.js';

export class TestingCheckpointStorage implements CheckpointStorage {
  /** Committed checkpoints and savepoints: location → the `_metadata` text. */
  readonly committed = new Map<string, string>();
  /** Locations whose state files `verify` finds damaged. */
  readonly damaged = new Set<string>();
  /** Targets `checkTarget` refuses. */
  readonly unwritable = new Set<string>();
  /** Every call's name and first argument, in order. */
  readonly calls: string[] = [];

  checkpointLocation(root: string, jobId: string, id: number): string {
    return `${root}/${jobId}/chk-${id}`;
  }

  async commit(location: string, meta: CheckpointMetadata): Promise<void> {
    this.calls.push(`commit ${location}`);
    if (this.committed.has(location)) throw checkpointError('CHECKPOINT_EXISTS', `${location} already holds a completed checkpoint`);
    this.committed.set(location, encodeMetadata(validateMetadataForWrite(meta)));
  }

  async resolve(pointer: string): Promise<StoredCheckpoint> {
    this.calls.push(`resolve ${pointer}`);
    const location = pointer.endsWith(`/${METADATA_FILE_NAME}`) ? pointer.slice(0, -METADATA_FILE_NAME.length - 1) : pointer;
    const text = this.committed.get(location);
    if (text === undefined) throw checkpointError('CHECKPOINT_NOT_FOUND', `no checkpoint or savepoint at ${pointer}`);
    return { location, meta: decodeMetadata(text, location) };
  }

  async jobCheckpointsAt(pointer: string): Promise<{ root: string; jobId: string } | undefined> {
    if (this.idsUnder(pointer).length === 0) return undefined;
    const cut = pointer.lastIndexOf('/');
    return { root: pointer.slice(0, cut), jobId: pointer.slice(cut + 1) };
  }

  async verify(checkpoint: StoredCheckpoint): Promise<void> {
    this.calls.push(`verify ${checkpoint.location}`);
    if (this.damaged.has(checkpoint.location)) throw checkpointError('CHECKPOINT_CORRUPT', `checkpoint ${checkpoint.location} is corrupt: a state file is damaged`);
  }

  async findLatest(root: string, jobId: string, logger: Logger): Promise<StoredCheckpoint | undefined> {
    for (const id of this.idsUnder(`${root}/${jobId}`)) {
      const location = this.checkpointLocation(root, jobId, id);
      if (!this.damaged.has(location)) return this.resolve(location);
      logger.warn(`skipping checkpoint ${location}: a state file is damaged`);
    }
    return undefined;
  }

  async prune(root: string, jobId: string, retain: number): Promise<PruneResult> {
    const ids = this.idsUnder(`${root}/${jobId}`);
    for (const id of ids.slice(retain)) this.committed.delete(this.checkpointLocation(root, jobId, id));
    return { kept: ids.slice(0, retain), deleted: ids.slice(retain), failed: [] };
  }

  async copyToSavepoint(checkpoint: StoredCheckpoint, target: string): Promise<string> {
    const location = `${target}/savepoint-${checkpoint.meta.checkpointId}`;
    await this.commit(location, { ...checkpoint.meta, kind: 'savepoint' });
    return location;
  }

  async checkTarget(target: string, what: string): Promise<void> {
    if (this.unwritable.has(target)) throw new SluiceError('STORAGE_DIRECTORY', `${what} ${target} is not writable`);
  }

  /** Ids of the committed checkpoints in a job folder, newest first. */
  private idsUnder(jobLocation: string): number[] {
    const ids: number[] = [];
    for (const location of this.committed.keys()) {
      const m = /^(.*)\/chk-(\d+)$/.exec(location);
      if (m?.[1] === jobLocation) ids.push(Number(m[2]));
    }
    return ids.sort((a, b) => b - a);
  }
}
