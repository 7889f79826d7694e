/**
 * The Dispatcher: accepts jobs, owns the job registry and starts one JobMaster per job through a
 * JobMasterRunnerFactory — in-process by default; a runner that spawns a JobMaster process plugs
 * in without the Dispatcher changing, since it talks to a running job only through the
 * JobMasterGateway at the runner's address: status, cancel, savepoints, the result (a long call
 * that resolves when the job ends), checkpoint statistics, details and metrics. What an ended
 * job's JobMaster said last (result, statistics, details, metrics) stays here after it stopped.
 */
import { createLogger, describeError, hasErrorCode, isRetriableError, serializeError, sleep, SluiceError, systemClock, type Clock, type Logger } from '@sluice/common';
import {
  Mailbox,
  type CheckpointStatistics,
  type DispatcherGateway,
  type JobDetails,
  type JobMasterGateway,
  type JobMetrics,
  type JobOverview,
  type JobResult,
  type JobStatus,
  type StopMode,
  type JobSubmission,
} from '@sluice/protocol';
import { endedDetails, finalOf, JOB_MASTER_STARTING, JobNotFoundError, type DispatcherJobStore, type DispatcherOptions, type JobEntry, type RecoveredJob } from './dispatcher-jobs.js';
import { inProcessJobMasterRunner, type JobMasterRunner, type JobMasterRunnerFactory } from './job-master-runner.js';
import { validateSubmission } from './validate-submission.js';

/** How long an ended job's JobMaster is kept for savepoint calls still being answered (a stop's copy). */
const SAVEPOINT_ANSWER_WAIT_MS = 120_000;

export { JOB_MASTER_STARTING, JobNotFoundError, type DispatcherJobStore, type DispatcherOptions, type RecoveredJob };

export class Dispatcher implements DispatcherGateway {
  readonly address: string;
  private readonly mailbox = new Mailbox();
  private readonly jobs = new Map<string, JobEntry>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly factory: JobMasterRunnerFactory;
  private refreshing: Promise<unknown> | undefined;
  /** `suspended`: leadership was lost; the jobs stay in the job store for the next leader. */
  private state: 'created' | 'running' | 'closed' | 'suspended' = 'created';

  constructor(private readonly options: DispatcherOptions) {
    this.address = options.address;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child('dispatcher');
    this.factory =
      options.jobMasterRunnerFactory ?? inProcessJobMasterRunner({ ...options.jobMaster, ...(options.splitProvider === undefined ? {} : { splitProvider: options.splitProvider }) });
  }

  async start(): Promise<void> {
    this.options.rpc.register<DispatcherGateway>(this.address, this.gatewayView());
    this.state = 'running';
  }

  /** Cancels running jobs (waiting up to the shutdown timeout), closes their JobMasters, stops serving. */
  async close(): Promise<void> {
    const entries = await this.mailbox.run(() => {
      if (this.state === 'closed') return [];
      const was = this.state;
      this.state = 'closed';
      // A suspended Dispatcher has already stopped its JobMasters, and its jobs are the next leader's.
      if (was === 'suspended') return [];
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
        await entry.runner.close().catch(() => undefined);
      }),
    );
  }

  // ---- DispatcherGateway ----

  async submitJob(submission: JobSubmission): Promise<{ jobId: string }> {
    const entry = await this.mailbox.run(() => {
      if (this.state !== 'running') throw new SluiceError('DISPATCHER_NOT_RUNNING', `the Dispatcher at '${this.address}' is ${this.state}; it accepts no jobs`);
      const valid = validateSubmission(submission);
      if (this.jobs.has(valid.jobId)) {
        throw new SluiceError('JOB_ALREADY_EXISTS', `a job with id '${valid.jobId}' was already submitted; submit with a new id`);
      }
      const e = this.track(valid, 0, false);
      this.logger.info('job submitted', { jobId: valid.jobId, jobName: valid.jobName });
      return e;
    });
    return { jobId: entry.submission.jobId };
  }

  /**
   * Takes over a job a previous leader accepted and did not see end: a new JobMaster (the next
   * attempt, so its deployments number above its predecessors') resumes it from its latest
   * checkpoint. The job's record stays as it is in the store.
   */
  async recoverJob(job: RecoveredJob): Promise<void> {
    await this.mailbox.run(() => {
      if (this.state !== 'running') throw new SluiceError('DISPATCHER_NOT_RUNNING', `the Dispatcher at '${this.address}' is ${this.state}; it recovers no jobs`);
      const valid = validateSubmission(job.submission);
      if (this.jobs.has(valid.jobId)) throw new SluiceError('JOB_ALREADY_EXISTS', `job '${valid.jobId}' is already running here; it is not recovered twice`);
      const latest = job.latestCheckpoint;
      const submission: JobSubmission = latest === undefined ? valid : { ...valid, restoreFrom: { path: latest.location } };
      this.track(submission, job.jobMasterAttempts, true);
      this.logger.info(`job recovered; its JobMaster attempt ${job.jobMasterAttempts} resumes it ${latest === undefined ? 'from its start (no checkpoint recorded)' : `from checkpoint ${latest.id}`}`, {
        jobId: valid.jobId,
      });
    });
  }

  /**
   * A job a previous leader accepted that cannot be recovered (its records in the store are
   * damaged): listed as FAILED with the reason, so the operator sees it; nothing is written.
   */
  async addUnrecoverableJob(jobId: string, jobName: string, error: SluiceError): Promise<void> {
    await this.mailbox.run(() => {
      if (this.jobs.has(jobId)) return;
      const now = this.clock.nowMs();
      const result: JobResult = { jobId, jobName, status: 'FAILED', durationMs: 0, error: serializeError(error), collected: {}, operators: [] };
      const runner: JobMasterRunner = {
        get address(): string {
          throw error;
        },
        start: async () => undefined,
        close: async () => undefined,
        termination: Promise.resolve({ type: 'closed' }),
      };
      const submission = { jobId, jobName } as JobSubmission;
      // No checkpoint statistics from this leader: none were taken (GET /jobs/:id needs them).
      const statistics: CheckpointStatistics = { counts: { completed: 0, failed: 0, inProgress: 0 } };
      this.jobs.set(jobId, { submission, startTime: now, endTime: now, runner, attempt: 0, replacements: 0, recovered: true, result: Promise.resolve(result), final: { result, statistics } });
    });
  }

  /**
   * Leadership was lost: stops every JobMaster without ending its job — the jobs stay in the
   * job store as they are, for the next leader to recover — and stops serving. Waiting
   * `requestJobResult` callers get DISPATCHER_SUSPENDED (retriable: ask the new leader).
   */
  async suspend(reason: string): Promise<void> {
    const entries = await this.mailbox.run(() => {
      if (this.state === 'closed' || this.state === 'suspended') return [];
      this.state = 'suspended';
      this.options.rpc.unregister(this.address);
      return [...this.jobs.values()];
    });
    if (entries.length > 0) this.logger.warn(`suspending ${entries.length} job(s): ${reason}`);
    for (const e of entries) {
      e.abandon?.(new SluiceError('DISPATCHER_SUSPENDED', `this Dispatcher lost its leadership (${reason}) before job ${e.submission.jobId} ended; ask the current leader for its result`, { retriable: true }));
    }
    await Promise.all(entries.map((entry) => entry.runner.close().catch(() => undefined)));
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
    e.cancelRequested = true;
    try {
      await (await this.jobMasterGateway(e)).cancel();
    } catch (err) {
      // A JobMaster that is starting is told once it serves (followJob).
      if (!hasErrorCode(err, JOB_MASTER_STARTING)) throw err;
    }
  }

  async requestJobResult(jobId: string): Promise<JobResult> {
    return (await this.entry(jobId)).result;
  }

  async triggerSavepoint(jobId: string, targetDirectory: string, stop?: StopMode): Promise<{ path: string }> {
    const e = await this.entry(jobId);
    if (e.final !== undefined) {
      throw new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${jobId} has already ended (${e.final.result.status}); a savepoint needs a running job`);
    }
    const jm = await this.jobMasterGateway(e);
    const call = jm.triggerSavepoint(targetDirectory, stop);
    const inFlight = (e.savepoints ??= new Set());
    inFlight.add(call);
    try {
      return await call;
    } finally {
      inFlight.delete(call);
    }
  }

  async requestCheckpointStatistics(jobId: string): Promise<CheckpointStatistics> {
    const e = await this.entry(jobId);
    const ended = (): CheckpointStatistics => {
      if (e.final?.statistics !== undefined) return e.final.statistics;
      throw new SluiceError('NOT_FOUND', `job ${jobId} ended before its JobMaster reported checkpoint statistics`);
    };
    if (e.final !== undefined) return ended();
    try {
      return await (await this.jobMasterGateway(e)).requestCheckpointStatistics();
    } catch (err) {
      // The JobMaster may have just finished and stopped serving.
      if (finalOf(e) !== undefined) return ended();
      if (hasErrorCode(err, JOB_MASTER_STARTING) || this.replaceable(err)) return { counts: { completed: 0, failed: 0, inProgress: 0 } };
      throw err;
    }
  }

  async requestJobDetails(jobId: string): Promise<JobDetails> {
    const e = await this.entry(jobId);
    if (e.final !== undefined) return endedDetails(e, e.final);
    try {
      return await (await this.jobMasterGateway(e)).requestJobDetails();
    } catch (err) {
      // The JobMaster may have just finished and stopped serving.
      const final = finalOf(e);
      if (final !== undefined) return endedDetails(e, final);
      if (hasErrorCode(err, JOB_MASTER_STARTING) || this.replaceable(err)) return { vertices: [], exceptions: [], exceptionsDropped: 0 };
      throw err;
    }
  }

  /** Metrics of every job, asked of each running JobMaster; ended jobs report their final figures. */
  async requestJobMetrics(): Promise<JobMetrics[]> {
    const entries = await this.mailbox.run(() => [...this.jobs.values()]);
    const metrics = await Promise.all(
      entries.map(async (e) => {
        if (e.final !== undefined) return e.final.metrics;
        try {
          const m = await (await this.jobMasterGateway(e)).requestJobMetrics();
          e.lastMetrics = m;
          return m;
        } catch {
          // The job may have ended meanwhile (its JobMaster stopped): its final figures are here then.
          return finalOf(e)?.metrics ?? e.lastMetrics;
        }
      }),
    );
    return metrics.filter((m): m is JobMetrics => m !== undefined);
  }

  /**
   * For synchronous readers (a /metrics scrape, a status line): what each JobMaster reported
   * last, final figures for ended jobs; starts a refresh, so a reader that asks again sees fresher ones.
   */
  metricsSnapshot(): JobMetrics[] {
    this.refreshing ??= this.requestJobMetrics()
      .catch(() => undefined)
      .finally(() => (this.refreshing = undefined));
    const out: JobMetrics[] = [];
    for (const e of this.jobs.values()) {
      const m = e.final?.metrics ?? e.lastMetrics;
      if (m !== undefined) out.push(m);
    }
    return out;
  }

  // ---- internals ----

  /** Registers a job and follows it to its end (in the mailbox). */
  private track(submission: JobSubmission, attempt: number, recovered: boolean): JobEntry {
    let settle!: (r: JobResult) => void;
    let fail!: (err: unknown) => void;
    const result = new Promise<JobResult>((resolve, reject) => ((settle = resolve), (fail = reject)));
    // Rejected only on suspension; a caller that never asked must not see an unhandled rejection.
    result.catch(() => undefined);
    const e: JobEntry = { submission, startTime: this.clock.nowMs(), runner: this.runnerFor(submission, attempt), attempt, replacements: 0, recovered, result, abandon: fail };
    this.jobs.set(submission.jobId, e);
    void this.followJob(e).then(async (r) => {
      // Suspended: the job goes on under the next leader; its result was abandoned.
      if (this.state === 'suspended') return;
      const final = await this.finalFigures(e, r);
      // Durable before anyone hears of it: a new leader must not run again a job that was
      // reported ended (statusOf waits for this too).
      const endTime = this.clock.nowMs();
      await this.options.jobStore
        ?.jobEnded(r.jobId, r.status, endTime)
        .catch((err: unknown) => this.logger.warn('cannot record the end of the job in the job store; a new leader would run it again', { jobId: r.jobId, error: describeError(err) }));
      await this.mailbox.run(() => this.jobTerminated(e, final, endTime));
      settle(r);
    });
    return e;
  }

  private gatewayView(): DispatcherGateway {
    return {
      submitJob: (s) => this.submitJob(s),
      listJobs: () => this.listJobs(),
      requestJobStatus: (id) => this.requestJobStatus(id),
      cancelJob: (id) => this.cancelJob(id),
      requestJobResult: (id) => this.requestJobResult(id),
      triggerSavepoint: (id, dir, stop) => this.triggerSavepoint(id, dir, stop),
      requestCheckpointStatistics: (id) => this.requestCheckpointStatistics(id),
      requestJobDetails: (id) => this.requestJobDetails(id),
    };
  }

  /**
   * Starts the job's JobMaster and waits for the job's end, told by the JobMaster (its result)
   * or by the runner (the JobMaster died first: the job fails with JOB_MASTER_LOST).
   */
  private async followJob(e: JobEntry): Promise<JobResult> {
    const jobId = e.submission.jobId;
    const lost = (reason: string): JobResult => ({
      jobId,
      jobName: e.submission.jobName,
      status: 'FAILED',
      durationMs: Math.max(0, this.clock.nowMs() - e.startTime),
      error: serializeError(new SluiceError('JOB_MASTER_LOST', `the JobMaster of job ${jobId} stopped before the job ended: ${reason}`)),
      collected: {},
      operators: [],
    });
    const store = this.options.jobStore;
    const maxRestarts = this.options.maxJobMasterRestarts ?? 3;
    try {
      if (!e.recovered) await store?.jobSubmitted(e.submission);
    } catch (err) {
      return lost(`the job could not be recorded in the job store: ${describeError(err)}`);
    }
    for (;;) {
      let died: string;
      try {
        await store?.jobMasterStarted(jobId, e.attempt);
        await e.runner.start();
        if (e.cancelRequested === true) await (await this.jobMasterGateway(e)).cancel();
        type Outcome = { r: JobResult } | { died: string };
        const result = (await this.jobMasterGateway(e)).requestJobResult().then((r): Outcome => ({ r }));
        const ended = e.runner.termination.then((t): Outcome | Promise<Outcome> => (t.type === 'died' ? { died: t.reason } : this.state === 'suspended' ? { died: 'leadership lost' } : result));
        const outcome = await Promise.race([result, ended]);
        if ('r' in outcome) return outcome.r;
        died = outcome.died;
      } catch (err) {
        died = describeError(err);
        // A lost connection is usually the JobMaster's process ending: its exit says more.
        let timer: NodeJS.Timeout | undefined;
        const exit = await Promise.race([e.runner.termination, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 2_000)))]);
        clearTimeout(timer);
        if (exit?.type === 'died') died = exit.reason;
      }
      if (store === undefined || e.cancelRequested === true || e.replacements >= maxRestarts || this.state !== 'running') {
        this.logger.error('JobMaster failed', { jobId, error: died });
        return lost(died);
      }
      await this.replaceJobMaster(e, died, store);
    }
  }

  /** Starts a new JobMaster for a job whose JobMaster died, from the job's latest recorded checkpoint. */
  private async replaceJobMaster(e: JobEntry, reason: string, store: DispatcherJobStore): Promise<void> {
    await e.runner.close().catch(() => undefined);
    const latest = await store.latestCheckpoint(e.submission.jobId).catch((err: unknown) => {
      this.logger.warn('cannot read the latest checkpoint of the job from the job store; the new JobMaster starts as the job was submitted', { jobId: e.submission.jobId, error: describeError(err) });
      return undefined;
    });
    const submission: JobSubmission = latest === undefined ? e.submission : { ...e.submission, restoreFrom: { path: latest.location } };
    await this.mailbox.run(() => {
      e.attempt++;
      e.replacements++;
      e.runner = this.runnerFor(submission, e.attempt);
    });
    this.logger.warn(
      `the JobMaster of job ${e.submission.jobId} died (${reason}); starting JobMaster attempt ${e.attempt}, which resumes the job ${latest === undefined ? 'as it was submitted (no checkpoint recorded yet)' : `from checkpoint ${latest.id}`}`,
    );
  }

  private runnerFor(submission: JobSubmission, attempt: number): JobMasterRunner {
    return this.factory({
      submission,
      rpc: this.options.rpc,
      address: `jobmaster/${submission.jobId}`,
      resourceManagerAddress: this.options.resourceManagerAddress,
      attempt,
      logger: this.logger,
    });
  }

  private entry(jobId: string): Promise<JobEntry> {
    return this.mailbox.run(() => {
      const e = this.jobs.get(jobId);
      if (e === undefined) throw new JobNotFoundError(jobId);
      return e;
    });
  }


  private async statusOf(e: JobEntry): Promise<JobStatus> {
    if (e.final !== undefined) return e.final.result.status;
    try {
      const status = await (await this.jobMasterGateway(e)).requestJobStatus();
      // Ended by its JobMaster's account, but not yet recorded here (and in the job store):
      // the end is reported once it is durable.
      if (status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED') return (await e.result).status;
      return status;
    } catch (err) {
      // The JobMaster may have just finished and stopped serving.
      const final = finalOf(e);
      if (final !== undefined) return final.result.status;
      // Its first JobMaster is starting: the job is created; a replacement, or one that is gone
      // and will be replaced: it is restarting.
      if (hasErrorCode(err, JOB_MASTER_STARTING)) return e.attempt === 0 ? 'CREATED' : 'RESTARTING';
      if (this.replaceable(err)) return 'RESTARTING';
      throw new SluiceError('JOB_MASTER_UNREACHABLE', `cannot ask job ${e.submission.jobId} for its status: ${describeError(err)}`, { cause: err, retriable: true });
    }
  }

  /**
   * Whether a failed call to a JobMaster means one that is gone and will be replaced (there is a
   * job store): the connection to it was lost or nothing answers there (retriable errors).
   */
  private replaceable(err: unknown): boolean {
    return this.options.jobStore !== undefined && isRetriableError(err);
  }

  /**
   * The job's JobMaster; JOB_MASTER_STARTING (retriable) while its runner has no address yet —
   * a JobMaster process starting, or replacing one that died.
   */
  private jobMasterGateway(e: JobEntry): Promise<JobMasterGateway> {
    let address: string;
    try {
      address = e.runner.address;
    } catch (err) {
      return Promise.reject(new SluiceError(JOB_MASTER_STARTING, `the JobMaster of job ${e.submission.jobId} is starting; ask again in a moment`, { cause: err, retriable: true }));
    }
    return this.options.rpc.connect<JobMasterGateway>(address);
  }

  /** What the JobMaster of an ended job says last: asked before it is stopped. */
  private async finalFigures(entry: JobEntry, result: JobResult): Promise<NonNullable<JobEntry['final']>> {
    try {
      const jm = await this.jobMasterGateway(entry);
      const [statistics, details, metrics] = await Promise.all([jm.requestCheckpointStatistics(), jm.requestJobDetails(), jm.requestJobMetrics()]);
      return { result, statistics, details, metrics };
    } catch (err) {
      this.logger.debug("the ended job's JobMaster did not report its final figures", { jobId: result.jobId, error: describeError(err) });
      return { result };
    }
  }

  private jobTerminated(entry: JobEntry, final: NonNullable<JobEntry['final']>, endTime: number): void {
    entry.final = final;
    entry.endTime = endTime;
    this.logger.info(`job ${final.result.status}`, { jobId: final.result.jobId });
    // A stop's savepoint is copied out after the job has ended: closing the JobMaster before
    // that call is answered would cut it (and the copy) off. Bounded, so a stuck call cannot
    // keep a JobMaster alive for good.
    const pending = [...(entry.savepoints ?? [])];
    const answered = new AbortController();
    const settled = pending.length === 0 ? Promise.resolve() : Promise.race([Promise.allSettled(pending).finally(() => answered.abort()), sleep(SAVEPOINT_ANSWER_WAIT_MS, answered.signal)]);
    void settled
      .then(() => entry.runner.close())
      .catch((err: unknown) => this.logger.warn('closing a JobMaster failed', { jobId: final.result.jobId, error: describeError(err) }));
  }
}
