/**
 * The Dispatcher's options and the parts of its job registry that are plain data: the job store
 * it writes through (a local directory or ZooKeeper behind @sluice/ha), what a new leader hands
 * it to recover, and one job's entry with what its JobMaster said last.
 */
import { SluiceError, type Clock, type Logger } from '@sluice/common';
import type { CheckpointStatistics, JobDetails, JobMetrics, JobResult, JobStatus, JobSubmission, RpcService } from '@sluice/protocol';
import type { SplitProvider } from '../jobmaster/deployment.js';
import type { InProcessJobMasterOptions, JobMasterRunner, JobMasterRunnerFactory } from './job-master-runner.js';

export interface DispatcherOptions {
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  /** Defaults to in-process JobMasters with `jobMaster` options and `splitProvider`. */
  jobMasterRunnerFactory?: JobMasterRunnerFactory;
  splitProvider?: SplitProvider;
  /** Options of the default in-process JobMasters (timeouts, heartbeats). */
  jobMaster?: Omit<InProcessJobMasterOptions, 'splitProvider' | 'logger'>;
  /** On close, how long running jobs get to cancel. */
  shutdownTimeoutMs?: number;
  /**
   * Where jobs outlive their JobMaster. With one, a JobMaster that dies (its process ends) is
   * replaced, up to `maxJobMasterRestarts` times per job, by one that resumes the job from the
   * latest checkpoint the store holds; without one such a job fails with JOB_MASTER_LOST.
   */
  jobStore?: DispatcherJobStore;
  /** Replacements of a dead JobMaster per job (default 3); only with a job store. */
  maxJobMasterRestarts?: number;
  clock?: Clock;
  logger?: Logger;
}

/** What survives a JobMaster: the Dispatcher's record of each job, for a replacement JobMaster. */
export interface DispatcherJobStore {
  jobSubmitted(submission: JobSubmission): Promise<void>;
  jobMasterStarted(jobId: string, attempt: number): Promise<void>;
  /** The latest checkpoint recorded for the job (by its JobMasters' `recordCheckpoint`). */
  latestCheckpoint(jobId: string): Promise<{ id: number; location: string } | undefined>;
  jobEnded(jobId: string, status: JobStatus, endTime: number): Promise<void>;
}

/** A job a previous leader accepted, as a new leader takes it over (`Dispatcher.recoverJob`). */
export interface RecoveredJob {
  submission: JobSubmission;
  /** JobMasters its previous leaders started; the first one here is this attempt. */
  jobMasterAttempts: number;
  /** Its latest completed checkpoint, which the new JobMaster resumes from. */
  latestCheckpoint?: { id: number; location: string };
}

export interface JobEntry {
  readonly submission: JobSubmission;
  readonly startTime: number;
  /** The current JobMaster's; replaced when a dead JobMaster is. */
  runner: JobMasterRunner;
  /** JobMasters started for the job so far, minus one: the current one's attempt. */
  attempt: number;
  /** Dead JobMasters this Dispatcher replaced (bounded by maxJobMasterRestarts). */
  replacements: number;
  /** Taken over from a previous leader: already in the job store. */
  recovered: boolean;
  /** Rejects `result` (leadership lost before the job ended). */
  abandon?: (err: unknown) => void;
  cancelRequested?: boolean;
  /** Resolves once the job ended and its final figures are recorded here. */
  readonly result: Promise<JobResult>;
  final?: { result: JobResult; statistics?: CheckpointStatistics; details?: JobDetails; metrics?: JobMetrics };
  /** The latest metrics the JobMaster reported (for synchronous readers like /metrics). */
  lastMetrics?: JobMetrics;
  endTime?: number;
  /**
   * Savepoint calls to the JobMaster not yet answered. A stop's savepoint is copied out after
   * the job has ended, so the JobMaster is closed only once they have settled.
   */
  savepoints?: Set<Promise<unknown>>;
}

/**
 * An ended job's details: what its JobMaster said last; when it could not say (it died first),
 * no vertices and the failure that ended the job.
 */
export function endedDetails(e: JobEntry, final: NonNullable<JobEntry['final']>): JobDetails {
  if (final.details !== undefined) return final.details;
  const error = final.result.error;
  const timestamp = e.endTime ?? e.startTime;
  return { vertices: [], exceptions: error === undefined ? [] : [{ timestamp, code: error.code, message: error.message }], exceptionsDropped: 0 };
}

/** Read through a call, so a check after an `await` is not narrowed by one before it. */
export function finalOf(e: JobEntry): JobEntry['final'] {
  return e.final;
}

/** A job's JobMaster has no address yet (its process is starting): retriable. */
export const JOB_MASTER_STARTING = 'JOB_MASTER_STARTING';

export class JobNotFoundError extends SluiceError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `no job with id '${jobId}' is known to this Dispatcher; list jobs to see the known ids`);
    this.name = 'JobNotFoundError';
  }
}
