/**
 * A cluster's REST API for client tests of `sluice submit`, `list`, `info`, `taskmanagers` and
 * `overview`: the real REST server of @sluice/jobmanager with a real ArtifactStore, over a
 * Dispatcher whose jobs follow a script (one status per status request, the last one repeating)
 * and a ResourceManager with two TaskManagers. Submissions are checked as the real Dispatcher
 * checks them. The token is written where the client commands look for it by default.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, createRestServer, JobNotFoundError, validateSubmission, type JobDefaults, type RestServer } from '@sluice/jobmanager';
import type { CheckpointStatistics, DispatcherGateway, JobDetails, JobOverview, JobResult, JobStatus, JobSubmission, ResourceManagerGateway, TaskManagerInfo } from '@sluice/protocol';
import { TERMINAL_JOB_STATUSES } from '@sluice/protocol';

export const TESTING_TOKEN = 'testing-rest-cluster-token-0123456789abcdefgh';

/** What a submitted job does: its status on each status request, and why it failed. */
export interface JobScript {
  statuses: JobStatus[];
  error?: string;
}

interface ScriptedJob {
  submission: JobSubmission | undefined;
  overview: JobOverview;
  script: JobScript;
  step: number;
}

export class TestingDispatcherGateway implements DispatcherGateway {
  readonly submitted: JobSubmission[] = [];
  readonly cancelled: string[] = [];
  /** The script of the next submitted job. */
  next: JobScript = { statuses: ['CREATED', 'RUNNING', 'FINISHED'] };
  private readonly jobs = new Map<string, ScriptedJob>();

  /** A job that exists without a submission (for list and info). */
  seed(overview: JobOverview, script: JobScript = { statuses: [overview.status] }): void {
    this.jobs.set(overview.jobId, { submission: undefined, overview: { ...overview }, script, step: 0 });
  }

  /** The job's status now, without advancing its script. */
  statusOf(jobId: string): JobStatus {
    return this.job(jobId).overview.status;
  }

  async submitJob(s: JobSubmission): Promise<{ jobId: string }> {
    validateSubmission(s);
    this.submitted.push(s);
    const overview: JobOverview = { jobId: s.jobId, jobName: s.jobName, status: this.next.statuses[0] ?? 'CREATED', startTime: Date.UTC(2026, 0, 2, 3, 4, 5) };
    this.jobs.set(s.jobId, { submission: s, overview, script: this.next, step: 0 });
    return { jobId: s.jobId };
  }
  async listJobs(): Promise<JobOverview[]> {
    return [...this.jobs.values()].map((j) => ({ ...j.overview }));
  }
  async requestJobStatus(jobId: string): Promise<JobStatus> {
    const j = this.job(jobId);
    const { statuses } = j.script;
    const status = statuses[Math.min(j.step, statuses.length - 1)]!;
    j.step++;
    j.overview.status = status;
    if (TERMINAL_JOB_STATUSES.has(status)) j.overview.endTime ??= j.overview.startTime + 1500;
    return status;
  }
  async cancelJob(jobId: string): Promise<void> {
    this.job(jobId);
    this.cancelled.push(jobId);
  }
  async requestJobResult(jobId: string): Promise<JobResult> {
    const j = this.job(jobId);
    const status = j.overview.status as JobResult['status'];
    const source = j.submission?.jobGraph.vertices.find((v) => v.isSource);
    const operators = source === undefined ? [] : [{ nodeId: source.operators[0]!.nodeId, name: source.name, vertexId: source.id, recordsIn: 0, recordsOut: 20 }];
    const result: JobResult = { jobId, jobName: j.overview.jobName, status, durationMs: 1500, collected: {}, operators, checkpoints: { completed: 2, failed: 0 } };
    if (status === 'FAILED') result.error = { name: 'UserFunctionError', code: 'USER_FUNCTION', message: j.script.error ?? 'failed', stack: 'at the server' };
    return result;
  }
  async triggerSavepoint(): Promise<{ path: string }> {
    throw new Error('not used by these tests');
  }
  async requestCheckpointStatistics(jobId: string): Promise<CheckpointStatistics> {
    this.job(jobId);
    return { counts: { completed: 2, failed: 0, inProgress: 0 }, latest: { id: 2, path: `/ckpt/${jobId}/chk-2`, restored: false, durationMs: 12, sizeBytes: 2048 } };
  }
  /** No vertices (the tests that want them add them on the client side), no failures. */
  async requestJobDetails(jobId: string): Promise<JobDetails> {
    this.job(jobId);
    return { vertices: [], exceptions: [], exceptionsDropped: 0 };
  }
  private job(jobId: string): ScriptedJob {
    const j = this.jobs.get(jobId);
    if (j === undefined) throw new JobNotFoundError(jobId);
    return j;
  }
}

export const TESTING_TASK_MANAGERS: TaskManagerInfo[] = [
  { resourceId: 'tm-1', address: 'taskmanager/tm-1', numberOfSlots: 4, freeSlots: 2, metricsUrl: 'http://127.0.0.1:9250/metrics' },
  { resourceId: 'tm-2', address: 'taskmanager/tm-2', numberOfSlots: 2, freeSlots: 2 },
];

export interface TestingRestCluster {
  url: string;
  port: number;
  dispatcher: TestingDispatcherGateway;
  /** Undefined for a server that stores no bundles, like `sluice run`'s. */
  store: ArtifactStore | undefined;
  /** SLUICE_HOME of the clients: holds `rest-<port>.token`. */
  home: string;
  close(): Promise<void>;
}

/** `jobDefaults`: what GET /config serves, as `cluster start --default-* -D` make it. */
export async function startTestingRestCluster(options: { artifacts?: boolean; jobDefaults?: JobDefaults } = {}): Promise<TestingRestCluster> {
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-testing-rest-cluster-')));
  const dispatcher = new TestingDispatcherGateway();
  const store = options.artifacts === false ? undefined : new ArtifactStore(join(home, 'artifacts'));
  const resourceManager = { requestTaskManagerInfo: async () => TESTING_TASK_MANAGERS.map((t) => ({ ...t })) } as unknown as ResourceManagerGateway;
  let server: RestServer;
  try {
    server = await createRestServer({
      dispatcher,
      resourceManager,
      ...(store === undefined ? {} : { artifacts: store }),
      ...(options.jobDefaults === undefined ? {} : { jobDefaults: options.jobDefaults }),
      port: 0,
      token: TESTING_TOKEN,
    });
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  // Where `sluice run` keeps its token, and the client commands look by default.
  writeFileSync(join(home, `rest-${server.port}.token`), `${TESTING_TOKEN}\n`, { mode: 0o600 });
  return {
    url: server.url,
    port: server.port,
    dispatcher,
    store,
    home,
    async close() {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
