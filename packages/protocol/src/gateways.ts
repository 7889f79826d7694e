/**
 * The remote contracts between components. Every method is async and takes plain data, so an
 * in-process call, a TCP RPC or a Mesos framework message can stand behind any of them without
 * the components changing. Components hold each other only as gateways, looked up by address
 * through an RpcService.
 */
import type { CheckpointAck, CheckpointDecline, StopMode } from './checkpoint.js';
import type {
  CheckpointStatistics,
  CollectedRecords,
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
}

export interface JobMasterGateway {
  /** A TaskManager offers slots the ResourceManager allocated for this job; returns the accepted ones. */
  offerSlots(resourceId: string, taskManagerAddress: string, offers: SlotOffer[]): Promise<SlotOffer[]>;
  updateTaskExecutionState(state: TaskExecutionState): Promise<void>;
  reportCollectedRecords(batch: CollectedRecords): Promise<void>;
  /** The TaskManager is gone; its tasks are lost. */
  disconnectTaskManager(resourceId: string, reason: string): Promise<void>;
  requestJobStatus(): Promise<JobStatus>;
  cancel(): Promise<void>;
  /** A subtask wrote its state for a checkpoint. */
  acknowledgeCheckpoint(ack: CheckpointAck): Promise<void>;
  /** A subtask could not take part in a checkpoint; the checkpoint is aborted. */
  declineCheckpoint(decline: CheckpointDecline): Promise<void>;
  /**
   * Takes a savepoint into a new directory under `targetDirectory` and resolves with its path;
   * with `stop` the job then ends (FINISHED) instead of running on.
   */
  triggerSavepoint(targetDirectory: string, stop?: StopMode): Promise<{ path: string }>;
}

export interface ResourceManagerGateway {
  registerTaskExecutor(registration: TaskManagerRegistration): Promise<RegistrationResponse>;
  sendSlotReport(report: SlotReport): Promise<void>;
  /** Heartbeat carrying the full slot report. */
  heartbeatFromTaskExecutor(report: SlotReport): Promise<void>;
  disconnectTaskExecutor(resourceId: string, reason: string): Promise<void>;
  registerJobMaster(jobId: string, jobMasterAddress: string): Promise<void>;
  declareResourceRequirements(requirements: ResourceRequirements): Promise<void>;
  disconnectJobMaster(jobId: string, reason: string): Promise<void>;
  requestTaskManagerInfo(): Promise<TaskManagerInfo[]>;
}

export interface TaskExecutorGateway {
  /** The ResourceManager assigns a free slot to a job; the TaskManager then offers it to the JobMaster. */
  requestSlot(slotId: SlotId, jobId: string, allocationId: string, jobMasterAddress: string): Promise<SlotAllocationAck>;
  submitTask(tdd: TaskDeploymentDescriptor): Promise<void>;
  cancelTask(executionId: string): Promise<void>;
  /**
   * Starts a checkpoint at a source subtask: it snapshots and sends barriers downstream. With
   * `stop`, the source ends its input right after (stop-with-savepoint; 'drain' sends the final
   * watermark first, so every event-time timer fires).
   */
  triggerCheckpoint(executionId: string, checkpointId: number, timestamp: number, stop?: StopMode): Promise<void>;
  /** The checkpoint completed (every subtask acknowledged, metadata written): commit side effects. */
  notifyCheckpointComplete(executionId: string, checkpointId: number): Promise<void>;
  notifyCheckpointAborted(executionId: string, checkpointId: number): Promise<void>;
  /** Frees a slot; tasks still running in it are cancelled. */
  freeSlot(allocationId: string, reason: string): Promise<void>;
  requestSlotReport(): Promise<SlotReport>;
}
