/**
 * What a JobMaster knows about its job for monitoring, as plain numbers: status, restarts and
 * checkpoint statistics. The JobMaster (through the Dispatcher) hands these over as a
 * JobMetricsSource; the job registry turns them into Prometheus series at scrape time.
 */
import type { JobStatus } from '@sluice/protocol';

/** Checkpoint statistics of one job since its JobMaster started. Counts only grow. */
export interface CheckpointMetricsSnapshot {
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

export interface JobMetricsSnapshot {
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
  checkpoints: CheckpointMetricsSnapshot;
}

export interface JobMetricsSource {
  /** Every job the source knows, running and ended alike; the registry bounds what it exports. */
  snapshot(): JobMetricsSnapshot[];
}
