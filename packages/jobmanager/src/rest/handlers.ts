/**
 * What each REST route does, over a DispatcherGateway and a savepoint-target check and nothing
 * else (no HTTP, no file system here), and how errors from the Dispatcher map to HTTP statuses.
 * The server in rest-server.ts is the I/O shell.
 */
import { describeError, randomId, SluiceError } from '@sluice/common';
import { TERMINAL_JOB_STATUSES, type DispatcherGateway, type JobResult, type JobStatus, type ResourceManagerGateway } from '@sluice/protocol';
import type {
  CancelResponse,
  CheckpointsResponse,
  ClusterConfigResponse,
  ClusterOverviewResponse,
  HealthResponse,
  JobDefaults,
  JobDetailsResponse,
  JobsResponse,
  RestErrorResponse,
  RestJobResult,
  SavepointResponse,
  SubmitJobResponse,
  TaskManagersResponse,
} from './api.js';
import { emptyRequest, RestRequestError, savepointRequest, stopRequest, submitRequest } from './requests.js';
import type { Route } from './routes.js';

export interface RestResponse {
  status: number;
  body:
    | JobsResponse
    | JobDetailsResponse
    | CheckpointsResponse
    | SavepointResponse
    | CancelResponse
    | HealthResponse
    | ClusterOverviewResponse
    | ClusterConfigResponse
    | TaskManagersResponse
    | SubmitJobResponse
    | RestErrorResponse
    | object;
  headers?: Readonly<Record<string, string>>;
}

export interface HandlerContext {
  dispatcher: DispatcherGateway;
  /**
   * The directory to hand to the Dispatcher for a validated `targetDirectory` (absolute, no '..'),
   * or a RestRequestError when the server's savepoint roots do not allow it.
   */
  savepointTarget(targetDirectory: string): Promise<string>;
  /** For the cluster overview and the TaskManager list; absent, those routes answer 404. */
  resourceManager?: ResourceManagerGateway;
  /** The local file of an uploaded bundle; absent, this server takes no job submissions. */
  locateArtifact?(id: string): Promise<string | undefined>;
  /** The OpenAPI description of the API. */
  openApi(): object;
  /** What GET /config serves: checked by the server at start. */
  jobDefaults: Readonly<JobDefaults>;
}

export async function handleRoute(route: Route, body: unknown, ctx: HandlerContext): Promise<RestResponse> {
  const { dispatcher } = ctx;
  switch (route.name) {
    case 'healthz':
      return { status: 200, body: { status: 'ok' } };
    case 'openApi':
      return { status: 200, body: ctx.openApi() };
    case 'clusterOverview': {
      const tms = await resourceManager(ctx).requestTaskManagerInfo();
      const jobs: Partial<Record<JobStatus, number>> = {};
      for (const j of await dispatcher.listJobs()) jobs[j.status] = (jobs[j.status] ?? 0) + 1;
      const body: ClusterOverviewResponse = {
        taskManagers: tms.length,
        slotsTotal: tms.reduce((n, t) => n + t.numberOfSlots, 0),
        slotsAvailable: tms.reduce((n, t) => n + t.freeSlots, 0),
        jobs,
      };
      return { status: 200, body };
    }
    case 'clusterConfig': {
      const body: ClusterConfigResponse = { jobDefaults: ctx.jobDefaults };
      return { status: 200, body };
    }
    case 'listTaskManagers': {
      const taskManagers = (await resourceManager(ctx).requestTaskManagerInfo()).sort((a, b) => a.resourceId.localeCompare(b.resourceId));
      return { status: 200, body: { taskManagers } };
    }
    case 'metrics':
    case 'uploadArtifact':
    case 'downloadArtifact':
      // Bodies that are not JSON: the server answers these itself (metrics text, artifact-routes.ts).
      throw new SluiceError('INTERNAL', `route ${route.name} is served by the server itself`);
    case 'submitJob': {
      const request = submitRequest(body);
      if (ctx.locateArtifact === undefined) {
        throw new RestRequestError(404, 'SUBMISSION_NOT_SUPPORTED', 'this server runs one embedded job and takes no submissions; start a cluster with `sluice cluster start` and submit to it');
      }
      const entry = await ctx.locateArtifact(request.artifactId);
      if (entry === undefined) throw new RestRequestError(400, 'ARTIFACT_NOT_FOUND', `no bundle with id ${request.artifactId} was uploaded to this cluster; upload it first with POST /artifacts`);
      const restoreFrom = request.restoreFrom === undefined ? undefined : { ...request.restoreFrom, path: await ctx.savepointTarget(request.restoreFrom.path) };
      const { jobId } = await dispatcher.submitJob({
        jobId: randomId(),
        jobName: typeof request.jobGraph.jobName === 'string' ? request.jobGraph.jobName : '',
        artifact: {
          entry,
          bundle: request.artifactId,
          params: request.params ?? {},
          ...(request.source === undefined ? {} : { source: request.source }),
          ...(request.parallelism === undefined ? {} : { parallelism: request.parallelism }),
          ...(request.config === undefined ? {} : { config: request.config }),
        },
        jobGraph: request.jobGraph,
        ...(restoreFrom === undefined ? {} : { restoreFrom }),
      });
      return { status: 202, body: { jobId } };
    }
    case 'listJobs': {
      const jobs = (await dispatcher.listJobs()).sort((a, b) => a.startTime - b.startTime);
      return { status: 200, body: { jobs } };
    }
    case 'jobDetails': {
      // The status call is the Dispatcher's word on whether the job exists (404 otherwise).
      const status = await dispatcher.requestJobStatus(route.jobId);
      const overview = (await dispatcher.listJobs()).find((j) => j.jobId === route.jobId);
      if (overview === undefined) throw new RestRequestError(404, 'JOB_NOT_FOUND', `no job with id '${route.jobId}' is known; GET /jobs lists the known ids`);
      const [{ counts, lastFailure }, job] = await Promise.all([dispatcher.requestCheckpointStatistics(route.jobId), dispatcher.requestJobDetails(route.jobId)]);
      const details: JobDetailsResponse = { ...overview, status, checkpoints: { ...counts, ...(lastFailure === undefined ? {} : { lastFailure }) } };
      // No vertices: the job's JobMaster ended before it could say (every job has one at least).
      if (job.vertices.length > 0) details.vertices = job.vertices;
      details.exceptions = job.exceptions;
      if (job.exceptionsDropped > 0) details.exceptionsDropped = job.exceptionsDropped;
      if (TERMINAL_JOB_STATUSES.has(status)) details.result = restResult(await dispatcher.requestJobResult(route.jobId));
      return { status: 200, body: details };
    }
    case 'checkpointStatistics': {
      const stats = await dispatcher.requestCheckpointStatistics(route.jobId);
      return { status: 200, body: { jobId: route.jobId, ...stats } };
    }
    case 'triggerSavepoint': {
      const request = savepointRequest(body);
      return { status: 200, body: await dispatcher.triggerSavepoint(route.jobId, await ctx.savepointTarget(request.targetDirectory)) };
    }
    case 'stopJob': {
      const request = stopRequest(body);
      const target = await ctx.savepointTarget(request.targetDirectory);
      return { status: 200, body: await dispatcher.triggerSavepoint(route.jobId, target, request.drain === true ? 'drain' : 'terminate') };
    }
    case 'cancelJob': {
      emptyRequest(body, 'POST /jobs/:id/cancel');
      const status = await dispatcher.requestJobStatus(route.jobId);
      if (TERMINAL_JOB_STATUSES.has(status)) {
        throw new RestRequestError(409, 'JOB_NOT_RUNNING', `job ${route.jobId} has already ended (${status}); there is nothing to cancel`);
      }
      await dispatcher.cancelJob(route.jobId);
      return { status: 202, body: { jobId: route.jobId, status: 'CANCELLING' } };
    }
  }
}

function resourceManager(ctx: HandlerContext): ResourceManagerGateway {
  if (ctx.resourceManager === undefined) throw new RestRequestError(404, 'NOT_FOUND', 'this server does not report on TaskManagers');
  return ctx.resourceManager;
}

/** Error codes of the Dispatcher and JobMaster that mean "the job is not in a state for this". */
const CONFLICT_CODES: ReadonlySet<string> = new Set(['JOB_NOT_RUNNING', 'SAVEPOINT_NOT_POSSIBLE', 'CHECKPOINT_NOT_POSSIBLE', 'JOB_MASTER_STARTING']);
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['JOB_NOT_FOUND', 'NOT_FOUND']);
/** Passing conditions: a JobMaster being replaced, an election in progress, a leader that just lost its term. */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['JOB_MASTER_UNREACHABLE', 'NO_LEADER', 'LEADER_UNREACHABLE', 'DISPATCHER_SUSPENDED', 'DISPATCHER_NOT_RUNNING']);

/** The HTTP status and body for an error thrown while handling a request. */
export function errorResponse(err: unknown): RestResponse {
  const code = err instanceof SluiceError ? err.code : 'INTERNAL';
  let status = 500;
  if (err instanceof RestRequestError) return { status: err.status, body: { error: { code, message: describeError(err) } }, headers: err.headers };
  if (NOT_FOUND_CODES.has(code)) status = 404;
  else if (UNAVAILABLE_CODES.has(code)) status = 503;
  else if (CONFLICT_CODES.has(code)) status = 409;
  else if (code === 'CONFIGURATION' || code === 'SAVEPOINT_TARGET' || code === 'INVALID_JOB_SUBMISSION' || code === 'JOB_ALREADY_EXISTS') status = 400;
  return { status, body: { error: { code, message: describeError(err) } } };
}

function restResult(r: JobResult): RestJobResult {
  const out: RestJobResult = { status: r.status, durationMs: r.durationMs, operators: r.operators };
  if (r.error !== undefined) {
    const { stack: _stack, ...error } = r.error;
    out.error = error;
  }
  if (r.restarts !== undefined) out.restarts = r.restarts;
  if (r.lastCheckpoint !== undefined) out.lastCheckpoint = r.lastCheckpoint;
  if (r.checkpoints !== undefined) out.checkpoints = r.checkpoints;
  return out;
}
