/**
 * The REST API's wire format: request and response bodies as plain JSON types, shared by the
 * server here and by clients (the CLI imports these as types only, so it loads no engine code).
 *
 *   GET  /healthz                 → HealthResponse (no token, ever: for load balancers and Marathon)
 *   GET  /openapi.json            → the OpenAPI 3 description of this API
 *   GET  /overview                → ClusterOverviewResponse
 *   GET  /config                  → ClusterConfigResponse (token always: -D values may be credentials)
 *   GET  /taskmanagers            → TaskManagersResponse
 *   POST /artifacts               a job bundle (JavaScript) → ArtifactResponse (201)
 *   GET  /artifacts/:id           the bundle's bytes (token always: bundles are user code)
 *   GET  /jobs                    → JobsResponse
 *   POST /jobs                    SubmitJobRequest → SubmitJobResponse (202: the job is accepted)
 *   GET  /jobs/:id                → JobDetailsResponse
 *   GET  /jobs/:id/checkpoints    → CheckpointsResponse
 *   POST /jobs/:id/savepoints     SavepointRequest → SavepointResponse (when the savepoint is complete)
 *   POST /jobs/:id/stop           StopRequest → SavepointResponse (then the job ends FINISHED)
 *   POST /jobs/:id/cancel         (empty or {}) → CancelResponse (202: cancelling has begun)
 *
 * Every request needs a Host naming the server and no Origin of another site; every POST needs
 * `Authorization: Bearer <token>` and `Content-Type: application/json` (a bundle upload:
 * `application/javascript` or `application/octet-stream`); see security.ts. A server bound to
 * an address other than loopback wants the token on every GET too, /healthz excepted.
 *
 * Every error is a RestErrorResponse: 400 malformed body or a savepoint directory refused
 * (SAVEPOINT_TARGET: '..' segments, outside the allowed roots, not writable), 401 missing or
 * wrong token, 403 foreign Host or Origin, 404 unknown job, bundle or route, 405 wrong method,
 * 409 job not running, 413 body or bundle too large, 415 wrong content type, 500 anything else.
 * A refused request writes nothing.
 */
import type { SerializedError } from '@sluice/common';
import type { CheckpointFailure, CheckpointStatistics, JobConfig, JobGraph, JobOverview, JobResult, JobStatus, JobVertexDetails, TaskManagerInfo } from '@sluice/protocol';

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

/**
 * One vertex (a chain of operators) of a running or ended job, as the JobMaster sees its current
 * attempt (a restart starts the counts again).
 *
 * Records follow Flink's FLIP-33, so that the sources' `recordsIn` is what the job read and the
 * sinks' `recordsOut` what it wrote: a source operator's records in are the records it read (it
 * emits them), a sink operator's records out the records it wrote (it receives them); any other
 * chain counts the records its network inputs took in and its network outputs gave out.
 */
export type VertexDetails = JobVertexDetails;

/** A failure that made the job restart, or ended it. */
export interface JobExceptionDetails {
  /** When the JobMaster handled it (ms since the epoch). */
  timestamp: number;
  message: string;
  code?: string;
  /** The failed subtask (0-based) and the TaskManager it ran on, when one subtask's failure caused it. */
  vertexId?: string;
  vertexName?: string;
  subtask?: number;
  taskManager?: string;
}

export interface JobDetailsResponse extends JobOverview {
  /** Checkpoints so far, and the last failed one's reason (running or ended). */
  checkpoints: CheckpointStatistics['counts'] & { lastFailure?: CheckpointFailure };
  /** Per-vertex status and counts, in the graph's (topological) order, when the cluster reports them. */
  vertices?: VertexDetails[];
  /**
   * Failures of the job so far, oldest first: each restart's cause, and the failure that ended
   * it. The last 100 are kept; `exceptionsDropped` says how many older ones were dropped.
   */
  exceptions?: JobExceptionDetails[];
  exceptionsDropped?: number;
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

export interface HealthResponse {
  status: 'ok';
}

export interface ClusterOverviewResponse {
  taskManagers: number;
  slotsTotal: number;
  slotsAvailable: number;
  /** Jobs by status; statuses without jobs are absent. */
  jobs: Partial<Record<JobStatus, number>>;
}

/**
 * Settings a cluster gives every job submitted to it (`sluice cluster start --default-*` and
 * `-D`). The client applies them while it builds the job's graph, under its own flags; what the
 * job's code sets wins over both. Absent fields: no default.
 */
export interface JobDefaults {
  /** Default parallelism (`-p`). */
  parallelism?: number;
  /** Absolute checkpoint directory on the cluster's storage (`--checkpoint-dir`). */
  checkpointDir?: string;
  /** Checkpoint interval in ms, 0 for none (`--checkpoint-interval`). */
  checkpointIntervalMs?: number;
  /** Job parameters (`-D key=value`); a submission's own `-D` wins key by key. */
  params?: Record<string, string>;
}

export interface ClusterConfigResponse {
  /** `{}` from a server without defaults, such as the one `sluice run` serves. */
  jobDefaults: JobDefaults;
}

export interface TaskManagersResponse {
  taskManagers: TaskManagerInfo[];
}

export interface ArtifactResponse {
  /** The bundle's SHA-256 in hex: what POST /jobs names it by. */
  id: string;
  bytes: number;
}

export interface SubmitJobRequest {
  /** An uploaded bundle (POST /artifacts). */
  artifactId: string;
  /** The job's graph, as the client built it from the bundle (`sluice submit` does). */
  jobGraph: JobGraph;
  /** The file the user wrote, for error messages. */
  source?: string;
  /** `-D key=value` parameters. */
  params?: Record<string, string>;
  /** `-p`: applied while the graph was built; recorded with the job. */
  parallelism?: number;
  /** Configuration overrides given on submission. */
  config?: Partial<JobConfig>;
  /** Start from a savepoint or retained checkpoint: an absolute path on the cluster's storage. */
  restoreFrom?: { path: string; allowNonRestoredState?: boolean };
}

export interface SubmitJobResponse {
  jobId: string;
}
