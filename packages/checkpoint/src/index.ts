/**
 * @sluice/checkpoint — the checkpoint format and its storage, shared by the TaskManagers that
 * write state files and the JobMaster that commits, finds, restores and prunes checkpoints:
 * the `_metadata` document and its encoding, state files, source positions as plain data,
 * restore assignment by key group, and the CheckpointStorage interface with its file system
 * implementation. Depends on @sluice/common and @sluice/protocol only.
 */
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  METADATA_FILE_NAME,
  operatorUid,
  type CheckpointErrorCode,
  type CheckpointMetadata,
  type KeyedStateHandle,
  type OperatorCheckpointState,
  type OperatorStateHandle,
} from './format.js';
export { writeStateFile, readSection, readSections, readWholeFile, type StateFileSection, type WrittenStateFile } from './state-file.js';
export {
  checkpointDir,
  writeMetadata,
  readMetadata,
  resolveCheckpoint,
  verifyCheckpoint,
  findLatestCheckpoint,
  pruneCheckpoints,
  type FindCheckpointOptions,
  type PruneResult,
  type VerifyOptions,
} from './storage.js';
export { assignKeyedState, assignOperatorState, type KeyedStateAssignment, type KeyedStateSlice, type OperatorStateAssignment } from './assignment.js';
export { takeSourcePosition, positionWatermark, sourcePositionProblem, type SourceSubtaskPosition } from './source-position.js';
export type { CheckpointStorage, StoredCheckpoint } from './checkpoint-storage.js';
export { FileSystemCheckpointStorage } from './fs-storage.js';
