/**
 * @sluice/runtime — the TaskManager and everything that executes subtasks: the slot table and
 * TaskExecutorGateway, the Piscina task runner and worker entry, the operator chain and task
 * loop, operators, keyed state and timers, channels (shared memory between a TaskManager's
 * threads, TCP between TaskManagers: the ShuffleService), record serialization, and the subtask
 * side of checkpoints (barriers, copy-on-write snapshots, source positions). Checkpoint files
 * and their format come from @sluice/checkpoint.
 * Talks to the JobMaster and ResourceManager only through @sluice/protocol gateways.
 */
export * from './operators/types.js';
export * from './taskmanager/task-runner.js';
export { TaskManager, type TaskManagerOptions } from './taskmanager/task-manager.js';
export { DEFAULT_WORKER_YOUNG_GENERATION_MB, PiscinaTaskRunner, type PiscinaTaskRunnerOptions } from './worker/piscina-task-runner.js';
export { LocalShuffleService } from './shuffle/local-shuffle-service.js';
export { channelKind, type ShuffleService, type ResultPartitionId, type InputChannelRequest, type OutputChannelRequest } from './shuffle/shuffle-service.js';
export { NetworkShuffleService, type NetworkShuffleServiceOptions } from './shuffle/network-shuffle-service.js';
export { createPlainDataTransport, type DataTransport, type PlainDataTransportOptions } from './shuffle/tcp/transport.js';
export type { RemoteChannelInfo } from './shuffle/tcp/channels.js';
export { createOperator } from './operators/factory.js';
export { BufferDataOutput, createRecordSerializer, RecordSerializer } from './serialization/index.js';
export { HeapKeyedStateBackend } from './state/heap-backend.js';
export { InternalTimerService, type TimersSnapshot } from './state/timer-service.js';
export { KeyRoutingError, StateAccessError, StateIncompatibleError } from './state/errors.js';
