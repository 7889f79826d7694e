/**
 * Checkpoint messages between tasks and the JobMaster's checkpoint coordinator, and what a
 * subtask is told to restore. Plain data. State itself never travels here: subtasks write it to
 * files in the checkpoint directory and report where (file, size, checksum, key-group offsets).
 * The one exception is a source's position (its splits and watermark): small, plain JSON data
 * that the JobMaster needs to deal splits out again, so it travels in the acknowledgement and
 * the checkpoint's metadata records it.
 */
import type { SerializedError } from '@sluice/common';

/** A file in a checkpoint directory, by name relative to that directory. */
export interface StateFileRef {
  /** File name relative to the checkpoint directory (no path separators). */
  file: string;
  /** Size of the whole file, header included. */
  bytes: number;
  /** CRC-32 (zlib) of the whole file, header included. */
  crc32: number;
}

/** Where one key group's state sits inside a keyed state file. */
export interface KeyGroupSectionRef {
  keyGroup: number;
  /** Byte offset from the start of the file (after the header). */
  offset: number;
  length: number;
  /** CRC-32 of the section, checked when it is read back. */
  crc32: number;
}

/**
 * What one piece of an operator's state is, so a restore can tell whether a checkpoint's state
 * fits the job it is restored into. Keyed states come from the subtasks (user state as declared:
 * 'value', 'list', 'map', 'reducing', 'aggregating'; the runtime's own tables, named
 * `__sluice.<table>`: 'internal', 'namespaced', 'timers'); the operator's own state comes from the
 * job graph ('source' splits, 'sink' state, 'window' contents), with `type` saying what it holds.
 */
export interface StateShape {
  name: string;
  kind: string;
  /** What the state holds where the kind does not say it: a source's split type, a sink's type, a window's contents. */
  type?: string;
}

/**
 * Where a source subtask is: the splits it reads with their positions (what its reader's
 * `snapshotState` returned) and the watermark it has sent. JSON-representable throughout, so
 * any transport carries it and the checkpoint metadata stores it as it is.
 */
export interface SourcePosition {
  /** The reader's splits, plain JSON data (objects, arrays, strings, finite numbers, booleans, null). */
  splits: unknown[];
  /** The watermark sent so far: absent when none yet, 'end' once the final watermark went out (input over, or drained). */
  watermark?: number | 'end';
}

/** One operator's share of one subtask's snapshot. */
export interface SubtaskOperatorState {
  nodeId: number;
  uid: string;
  /** The keyed states this subtask's operator has declared (its backend's tables and timers). */
  states?: StateShape[];
  /** Keyed state and timers, one section per key group holding any. */
  keyed?: StateFileRef & { keyGroups: KeyGroupSectionRef[] };
  /** Operator (non-keyed) state: sink transactions, window contents. One opaque blob. */
  operator?: StateFileRef;
  /** The head of a source chain: its position, as plain data (no state file). */
  source?: SourcePosition;
}

export interface CheckpointStats {
  /** Bytes written by this subtask. */
  bytes: number;
  /** Time processing was held for the synchronous part of the snapshot. */
  syncMs: number;
  /** Time from the barrier to the acknowledgement, minus the synchronous part. */
  asyncMs: number;
  /** Time between the first and the last barrier of the checkpoint at this subtask's inputs. */
  alignmentMs: number;
  /**
   * Longest time processing was held for this checkpoint: the synchronous part, or one key
   * group's copy-on-write capture, whichever was longer.
   */
  maxPauseMs: number;
}

export interface CheckpointAck {
  jobId: string;
  executionId: string;
  checkpointId: number;
  operators: SubtaskOperatorState[];
  stats: CheckpointStats;
}

export interface CheckpointDecline {
  jobId: string;
  executionId: string;
  checkpointId: number;
  reason: SerializedError;
}

/** A state file to read on restore: `dir` is the checkpoint directory it lives in. */
export interface RestoreFileRef extends StateFileRef {
  dir: string;
}

export interface OperatorRestore {
  uid: string;
  /** Keyed state files with the sections of the key groups this subtask now owns. */
  keyed: (RestoreFileRef & { keyGroups: KeyGroupSectionRef[] })[];
  /** Operator state blobs for this subtask (non-source operators at unchanged parallelism). */
  operator: RestoreFileRef[];
  /**
   * The keyed states the checkpoint recorded for this operator; a state the job declares under
   * one of these names must have the same kind. Absent for checkpoints that did not record them.
   */
  states?: StateShape[];
}

export interface SubtaskRestore {
  checkpointId: number;
  /** Operators of the chain to restore, by StreamGraph node id. */
  operators: Record<number, OperatorRestore>;
  /** For source chains: no watermark at or below this is emitted again (the restored event time). */
  sourceWatermark?: number;
}

/** How a stop-with-savepoint ends the job: 'terminate' just stops; 'drain' first sends the final watermark, so all event-time timers fire. */
export type StopMode = 'terminate' | 'drain';
