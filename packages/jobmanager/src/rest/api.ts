/**
 * The REST API's wire format: request and response bodies as plain JSON types, shared by the
 * server here and by clients (the CLI imports these as types only, so it loads no engine code).
 *
 *   GET  /jobs                    → JobsResponse
 *   GET  /jobs/:id                → JobDetailsResponse
 *   GET  /jobs/:id/checkpoints    → CheckpointsResponse
 *   POST /jobs/:id/savepoints     SavepointRequest → SavepointResponse (when the savepoint is complete)
 *   POST /jobs/:id/stop           StopRequest → SavepointResponse (then the job ends FINISHED)
 *   POST /jobs/:id/cancel         (empty or {}) → CancelResponse (202: cancelling has begun)
 *
 * Every request needs a Host naming the server and no Origin of another site; every POST needs
 * `Content-Type: application/json` and `Authorization: Bearer <token>` (see security.ts).
 *
 * Every error is a RestErrorResponse: 400 malformed body or a savepoint directory refused
 * (SAVEPOINT_TARGET: '..' segments, outside the allowed roots, not writable), 401 missing or
 * wrong token, 403 foreign Host or Origin, 404 unknown job or route, 405 wrong method, 409 job
 * not running, 413 body too large, 415 not JSON, 500 anything else.
 */
import type { SerializedError } from '@sluice/common';
import type { CheckpointFailure, CheckpointStatistics, JobOverview, JobResult, JobStatus } from '@sluice/protocol';

export interface JobsResponse {
  /** Oldest first. */
  jobs: JobOverview[];
}

/**
 * A job's outcome without `collected` (collect-sink records are a testing aid that can be large)
 * and without stack traces (they describe the server, not the request).
 */
export interface RestJobResult extends Omit<JobResult, 'jobId' | 'jobName' | 'collected' | 'error'> {
  error?: Omit<SerializedError, 'stack'>;
}

export interface JobDetailsResponse extends JobOverview {
  /** Checkpoints so far, and the last failed one's reason (running or ended). */
  checkpoints: CheckpointStatistics['counts'] & { lastFailure?: CheckpointFailure };
  /** Present once the job has ended (FINISHED, FAILED or CANCELED). */
  result?: RestJobResult;
}

/** Checkpoint counts and the latest checkpoint of a job, running or ended. */
export interface CheckpointsResponse extends CheckpointStatistics {
  jobId: string;
}

export interface SavepointRequest {
  /** Absolute path of a directory; the savepoint becomes a new directory inside it. */
  targetDirectory: string;
}

export interface StopRequest extends SavepointRequest {
  /** Send the final watermark before the savepoint, so every event-time timer fires (default false). */
  drain?: boolean;
}

export interface SavepointResponse {
  /** The savepoint's directory, to pass to `--from-savepoint`. */
  path: string;
}

export interface CancelResponse {
  jobId: string;
  status: JobStatus;
}

export interface RestErrorResponse {
  error: {
    /** Stable code: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN_HOST, NOT_FOUND, JOB_NOT_FOUND, JOB_NOT_RUNNING, SAVEPOINT_TARGET, … */
    code: string;
    message: string;
  };
}
