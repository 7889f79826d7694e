/**
 * The Dispatcher: accepts jobs, owns the job registry and starts one JobMaster per job. JobMasters
 * are created through a JobMasterFactory — in-process today; a factory that spawns a separate
 * process (for user-code isolation) can replace it without the Dispatcher changing, since the
 * Dispatcher talks to a running job only through its JobMasterGateway address.
 */
import { createLogger, describeError, SluiceError, systemClock, type Clock, type Logger } from '@sluice/common';
import {
  Mailbox,
  type CheckpointStatistics,
  type DispatcherGateway,
  type JobMasterGateway,
  type JobOverview,
  type JobResult,
  type JobStatus,
  type StopMode,
  type JobSubmission,
  type RpcService,
} from '@sluice/protocol';
import type { JobMetricsSnapshot } from '@sluice/metrics';
import { JobMaster, type JobMasterOptions } from '../jobmaster/job-master.js';
import type { SplitProvider } from '../jobmaster/deployment.js';
import { validateSubmission } from './validate-submission.js';

/** What the Dispatcher needs of a started JobMaster, wherever it runs. */
export interface JobMasterService {
  readonly address: string;
  start(): Promise<void>;
  /** Resolves when the job reaches a terminal state. */
  jobResult(): Promise<JobResult>;
  /** Stops serving; the job is terminal or has been cancelled. */
  close(): Promise<void>;
  /**
   * The job's metrics, synchronously, also after it ended. An in-process JobMaster reads its own
   * state; one in another process would return what it last reported, or undefined.
   */
  metricsSnapshot?(): JobMetricsSnapshot | undefined;
  /** The job's checkpoint statistics, like `metricsSnapshot` (undefined: not known here). */
  checkpointStatistics?(): CheckpointStatistics | undefined;
}

export interface JobMasterContext {
  submission: JobSubmission;
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  logger: Logger;
}

export type JobMasterFactory = (ctx: JobMasterContext) => JobMasterService;

export interface DispatcherOptions {
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  /** Defaults to an in-process JobMaster using `splitProvider`. */
  jobMasterFactory?: JobMasterFactory;
  splitProvider?: SplitProvider;
  /** Timeouts for the default in-process JobMasters. */
  jobMaster?: Pick<JobMasterOptions, 'cancelTimeoutMs' | 'slotRequestTimeoutMs'>;
  /** On close, how long running jobs get to cancel. */
  shutdownTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface JobEntry {
  readonly submission: JobSubmission;
  readonly startTime: number;
  readonly jobMaster: JobMasterService;
  readonly result: Promise<JobResult>;
  final?: JobResult;
  endTime?: number;
}

export class JobNotFoundError extends SluiceError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `no job with id '${jobId}' is known to this Dispatcher; list jobs to see the known ids`);
    this.name = 'JobNotFoundError';
  }
}

export class Dispatcher implements DispatcherGateway {
  readonly address: string;
  private readonly mailbox = new Mailbox();
  private readonly jobs = new Map<string, JobEntry>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly factory: JobMasterFactory;
  private state: 'created' | 'running' | 'closed' = 'created';

  constructor(private readonly options: DispatcherOptions) {
    this.address = options.address;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child('dispatcher');
    const extra = { ...options.jobMaster, ...(options.splitProvider === undefined ? {} : { splitProvider: options.splitProvider }) };
    this.factory = options.jobMasterFactory ?? ((ctx) => new JobMaster({ ...ctx, ...extra }));
  }

  async start(): Promise<void> {
    this.options.rpc.register<DispatcherGateway>(this.address, this.gatewayView());
    this.state = 'running';
  }

  /** Cancels running jobs (waiting up to the shutdown timeout), closes their JobMasters, stops serving. */
  async close(): Promise<void> {
    const entries = await this.mailbox.run(() => {
      if (this.state === 'closed') return [];
      this.state = 'closed';
      this.options.rpc.unregister(this.address);
      return [...this.jobs.values()];
    });
    const timeoutMs = this.options.shutdownTimeoutMs ?? 15_000;
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.final === undefined) {
          await this.jobMasterGateway(entry)
            .then((jm) => jm.cancel())
            .catch(() => undefined);
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
          await Promise.race([entry.result, timeout]);
          clearTimeout(timer);
        }
        await entry.jobMaster.close().catch(() => undefined);
      }),
    );
  }

  // ---- DispatcherGateway ----

  submitJob(submission: JobSubmission): Promise<{ jobId: string }> {
    return this.mailbox.run(() => {
      if (this.state !== 'running') throw new SluiceError('DISPATCHER_NOT_RUNNING', `the Dispatcher at '${this.address}' is ${this.state}; it accepts no jobs`);
      const valid = validateSubmission(submission);
      if (this.jobs.has(valid.jobId)) {
        throw new SluiceError('JOB_ALREADY_EXISTS', `a job with id '${valid.jobId}' was already submitted; submit with a new id`);
      }
      const jobMaster = this.factory({
        submission: valid,
        rpc: this.options.rpc,
        address: `jobmaster/${valid.jobId}`,
        resourceManagerAddress: this.options.resourceManagerAddress,
        logger: this.logger,
      });
      const entry: JobEntry = { submission: valid, startTime: this.clock.nowMs(), jobMaster, result: jobMaster.jobResult() };
      this.jobs.set(valid.jobId, entry);
      void entry.result.then((r) => this.mailbox.run(() => this.jobTerminated(entry, r)));
      jobMaster.start().catch((err: unknown) => this.logger.error('JobMaster failed to start', { jobId: valid.jobId, error: describeError(err) }));
      this.logger.info('job submitted', { jobId: valid.jobId, jobName: valid.jobName });
      return { jobId: valid.jobId };
    });
  }

  async listJobs(): Promise<JobOverview[]> {
    const entries = await this.mailbox.run(() => [...this.jobs.values()]);
    return Promise.all(
      entries.map(async (e) => {
        const o: JobOverview = { jobId: e.submission.jobId, jobName: e.submission.jobName, status: await this.statusOf(e), startTime: e.startTime };
        if (e.endTime !== undefined) o.endTime = e.endTime;
        return o;
      }),
    );
  }

  async requestJobStatus(jobId: string): Promise<JobStatus> {
    return this.statusOf(await this.entry(jobId));
  }

  async cancelJob(jobId: string): Promise<void> {
    const e = await this.entry(jobId);
    if (e.final !== undefined) return;
    const jm = await this.jobMasterGateway(e);
    await jm.cancel();
  }

  async requestJobResult(jobId: string): Promise<JobResult> {
    return (await this.entry(jobId)).result;
  }

  async triggerSavepoint(jobId: string, targetDirectory: string, stop?: StopMode): Promise<{ path: string }> {
    const e = await this.entry(jobId);
    if (e.final !== undefined) {
      throw new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${jobId} has already ended (${e.final.status}); a savepoint needs a running job`);
    }
    const jm = await this.jobMasterGateway(e);
    return jm.triggerSavepoint(targetDirectory, stop);
  }

  async requestCheckpointStatistics(jobId: string): Promise<CheckpointStatistics> {
    const stats = (await this.entry(jobId)).jobMaster.checkpointStatistics?.();
    if (stats === undefined) throw new SluiceError('NOT_FOUND', `the JobMaster of job ${jobId} does not report checkpoint statistics here`);
    return stats;
  }

  /**
   * Metrics of every job whose JobMaster can report them, running and ended (the metrics
   * registry decides how long ended ones stay exported). Synchronous, for scrape time: it only
   * reads the job registry, which changes on the mailbox but never mid-read.
   */
  metricsSnapshot(): JobMetricsSnapshot[] {
    const out: JobMetricsSnapshot[] = [];
    for (const e of this.jobs.values()) {
      const s = e.jobMaster.metricsSnapshot?.();
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  // ---- internals ----

  private gatewayView(): DispatcherGateway {
    return {
      submitJob: (s) => this.submitJob(s),
      listJobs: () => this.listJobs(),
      requestJobStatus: (id) => this.requestJobStatus(id),
      cancelJob: (id) => this.cancelJob(id),
      requestJobResult: (id) => this.requestJobResult(id),
      triggerSavepoint: (id, dir, stop) => this.triggerSavepoint(id, dir, stop),
      requestCheckpointStatistics: (id) => this.requestCheckpointStatistics(id),
    };
  }

  private entry(jobId: string): Promise<JobEntry> {
    return this.mailbox.run(() => {
      const e = this.jobs.get(jobId);
      if (e === undefined) throw new JobNotFoundError(jobId);
      return e;
    });
  }

  private async statusOf(e: JobEntry): Promise<JobStatus> {
    if (e.final !== undefined) return e.final.status;
    try {
      const status = await (await this.jobMasterGateway(e)).requestJobStatus();
      return status;
    } catch (err) {
      // The JobMaster may have just finished and stopped serving.
      const final = await Promise.race([e.result, Promise.resolve(undefined)]);
      if (final !== undefined) return final.status;
      throw new SluiceError('JOB_MASTER_UNREACHABLE', `cannot ask job ${e.submission.jobId} for its status: ${describeError(err)}`, { cause: err, retriable: true });
    }
  }

  private jobMasterGateway(e: JobEntry): Promise<JobMasterGateway> {
    return this.options.rpc.connect<JobMasterGateway>(e.jobMaster.address);
  }

  private jobTerminated(entry: JobEntry, result: JobResult): void {
    entry.final = result;
    entry.endTime = this.clock.nowMs();
    this.logger.info(`job ${result.status}`, { jobId: result.jobId });
    void entry.jobMaster.close().catch((err: unknown) => this.logger.warn('closing a JobMaster failed', { jobId: result.jobId, error: describeError(err) }));
  }
}
