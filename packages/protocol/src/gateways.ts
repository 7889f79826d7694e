/**
 * The remote contracts between components. Every method is async and takes plain data, so an
 * in-process call, a TCP RPC or a Mesos framework message can stand behind any of them without
 * the components changing. Components hold each other only as gateways, looked up by address
 * through an RpcService.
 */
import type { CheckpointAck, CheckpointDecline, StopMode } from './checkpoint.js';
import type { JobMasterToken, ResourceManagerId } from './fencing.js';
import type {
  CheckpointStatistics,
  CollectedRecords,
  ExecutionCounts,
  JobDetails,
  JobMasterRegistrationSuccess,
  JobMetrics,
  JobOverview,
  JobResult,
  JobStatus,
  JobSubmission,
  RegistrationResponse,
  ResourceRequirements,
  SlotAllocationAck,
  SlotId,
  SlotOffer,
  SlotReport,
  TaskDeploymentDescriptor,
  TaskExecutionState,
  TaskManagerInfo,
  TaskManagerLocation,
  TaskManagerRegistration,
} from './messages.js';

export interface DispatcherGateway {
  submitJob(submission: JobSubmission): Promise<{ jobId: string }>;
  listJobs(): Promise<JobOverview[]>;
  requestJobStatus(jobId: string): Promise<JobStatus>;
  cancelJob(jobId: string): Promise<void>;
  /** Resolves when the job reaches a terminal state. */
  requestJobResult(jobId: string): Promise<JobResult>;
  /** See JobMasterGateway.triggerSavepoint. */
  triggerSavepoint(jobId: string, targetDirectory: string, stop?: StopMode): Promise<{ path: string }>;
  /** The job's checkpoint counts and latest checkpoint, running or ended. */
  requestCheckpointStatistics(jobId: string): Promise<CheckpointStatistics>;
  /** Per-vertex status and counts and the failures so far, running or ended. */
  requestJobDetails(jobId: string): Promise<JobDetails>;
}

/**
 * Fencing: the first argument of a state-changing call is the token of the leader the caller
 * means (see fencing.ts); a stale one is refused with FENCING_TOKEN_MISMATCH and changes nothing.
 * Heartbeats (see heartbeat.ts) are refused with a not-connected code when the receiver no longer
 * counts the sender as a peer, which tells the sender it was dropped.
 */
export interface JobMasterGateway {
  /**
   * A TaskManager offers slots the ResourceManager allocated for this job; returns the accepted
   * ones. `location` says where its data exchange listens (absent: it shares the JobMaster's
   * in-process shuffle), so subtasks in other TaskManagers reach it over TCP.
   */
  offerSlots(jobMaster: JobMasterToken, resourceId: string, taskManagerAddress: string, offers: SlotOffer[], location?: TaskManagerLocation): Promise<SlotOffer[]>;
  updateTaskExecutionState(jobMaster: JobMasterToken, state: TaskExecutionState): Promise<void>;
  reportCollectedRecords(jobMaster: JobMasterToken, batch: CollectedRecords): Promise<void>;
  /** A subtask wrote its state for a checkpoint. */
  acknowledgeCheckpoint(jobMaster: JobMasterToken, ack: CheckpointAck): Promise<void>;
  /** A subtask could not take part in a checkpoint; the checkpoint is aborted. */
  declineCheckpoint(jobMaster: JobMasterToken, decline: CheckpointDecline): Promise<void>;
  /** The TaskManager is gone (its RM or itself says so); its tasks are lost. */
  disconnectTaskManager(resourceId: string, reason: string): Promise<void>;
  /** Refused with TASK_MANAGER_NOT_CONNECTED when this JobMaster holds no slot of that TaskManager. */
  heartbeatFromTaskManager(jobMaster: JobMasterToken, resourceId: string): Promise<void>;
  /** Refused with FENCING_TOKEN_MISMATCH when this JobMaster is registered at another ResourceManager. */
  heartbeatFromResourceManager(resourceManagerId: ResourceManagerId): Promise<void>;
  requestJobStatus(): Promise<JobStatus>;
  /** Resolves when the job reaches a terminal state (a long call: no timeout applies). */
  requestJobResult(): Promise<JobResult>;
  /** Checkpoint counts and the latest checkpoint, running or ended. */
  requestCheckpointStatistics(): Promise<CheckpointStatistics>;
  /** Per-vertex status and record counts of the current attempt, and the failures so far. */
  requestJobDetails(): Promise<JobDetails>;
  /** Status, restarts and checkpoint counters as plain numbers, for /metrics. */
  requestJobMetrics(): Promise<JobMetrics>;
  cancel(): Promise<void>;
  /**
   * Takes a savepoint into a new directory under `targetDirectory` and resolves with its path;
   * with `stop` the job then ends (FINISHED) instead of running on.
   */
  triggerSavepoint(targetDirectory: string, stop?: StopMode): Promise<{ path: string }>;
}

export interface ResourceManagerGateway {
  /** The answer names this ResourceManager's id, which the TaskManager's later calls carry. */
  registerTaskExecutor(registration: TaskManagerRegistration): Promise<RegistrationResponse>;
  sendSlotReport(resourceManagerId: ResourceManagerId, report: SlotReport): Promise<void>;
  /** Heartbeat carrying the full slot report; refused with TASK_MANAGER_NOT_REGISTERED for a dropped TaskManager. */
  heartbeatFromTaskExecutor(resourceManagerId: ResourceManagerId, report: SlotReport): Promise<void>;
  disconnectTaskExecutor(resourceManagerId: ResourceManagerId, resourceId: string, reason: string): Promise<void>;
  /** The answer names this ResourceManager's id and the heartbeat timing. */
  registerJobMaster(jobMaster: JobMasterToken, jobMasterAddress: string): Promise<JobMasterRegistrationSuccess>;
  declareResourceRequirements(resourceManagerId: ResourceManagerId, requirements: ResourceRequirements): Promise<void>;
  /** Refused with JOB_MASTER_NOT_REGISTERED when that JobMaster is not (or no longer) registered. */
  heartbeatFromJobMaster(resourceManagerId: ResourceManagerId, jobMaster: JobMasterToken): Promise<void>;
  disconnectJobMaster(resourceManagerId: ResourceManagerId, jobMaster: JobMasterToken, reason: string): Promise<void>;
  requestTaskManagerInfo(): Promise<TaskManagerInfo[]>;
}

export interface TaskExecutorGateway {
  /** The ResourceManager assigns a free slot to a job; the TaskManager then offers it to the JobMaster. */
  requestSlot(resourceManagerId: ResourceManagerId, slotId: SlotId, jobMaster: JobMasterToken, allocationId: string, jobMasterAddress: string): Promise<SlotAllocationAck>;
  /** Frees a slot (the ResourceManager's decision); tasks still running in it are cancelled. */
  freeSlot(resourceManagerId: ResourceManagerId, allocationId: string, reason: string): Promise<void>;
  /** Refused with FENCING_TOKEN_MISMATCH when this TaskManager is registered at another ResourceManager. */
  heartbeatFromResourceManager(resourceManagerId: ResourceManagerId): Promise<void>;
  submitTask(jobMaster: JobMasterToken, tdd: TaskDeploymentDescriptor): Promise<void>;
  cancelTask(jobMaster: JobMasterToken, executionId: string): Promise<void>;
  /**
   * Starts a checkpoint at a source subtask: it snapshots and sends barriers downstream. With
   * `stop`, the source ends its input right after (stop-with-savepoint; 'drain' sends the final
   * watermark first, so every event-time timer fires).
   */
  triggerCheckpoint(jobMaster: JobMasterToken, executionId: string, checkpointId: number, timestamp: number, stop?: StopMode): Promise<void>;
  /** The checkpoint completed (every subtask acknowledged, metadata written): commit side effects. */
  notifyCheckpointComplete(jobMaster: JobMasterToken, executionId: string, checkpointId: number): Promise<void>;
  notifyCheckpointAborted(jobMaster: JobMasterToken, executionId: string, checkpointId: number): Promise<void>;
  /** Refused with JOB_MASTER_NOT_CONNECTED when this TaskManager holds no slot for that JobMaster. */
  heartbeatFromJobMaster(jobMaster: JobMasterToken): Promise<void>;
  requestSlotReport(): Promise<SlotReport>;
  /** Live counts of the subtasks of `jobMaster`'s job running here (none: an empty list). */
  requestExecutionCounts(jobMaster: JobMasterToken): Promise<ExecutionCounts[]>;
}

/**
 * The entrypoint's job bundles (content-addressed by SHA-256), served to TaskManagers and
 * JobMasters over RPC, which the cluster secret authenticates.
 */
export interface ArtifactGateway {
  /** Up to `maxBytes` (at most 4 MiB) of bundle `id` from `offset`; `total` is the bundle's size. */
  readArtifact(id: string, offset: number, maxBytes: number): Promise<{ bytes: Uint8Array; total: number }>;
}
