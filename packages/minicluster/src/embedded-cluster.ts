/**
 * The embedded cluster — what a new user meets first: Dispatcher, ResourceManager and
 * TaskManagers in this process, subtasks on a Piscina worker-thread pool, channels in shared
 * memory. It is the local cluster of `local-cluster.ts` with the real TaskManager, the real task
 * runner, a Prometheus endpoint per TaskManager and optionally the Dispatcher's REST API. It
 * sits above both @sluice/jobmanager and @sluice/runtime, which never import each other.
 */
import { availableParallelism } from 'node:os';
import { checkStorageDirectory, randomId, silentLogger, type Logger } from '@sluice/common';
import { combineRegistries, createJobMetricsRegistry, createMetricsRegistry, createMetricsServer, type TaskManagerMetricsSnapshot } from '@sluice/metrics';
import { requiredSlots, type JobArtifact, type JobConfig, type JobStatus } from '@sluice/protocol';
import { LocalShuffleService, PiscinaTaskRunner, TaskManager } from '@sluice/runtime';
import { isSinkKind, loadJob, type LoadedJob, type OperatorKind } from '@sluice/api';
import { createLocalCluster, createRestServer, resolveCheckpointRoot, type JobHandle, type LocalCluster, type RestSecurityOptions, type RestServer } from '@sluice/jobmanager';
import { oversubscriptionWarning } from './oversubscription.js';

export interface EmbeddedClusterOptions {
  /** Slots per TaskManager. */
  slotsPerTaskManager: number;
  /** TaskManagers started up front (default 1). */
  taskManagers?: number;
  /**
   * Serve /metrics per TaskManager: 0 = a free port each; N = ports N, N+1, …; undefined = none.
   * The first TaskManager's endpoint also serves the per-job series (checkpoints, restarts).
   */
  metricsPort?: number;
  /** Worker threads per TaskManager; default slots × 8 (every chain of every slot needs one). */
  workerThreads?: number;
  /** Young generation of each worker thread in MB (default 12, see DEFAULT_WORKER_YOUNG_GENERATION_MB). */
  workerYoungGenerationMb?: number;
  /** How long a cancelled subtask may take to stop before its worker thread is terminated (default 5 s). */
  taskCancelTimeoutMs?: number;
  /** Serve the Dispatcher's REST API on 127.0.0.1 at this port (0 = a free port); undefined = none. */
  restPort?: number;
  /** Token, allowed host names and savepoint roots of the REST API. */
  rest?: RestSecurityOptions;
  logger?: Logger;
}

export interface SubmitOptions {
  /** Start from a savepoint or retained checkpoint (its directory or `_metadata` file). */
  restoreFrom?: { path: string; allowNonRestoredState?: boolean };
}

export interface SubmittedJob {
  handle: JobHandle;
  job: LoadedJob;
}

export interface EmbeddedCluster {
  readonly cluster: LocalCluster;
  /** Loads the job module on this thread, builds its graph and submits it. */
  submit(artifact: JobArtifact, options?: SubmitOptions): Promise<SubmittedJob>;
  /** Where each running TaskManager serves Prometheus metrics. */
  metricsUrls(): string[];
  /** What each running TaskManager's subtasks have counted so far (read from shared memory). */
  taskManagerMetrics(): TaskManagerMetricsSnapshot[];
  /** Where the REST API is served (e.g. `http://127.0.0.1:8081`), when `restPort` was given. */
  readonly restUrl: string | undefined;
  /** The bearer token the REST API's POSTs need, when `restPort` was given. */
  readonly restToken: string | undefined;
  close(): Promise<void>;
}

export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const logger = options.logger ?? silentLogger;
  const shuffle = new LocalShuffleService();
  const servers: { url: string; close(): Promise<void> }[] = [];
  const taskManagers = new Set<TaskManager>();
  let tmIndex = 0;
  // Job series are served once per cluster, next to the first TaskManager's series: on every
  // endpoint they would be summed N times by Prometheus queries over all targets.
  let localCluster: LocalCluster | undefined;
  const jobMetrics = options.metricsPort === undefined ? undefined : createJobMetricsRegistry({ source: { snapshot: () => localCluster?.jobMetricsSnapshot() ?? [] } });

  const cluster = await createLocalCluster({
    taskManagers: options.taskManagers ?? 1,
    slotsPerTaskManager: options.slotsPerTaskManager,
    logger,
    taskManagerFactory: async (ctx) => {
      const index = tmIndex++;
      const runner = new PiscinaTaskRunner({
        shuffle,
        maxThreads: options.workerThreads ?? Math.max(ctx.numberOfSlots * 8, 8),
        logger,
        ...(options.taskCancelTimeoutMs === undefined ? {} : { cancelTimeoutMs: options.taskCancelTimeoutMs }),
        ...(options.workerYoungGenerationMb === undefined ? {} : { youngGenerationMb: options.workerYoungGenerationMb }),
      });
      let server: { url: string; close(): Promise<void> } | undefined;
      let tm: TaskManager | undefined;
      if (options.metricsPort !== undefined) {
        const registry = createMetricsRegistry({ source: { snapshot: () => tm!.metricsSnapshot() }, defaultLabels: { taskmanager: ctx.resourceId }, logger });
        server = await createMetricsServer({ port: options.metricsPort === 0 ? 0 : options.metricsPort + index, registry: index === 0 && jobMetrics !== undefined ? combineRegistries(registry, jobMetrics) : registry });
        servers.push(server);
      }
      tm = new TaskManager({ ...ctx, taskRunner: runner, logger, ...(server === undefined ? {} : { metricsUrl: server.url }) });
      const started = tm;
      taskManagers.add(started);
      return {
        ...(server === undefined ? {} : { metricsUrl: server.url }),
        start: () => started.start(),
        stop: async () => {
          taskManagers.delete(started);
          await started.stop();
          if (server !== undefined) {
            servers.splice(servers.indexOf(server), 1);
            await server.close();
          }
        },
      };
    },
  });
  localCluster = cluster;

  let rest: RestServer | undefined;
  if (options.restPort !== undefined) {
    try {
      rest = await createRestServer({ ...options.rest, dispatcher: cluster.dispatcher, port: options.restPort, logger });
    } catch (err) {
      await cluster.close();
      for (const s of servers.splice(0)) await s.close();
      throw err;
    }
  }

  return {
    cluster,
    restUrl: rest?.url,
    restToken: rest?.token,
    async submit(artifact, submitOptions = {}) {
      const job = await loadJob(artifact);
      const jobId = randomId();
      const restoreFrom = submitOptions.restoreFrom;
      const handle = await cluster.submit({ jobId, jobName: job.jobGraph.jobName, artifact, jobGraph: job.jobGraph, ...(restoreFrom === undefined ? {} : { restoreFrom }) });
      void handle.result().finally(() => shuffle.releaseJob(jobId));
      return { handle, job };
    },
    metricsUrls: () => servers.map((s) => s.url),
    taskManagerMetrics: () => [...taskManagers].map((t) => t.metricsSnapshot()),
    close: async () => {
      // Side by side: a request in flight (a stop-with-savepoint answering as its job ends) gets
      // its grace period while the cluster shuts down.
      await Promise.all([rest?.close(), cluster.close()]);
      for (const s of servers.splice(0)) await s.close();
    },
  };
}

export interface EmbeddedRunOptions {
  /** Serve /metrics while the job runs (0 = a free port). */
  metricsPort?: number;
  /** Serve the REST API while the job runs (0 = a free port). */
  restPort?: number;
  /** Token, allowed host names and savepoint roots of the REST API. */
  rest?: RestSecurityOptions;
  /** Aborting cancels the job; the result then has status CANCELED. */
  signal?: AbortSignal;
  onStarted?(info: EmbeddedJobStarted): void;
  /** Slots for the cluster; default: what the job needs. */
  slots?: number;
  /** Cores of this machine (default os.availableParallelism()): a job needing more slots gets one warning. */
  cores?: number;
  logger?: Logger;
  /** Start from a savepoint or retained checkpoint. */
  restoreFrom?: SubmitOptions['restoreFrom'];
}

/** A running job as `runEmbedded` announces it. */
export interface EmbeddedJobStarted {
  jobId: string;
  jobName: string;
  metricsUrl?: string;
  restUrl?: string;
  /** The bearer token the REST API's POSTs need, with `restUrl`. */
  restToken?: string;
  /** The configuration the job runs with: defaults, then the submitter's settings, then the job code's. */
  config: JobConfig;
  /** A synchronous reading of how the job is doing, cheap enough to take every second. */
  progress(): JobProgress;
}

/** Live figures of a running job, for a status line. */
export interface JobProgress {
  status: JobStatus;
  /** Records the sources have emitted and the sinks have taken in, over the subtasks running now. */
  recordsIn: number;
  recordsOut: number;
  checkpoints: { completed: number; failed: number };
  restarts: number;
}

export interface EmbeddedRunResult extends Awaited<ReturnType<JobHandle['result']>> {
  /** Node ids of the source operators, to count records read. */
  sourceNodeIds: number[];
}

function progressReader(embedded: EmbeddedCluster, jobId: string, job: LoadedJob): () => JobProgress {
  const sources = new Set(job.jobGraph.vertices.filter((v) => v.isSource).map((v) => v.operators[0]!.nodeId));
  const sinks = new Set(job.jobGraph.vertices.flatMap((v) => v.operators.filter((o) => isSinkKind(o.kind as OperatorKind)).map((o) => o.nodeId)));
  return () => {
    const p: JobProgress = { status: 'CREATED', recordsIn: 0, recordsOut: 0, checkpoints: { completed: 0, failed: 0 }, restarts: 0 };
    const jm = embedded.cluster.jobMetricsSnapshot().find((j) => j.jobId === jobId);
    if (jm !== undefined) {
      p.status = jm.status;
      p.restarts = jm.restarts;
      p.checkpoints = { completed: jm.checkpoints.completed, failed: jm.checkpoints.failed };
    }
    for (const tm of embedded.taskManagerMetrics()) {
      for (const st of tm.subtasks) {
        if (st.jobId !== jobId) continue;
        for (const op of st.operators) {
          if (sources.has(op.nodeId)) p.recordsIn += op.recordsOut;
          if (sinks.has(op.nodeId)) p.recordsOut += op.recordsIn;
        }
      }
    }
    return p;
  };
}

/** Runs one job on a fresh embedded cluster sized for it, and tears the cluster down. */
export async function runEmbedded(artifact: JobArtifact, options: EmbeddedRunOptions = {}): Promise<EmbeddedRunResult> {
  // Build once up front: a job that cannot be built fails here, before any thread starts.
  const probe = await loadJob(artifact);
  // Likewise a checkpointed job whose checkpoints could not be written.
  if (probe.jobGraph.config.checkpointIntervalMs > 0) await checkStorageDirectory(resolveCheckpointRoot(probe.jobGraph.config), { what: 'checkpoint directory' });
  const needed = Math.max(1, requiredSlots(probe.jobGraph));
  const slots = options.slots ?? needed;
  const subtasks = probe.jobGraph.vertices.reduce((n, v) => n + v.parallelism, 0);
  const warning = oversubscriptionWarning({ slots: needed, subtasks, cores: options.cores ?? availableParallelism() });
  if (warning !== undefined) (options.logger ?? silentLogger).warn(warning);
  const embedded = await startEmbeddedCluster({
    slotsPerTaskManager: slots,
    ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
    ...(options.restPort === undefined ? {} : { restPort: options.restPort }),
    ...(options.rest === undefined ? {} : { rest: options.rest }),
    workerThreads: Math.max(slots * probe.jobGraph.vertices.length, availableParallelism()),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  try {
    const { handle, job } = await embedded.submit(artifact, options.restoreFrom === undefined ? {} : { restoreFrom: options.restoreFrom });
    const metricsUrl = embedded.metricsUrls()[0];
    const { restUrl, restToken } = embedded;
    options.onStarted?.({
      jobId: handle.jobId,
      jobName: job.jobGraph.jobName,
      ...(metricsUrl === undefined ? {} : { metricsUrl }),
      ...(restUrl === undefined || restToken === undefined ? {} : { restUrl, restToken }),
      config: job.jobGraph.config,
      progress: progressReader(embedded, handle.jobId, job),
    });
    const onAbort = (): void => void handle.cancel().catch(() => undefined);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await handle.result();
      const sourceNodeIds = job.jobGraph.vertices.filter((v) => v.isSource).map((v) => v.operators[0]!.nodeId);
      return { ...result, sourceNodeIds };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    await embedded.close();
  }
}
