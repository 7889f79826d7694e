/**
 * @sluice/runtime — the TaskManager and everything that executes subtasks: the slot table and
 * TaskExecutorGateway, the Piscina task runner and worker entry, the operator chain and task
 * loop, operators, keyed state and timers, channels (shared memory between a TaskManager's
 * threads, TCP between TaskManagers: the ShuffleService) and record serialization,
 * checkpoints (barriers, copy-on-write snapshots) and their storage (state files, `_metadata`,
 * restore assignment by key group).
 * Talks to the JobMaster and ResourceManager only through @sluice/protocol gateways.
 */
export * from './operators/types.js';
export * from './taskmanager/task-runner.js';
export { TaskManager, type TaskManagerOptions } from './taskmanager/task-manager.js';
export { PiscinaTaskRunner, type PiscinaTaskRunnerOptions } from './worker/piscina-task-runner.js';
export { LocalShuffleService } from './shuffle/local-shuffle-service.js';
export { channelKind, type ShuffleService, type ResultPartitionId, type InputChannelRequest, type OutputChannelRequest } from './shuffle/shuffle-service.js';
export { NetworkShuffleService, type NetworkShuffleServiceOptions } from './shuffle/network-shuffle-service.js';
export { createPlainDataTransport, type DataTransport, type PlainDataTransportOptions } from './shuffle/tcp/transport.js';
export type { RemoteChannelInfo } from './shuffle/tcp/channels.js';
export { loadJob, buildJob, importJobBuilder, type LoadedJob, type JobBuilder } from './task/job-loader.js';
export { createOperator } from './operators/factory.js';
export { createRecordSerializer, RecordSerializer } from './serialization/index.js';
export { HeapKeyedStateBackend } from './state/heap-backend.js';
export { InternalTimerService, type TimersSnapshot } from './state/timer-service.js';
export { KeyRoutingError, StateAccessError, StateIncompatibleError } from './state/errors.js';
export { operatorUid } from './task/checkpointing.js';
export type { SourceOperatorState } from './operators/source.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  METADATA_FILE_NAME,
  type CheckpointErrorCode,
  type CheckpointMetadata,
  type KeyGroupSection,
  type KeyedStateHandle,
  type OperatorCheckpointState,
  type OperatorStateHandle,
  type StateFileHandle,
} from './checkpoint/format.js';
export { writeStateFile, readSection, readSections, readWholeFile, type StateFileSection, type WrittenStateFile } from './checkpoint/state-file.js';
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
} from './checkpoint/storage.js';
export {
  assignKeyedState,
  assignOperatorState,
  type KeyedStateAssignment,
  type KeyedStateSlice,
  type OperatorStateAssignment,
} from './checkpoint/assignment.js';
