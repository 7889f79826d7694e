/**
 * What the JobMaster does with checkpoint storage, as one interface: where a checkpoint goes,
 * committing it, finding one (by the user's pointer, or the newest of a job), verifying,
 * pruning, and copying one out as a savepoint. Locations are opaque strings to callers — a
 * directory path for the file system storage, which is the one implementation today — so
 * another store can stand behind the same calls. Metadata comes back with source positions as
 * plain data whatever format the checkpoint was written in.
 */
import type { Logger } from '@sluice/common';
import type { CheckpointMetadata } from './format.js';
import type { FindCheckpointOptions, PruneResult, VerifyOptions } from './storage.js';

/** A completed checkpoint or savepoint: where it is, and its metadata. */
export interface StoredCheckpoint {
  location: string;
  meta: CheckpointMetadata;
}

export interface CheckpointStorage {
  /**
   * Where checkpoint `id` of job `jobId` goes under `root` (the job's configured checkpoint
   * root). Subtasks write its state files there; `commit` adds the metadata.
   */
  checkpointLocation(root: string, jobId: string, id: number): string;
  /**
   * Completes a checkpoint: checks that every state file `meta` references is at `location`,
   * then writes the metadata atomically (the moment the checkpoint exists). Never overwrites a
   * completed checkpoint (`CHECKPOINT_EXISTS`).
   */
  commit(location: string, meta: CheckpointMetadata): Promise<void>;
  /**
   * A checkpoint or savepoint the user named: its location, or its `_metadata`. Throws
   * `CHECKPOINT_NOT_FOUND` when there is none, `_CORRUPT` or `_VERSION` for what cannot be read.
   * Does not check the state files (see `verify`).
   */
  resolve(pointer: string): Promise<StoredCheckpoint>;
  /** When `pointer` is a job's checkpoint folder (it holds checkpoints): its root and job id. */
  jobCheckpointsAt(pointer: string): Promise<{ root: string; jobId: string } | undefined>;
  /** Checks every state file the checkpoint references (size, header, CRC by default); throws `CHECKPOINT_CORRUPT`. */
  verify(checkpoint: StoredCheckpoint, options?: VerifyOptions): Promise<void>;
  /** The newest complete checkpoint of a job (partial or corrupt ones skipped with a warning), or undefined. */
  findLatest(root: string, jobId: string, logger: Logger, options?: FindCheckpointOptions): Promise<StoredCheckpoint | undefined>;
  /** Keeps the newest `retain` complete checkpoints of a job; failures are logged, not thrown. */
  prune(root: string, jobId: string, retain: number, logger: Logger): Promise<PruneResult>;
  /** Copies a completed checkpoint into a new self-contained savepoint under `target`; returns the savepoint's location. */
  copyToSavepoint(checkpoint: StoredCheckpoint, target: string): Promise<string>;
  /** Throws when `target` cannot take checkpoint or savepoint files (`what` names it in the message). */
  checkTarget(target: string, what: string): Promise<void>;
}
