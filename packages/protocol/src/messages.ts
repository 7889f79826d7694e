/**
 * Messages between Dispatcher, JobMaster, ResourceManager and TaskManager. Plain data only, so
 * any transport (in-process, TCP, Mesos framework messages) can carry them.
 */
import type { SerializedError } from '@sluice/common';
import type { SourcePosition, SubtaskRestore } from './checkpoint.js';
import type { JobMasterToken, ResourceManagerId } from './fencing.js';
import type { JobConfig, JobGraph } from './jobgraph.js';

export type JobStatus =
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED';

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

export type ExecutionState =
  | 'CREATED'
  | 'SCHEDULED'
  | 'DEPLOYING'
  | 'INITIALIZING'
  | 'RUNNING'
  | 'FINISHED'
  | 'CANCELING'
  | 'CANCELED'
  | 'FAILED';

export const TERMINAL_EXECUTION_STATES: ReadonlySet<ExecutionState> = new Set(['FINISHED', 'CANCELED', 'FAILED']);

/** Where the job's code lives and how to rebuild its graph: an ES module plus its parameters. */
export interface JobArtifact {
  /** Absolute path or file URL of a JavaScript ES module whose default export builds the job. */
  entry: string;
  /** The file the user wrote, when `entry` was compiled from it; error messages name this one. */
  source?: string;
  /**
   * The bundle's id (its SHA-256) in the cluster's artifact store, when it was uploaded: a
   * process on another host, where `entry` is not on disk, fetches the bundle by this id.
   */
  bundle?: string;
  /** `-D key=value` parameters, visible to the job as `env.params`. */
  params: Record<string, string>;
  /** Parallelism given on submission (`-p`), applied while the graph is built. */
  parallelism?: number;
  /** Runtime configuration overrides given on submission (e.g. `--buffer-timeout`). */
  config?: Partial<JobConfig>;
}

export interface JobSubmission {
  jobId: string;
  jobName: string;
  artifact: JobArtifact;
  jobGraph: JobGraph;
  /** Start from a savepoint or retained checkpoint (its directory or `_metadata` file). */
  restoreFrom?: { path: string; allowNonRestoredState?: boolean };
}

export interface SlotId {
  resourceId: string;
  slotIndex: number;
}

export interface SlotStatus {
  slotId: SlotId;
  /** Set while the slot is allocated. */
  allocationId?: string;
  jobId?: string;
}

/** A TaskManager's complete slot table. `seq` increases per report so a stale one is ignored. */
export interface SlotReport {
  resourceId: string;
  seq: number;
  slots: SlotStatus[];
}

/**
 * A TaskManager's answer to a slot request. Reports it sent earlier may still be on their way and
 * show the slot free; from `reportSeq` on, its reports show the allocation (or a later change).
 */
export interface SlotAllocationAck {
  reportSeq: number;
}

export interface TaskManagerRegistration {
  resourceId: string;
  /** RPC address of the TaskManager's TaskExecutorGateway. */
  address: string;
  numberOfSlots: number;
  /** Where the TaskManager serves Prometheus metrics, if it does. */
  metricsUrl?: string;
  /**
   * Where its data exchange listens (TCP between TaskManagers); absent for a TaskManager that
   * shares one in-process shuffle with the others (the embedded cluster).
   */
  dataAddress?: DataAddress;
}

export interface RegistrationSuccess {
  type: 'RegistrationSuccess';
  registrationId: string;
  /** The fencing token of the ResourceManager the TaskManager registered with. */
  resourceManagerId: ResourceManagerId;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface JobMasterRegistrationSuccess {
  /** The fencing token of the ResourceManager the JobMaster registered with. */
  resourceManagerId: ResourceManagerId;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}
export interface RegistrationRejection {
  type: 'RegistrationRejection';
  reason: string;
}
export type RegistrationResponse = RegistrationSuccess | RegistrationRejection;

export interface ResourceRequirements {
  jobId: string;
  jobMaster: JobMasterToken;
  jobMasterAddress: string;
  /** Slots wanted for the job; 0 releases everything. */
  slots: number;
}

export interface SlotOffer {
  allocationId: string;
  slotIndex: number;
}

/** Where a TaskManager's data exchange (TCP between TaskManagers) can be reached. */
export interface DataAddress {
  host: string;
  port: number;
}

/** Which TaskManager runs a subtask, and where its data exchange listens. */
export interface TaskManagerLocation {
  resourceId: string;
  /** Absent for a TaskManager without a data exchange (every channel to it is local). */
  dataAddress?: DataAddress;
}

export interface InputGateDescriptor {
  edgeId: string;
  inputIndex: 0 | 1;
  producerVertexId: string;
  producerParallelism: number;
  /**
   * Where each producer subtask runs, in producer-subtask order; absent: all in this
   * TaskManager (or in this process, for the embedded cluster's shared shuffle service).
   */
  producerLocations?: TaskManagerLocation[];
}

export interface ResultPartitionDescriptor {
  edgeId: string;
  consumerVertexId: string;
  consumerParallelism: number;
  /** Where each consumer subtask runs, in consumer-subtask order; absent: as for producerLocations. */
  consumerLocations?: TaskManagerLocation[];
}

/** Everything a TaskManager needs to run one subtask. */
export interface TaskDeploymentDescriptor {
  jobId: string;
  jobName: string;
  executionId: string;
  /** Restart generation of the job; channels of different generations never mix. */
  attempt: number;
  vertexId: string;
  vertexName: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  allocationId: string;
  artifact: JobArtifact;
  config: JobConfig;
  inputs: InputGateDescriptor[];
  outputs: ResultPartitionDescriptor[];
  /** Source splits assigned to this subtask (plain data defined by the source). */
  splits: unknown[];
  /** Set when the subtask starts from a checkpoint or savepoint (its splits are then restored ones). */
  restore?: SubtaskRestore;
}

/** Final record counts of one operator of one subtask (or summed over subtasks in a JobResult). */
export interface OperatorRecordCounts {
  nodeId: number;
  name: string;
  vertexId: string;
  recordsIn: number;
  recordsOut: number;
}

/**
 * What one running subtask has counted so far, read from its live counters when its JobMaster asks
 * (for the job's details): per operator of its chain, and where its time went.
 */
export interface ExecutionCounts {
  executionId: string;
  operators: { nodeId: number; recordsIn: number; recordsOut: number }[];
  /** Cumulative ms since the subtask started; absent when the runner does not measure them. */
  time?: { busyMs: number; backpressuredMs: number; idleMs: number };
}

export interface TaskExecutionState {
  jobId: string;
  executionId: string;
  state: ExecutionState;
  error?: SerializedError;
  /** Set on terminal states: what each operator of the chain processed. */
  operators?: OperatorRecordCounts[];
  /**
   * FINISHED source subtasks: the source's position at its end (its splits at their final
   * positions). Checkpoints taken after the subtask ended carry it, so a restore neither reads
   * its splits again nor forgets them.
   */
  finalSourceState?: SourcePosition;
}

/** Records gathered by a collect sink, shipped to the JobMaster in batches (tests and debugging). */
export interface CollectedRecords {
  jobId: string;
  executionId: string;
  sinkName: string;
  subtaskIndex: number;
  records: unknown[];
}

/** A job's checkpoints so far, as its JobMaster counts them (REST `GET /jobs/:id/checkpoints`). */
export interface CheckpointStatistics {
  counts: {
    completed: number;
    /** Declined, timed out or not written (abandoned by a restart or the job's end: not counted). */
    failed: number;
    inProgress: number;
  };
  /** The most recent failed checkpoint and why it failed; absent while none has. */
  lastFailure?: CheckpointFailure;
  /** The latest completed checkpoint, or the one the job was restored from; absent before either. */
  latest?: {
    id: number;
    /** Its directory: `--from-savepoint` accepts it. */
    path: string;
    /** True when it is the checkpoint or savepoint the job started from (no figures of its own). */
    restored: boolean;
    durationMs?: number;
    sizeBytes?: number;
    /** Longest barrier alignment, synchronous part and processing hold over the subtasks. */
    alignmentMs?: number;
    syncMs?: number;
    maxPauseMs?: number;
  };
}

export interface CheckpointFailure {
  checkpointId: number;
  /** When it was given up (ms since the epoch). */
  timestamp: number;
  reason: string;
}

export interface JobOverview {
  jobId: string;
  jobName: string;
  status: JobStatus;
  startTime: number;
  endTime?: number;
}

export interface JobResult {
  jobId: string;
  jobName: string;
  status: 'FINISHED' | 'FAILED' | 'CANCELED';
  durationMs: number;
  error?: SerializedError;
  /** Collect-sink name → records, in arrival order per subtask. */
  collected: Record<string, unknown[]>;
  /**
   * Per operator, summed over its subtasks and over every attempt (what each subtask reported
   * when it ended, however it ended), so records replayed after a restart count again.
   */
  operators: OperatorRecordCounts[];
  /** How often the job restarted after a failure (absent: never). */
  restarts?: number;
  /** Checkpoints completed and failed over the job's life, when it took or tried any. */
  checkpoints?: { completed: number; failed: number; lastFailure?: CheckpointFailure };
  /** The last completed checkpoint, when the job took any. */
  lastCheckpoint?: { id: number; path: string; durationMs: number; bytes: number; maxPauseMs: number };
}

/**
 * One vertex (a chain of operators) of a job, as its JobMaster sees the current attempt. Records
 * follow Flink's FLIP-33: a source's records in are those it read (emitted), a sink's records out
 * those it wrote (received); other chains count what crossed their network inputs and outputs.
 */
export interface JobVertexDetails {
  id: string;
  name: string;
  parallelism: number;
  /** Subtasks by ExecutionState name; states without subtasks are absent. */
  subtasks: Record<string, number>;
  recordsIn: number;
  recordsOut: number;
  /** Highest share of recent time any subtask spent blocked on a full output, 0..1; absent while unknown. */
  backpressure?: number;
}

/** A failure that made the job restart or ended it. */
export interface JobException {
  /** When the JobMaster handled it (ms since the epoch). */
  timestamp: number;
  code: string;
  message: string;
  /** The failed subtask (0-based index) and its TaskManager, when one subtask's failure caused it. */
  vertexId?: string;
  vertexName?: string;
  subtask?: number;
  taskManager?: string;
}

/** Per-vertex status and counts of a job and its failures so far (REST `GET /jobs/:id`). */
export interface JobDetails {
  vertices: JobVertexDetails[];
  /** Oldest first; only the most recent ones are kept. */
  exceptions: JobException[];
  /** Failures older than those in `exceptions` that were dropped to bound it. */
  exceptionsDropped: number;
}

export interface TaskManagerInfo {
  resourceId: string;
  address: string;
  numberOfSlots: number;
  freeSlots: number;
  metricsUrl?: string;
  dataAddress?: DataAddress;
}

/** Checkpoint counters of one job since its JobMaster started. Counts only grow. */
export interface CheckpointCounters {
  completed: number;
  /** Declined, timed out or not written; checkpoints abandoned by a restart or the job's end are not failures. */
  failed: number;
  inProgress: number;
  /** Latest completed checkpoint, or the one restored from; 0 before either. */
  lastCompletedId: number;
  /** Of the latest checkpoint completed by this JobMaster; meaningless while `completed` is 0. */
  lastDurationMs: number;
  lastSizeBytes: number;
  /** Longest barrier alignment over the subtasks. */
  lastAlignmentMs: number;
  /** Longest synchronous snapshot part (processing paused) over the subtasks. */
  lastSyncMs: number;
  /** Longest time processing was held in any subtask: the synchronous part or one key group's copy-on-write capture. */
  lastMaxPauseMs: number;
}

/** What a JobMaster reports about its job for monitoring, as plain numbers. */
export interface JobMetrics {
  jobId: string;
  jobName: string;
  status: JobStatus;
  /** Restarts after failures so far. */
  restarts: number;
  /** Wall-clock ms when the job last became RUNNING (its start or latest restart); absent if never. */
  runningSince?: number;
  /**
   * Wall-clock ms when the job reached a terminal status; set exactly when it did. Ended jobs
   * stay exported with their final values for a while (see JobMetricsRegistryOptions).
   */
  endTime?: number;
  checkpoints: CheckpointCounters;
}
