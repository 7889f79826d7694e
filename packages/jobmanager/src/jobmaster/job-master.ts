/**
 * The JobMaster of one job, as a component: it serves the JobMasterGateway, refuses calls with a
 * stale fencing token, registers at the ResourceManager and declares the slots its job needs,
 * keeps heartbeats with the RM and with every TaskManager it holds slots of, and hands the job's
 * life (slots, deployment, failover, result) to its JobExecution. State changes run on one
 * Mailbox; calls to TaskManagers and the RM leave through one ordered Outbox, never awaited there.
 */
import { createLogger, describeError, randomId, serializeError, SluiceError, systemClock, type Clock, type Logger } from '@sluice/common';
import {
  checkJobMasterToken,
  Mailbox,
  resolveHeartbeatOptions,
  type CheckpointAck,
  type CheckpointDecline,
  type CheckpointStatistics,
  type CollectedRecords,
  type HeartbeatOptions,
  type JobDetails,
  type JobConfig,
  type JobMasterGateway,
  type JobMasterToken,
  type JobMetrics,
  type JobResult,
  type JobStatus,
  type JobSubmission,
  type OutboxOptions,
  type ResourceManagerId,
  type RpcService,
  type SlotOffer,
  type StopMode,
  type TaskExecutionState,
  type TaskExecutorGateway,
  type TaskManagerLocation,
} from '@sluice/protocol';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import { checkSavepointTarget } from '../checkpoint/savepoint.js';
import type { RestorePlan } from '../checkpoint/restore.js';
import { JobMasterConnections } from './connections.js';
import { FileSystemCheckpointStorage, type CheckpointStorage } from '@sluice/checkpoint';
import type { SplitProvider } from './deployment.js';
import { moduleSplitProvider } from './splits.js';
import { JobExecution } from './job-execution.js';
import { checkpointStatistics, jobDetails, jobMetrics } from './job-reports.js';
import { liveCountsOf, type LiveCounts, type LiveCountsOptions } from './live-counts.js';
import { planRestoreFrom, planStart } from './start-plan.js';

export interface JobMasterOptions extends Partial<HeartbeatOptions> {
  submission: JobSubmission;
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  /** How many JobMasters were started for this job before this one (part of its fencing token). */
  attempt?: number;
  /** Default: the JobMaster loads the job module and asks its sources (see splits.ts). */
  splitProvider?: SplitProvider;
  /** Where checkpoints and savepoints are stored; the file system by default. */
  checkpointStorage?: CheckpointStorage;
  /** Where a replacement JobMaster will look for the latest checkpoint; see CoordinatorHost.recordCheckpoint. */
  recordCheckpoint?: (checkpoint: { id: number; location: string }) => Promise<void>;
  /** The job's shared checkpoint id counter; see CoordinatorHost.nextCheckpointId. */
  nextCheckpointId?: (atLeast: number) => Promise<number>;
  /** How long cancelled tasks may take to confirm before they are given up as lost. */
  cancelTimeoutMs?: number;
  /** How long to wait for all slots before the job fails. */
  slotRequestTimeoutMs?: number;
  /** How fresh the live record counts in the job's details are, and how long a request waits for them. */
  liveCounts?: LiveCountsOptions;
  /** Timeouts and retries of calls to other components. */
  outbox?: Pick<OutboxOptions, 'callTimeoutMs' | 'attempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>;
  clock?: Clock;
  logger?: Logger;
}

export const DEFAULT_JOB_MASTER_OPTIONS = Object.freeze({ cancelTimeoutMs: 10_000, slotRequestTimeoutMs: 300_000 });

/** The directory a job's checkpoints go under: the configured one, or `<os tmpdir>/sluice-checkpoints`. */
export function resolveCheckpointRoot(config: Pick<JobConfig, 'checkpointDir'>): string {
  return resolve(config.checkpointDir === '' ? join(tmpdir(), 'sluice-checkpoints') : config.checkpointDir);
}

export class JobMaster implements JobMasterGateway {
  readonly jobId: string;
  readonly address: string;
  /** This JobMaster's fencing token: TaskManagers and the RM refuse calls carrying another. */
  readonly token: JobMasterToken;
  /** The job's resolved configuration, as every subtask receives it. */
  readonly config: JobConfig;
  private readonly submission: JobSubmission;
  private readonly mailbox = new Mailbox();
  private readonly job: JobExecution;
  private readonly connections: JobMasterConnections;
  private readonly liveCounts: LiveCounts;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly splitProvider: SplitProvider;
  private readonly checkpointStorage: CheckpointStorage;
  private readonly resultWaiters: ((r: JobResult) => void)[] = [];
  /** The checkpoint root's check, once it has passed (a failed check is tried again next time). */
  private checkpointRootChecked: Promise<void> | undefined;

  constructor(private readonly options: JobMasterOptions) {
    this.submission = options.submission;
    this.jobId = options.submission.jobId;
    this.address = options.address;
    this.token = { jobId: this.jobId, jobMasterId: randomId(8), attempt: options.attempt ?? 0 };
    // The graph's config already layers the submitter's settings (artifact.config) under the
    // job code's, exactly as the client resolved it; applying artifact.config again here would
    // let the flags win at runtime but not in the plan.
    const merged: JobConfig = options.submission.jobGraph.config;
    this.config = { ...merged, checkpointDir: resolveCheckpointRoot(merged) };
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child(`jobmaster.${this.jobId.slice(0, 8)}`);
    this.splitProvider = options.splitProvider ?? moduleSplitProvider();
    this.checkpointStorage = options.checkpointStorage ?? new FileSystemCheckpointStorage();
    const run = (action: () => void): void => void this.mailbox.run(action);
    this.connections = new JobMasterConnections({
      rpc: options.rpc,
      token: this.token,
      address: this.address,
      resourceManagerAddress: options.resourceManagerAddress,
      heartbeat: resolveHeartbeatOptions(options, `JobMaster of job ${this.jobId}`),
      ...(options.outbox === undefined ? {} : { outbox: options.outbox }),
      clock: this.clock,
      logger: this.logger,
      run,
      onResourceManagerConnected: (rmId) => this.declareRequirements(rmId),
      onTaskManagerLost: (resourceId, reason) => this.job.taskManagerLost(resourceId, reason),
    });
    this.job = new JobExecution({
      submission: this.submission,
      config: this.config,
      token: this.token,
      outbox: this.connections.outbox,
      clock: this.clock,
      logger: this.logger,
      cancelTimeoutMs: options.cancelTimeoutMs ?? DEFAULT_JOB_MASTER_OPTIONS.cancelTimeoutMs,
      run,
      planRestart: () => this.planRestart(),
      onComplete: (result) => this.completed(result),
      // 2^20 restarts per JobMaster are more than any restart strategy allows.
      firstAttempt: this.token.attempt * 2 ** 20,
    });
    this.job.checkpoints = this.createCoordinator();
    this.liveCounts = liveCountsOf({
      token: this.token,
      outbox: this.connections.outbox,
      clock: this.clock,
      run: (action) => this.mailbox.run(action),
      graph: () => this.job.graph,
      ...(options.liveCounts === undefined ? {} : { options: options.liveCounts }),
    });
  }

  /** Serves the gateway, enumerates splits, registers with the RM and declares the slots needed. */
  async start(): Promise<void> {
    this.options.rpc.register<JobMasterGateway>(this.address, this.gatewayView());
    try {
      // Before anything runs: a checkpointed job whose checkpoints cannot be written must not start.
      if (this.config.checkpointIntervalMs > 0) await this.checkCheckpointRoot();
      const plan = await planStart(this.submission, this.config, this.splitProvider, this.checkpointStorage, this.logger);
      const begun = await this.mailbox.run(() => {
        if (plan.restore !== undefined) this.job.checkpoints.setLatest(plan.restore.checkpoint);
        return this.job.begin(plan.splits, plan.restore?.plan, this.options.slotRequestTimeoutMs ?? DEFAULT_JOB_MASTER_OPTIONS.slotRequestTimeoutMs);
      });
      // Requirements follow from the registration (and again after every re-registration).
      if (begun) await this.connections.connectToResourceManager();
    } catch (err) {
      const error = new SluiceError('JOB_START_FAILED', `job ${this.jobId} (${this.submission.jobName}) could not start: ${describeError(err)}`, { cause: err });
      await this.mailbox.run(() => this.job.failJob(serializeError(error)));
    }
  }

  /** Stops heartbeats, delivers what is queued (the slot release), stops serving the gateway. */
  async close(): Promise<void> {
    await this.mailbox.run(() => this.job.clearTimer());
    await this.connections.close();
    this.options.rpc.unregister(this.address);
  }

  /** The connection to `address` closed (network RpcService): peers there are lost at once. */
  peerConnectionClosed(address: string): void {
    this.connections.peerConnectionClosed(address);
  }

  // ---- JobMasterGateway ----

  offerSlots(token: JobMasterToken, resourceId: string, taskManagerAddress: string, offers: SlotOffer[], location?: TaskManagerLocation): Promise<SlotOffer[]> {
    return this.fenced(token, `slot offer from TaskManager '${resourceId}'`, () => {
      const accepted = this.job.offerSlots(resourceId, taskManagerAddress, offers, location);
      if (this.job.holdsSlotsOf(resourceId)) this.connections.monitorTaskManager(resourceId, taskManagerAddress);
      return accepted;
    });
  }

  updateTaskExecutionState(token: JobMasterToken, update: TaskExecutionState): Promise<void> {
    return this.fenced(token, `${update.state} of ${update.executionId}`, () => this.job.updateTaskExecutionState(update));
  }

  reportCollectedRecords(token: JobMasterToken, batch: CollectedRecords): Promise<void> {
    return this.fenced(token, `records of ${batch.executionId}`, () => this.job.addCollected(batch));
  }

  acknowledgeCheckpoint(token: JobMasterToken, ack: CheckpointAck): Promise<void> {
    return this.fenced(token, `ack of checkpoint ${ack.checkpointId}`, () => {
      if (ack.jobId === this.jobId && this.job.graph.get(ack.executionId) !== undefined) this.job.checkpoints.receiveAck(ack);
    });
  }

  declineCheckpoint(token: JobMasterToken, decline: CheckpointDecline): Promise<void> {
    return this.fenced(token, `decline of checkpoint ${decline.checkpointId}`, () => {
      if (decline.jobId === this.jobId && this.job.graph.get(decline.executionId) !== undefined) this.job.checkpoints.receiveDecline(decline);
    });
  }

  disconnectTaskManager(resourceId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => {
      this.connections.forgetTaskManager(resourceId, `TaskManager '${resourceId}' disconnected`);
      this.job.taskManagerLost(resourceId, reason);
    });
  }

  heartbeatFromTaskManager(token: JobMasterToken, resourceId: string): Promise<void> {
    return this.fenced(token, `heartbeat from TaskManager '${resourceId}'`, () => {
      if (this.connections.receiveTaskManagerHeartbeat(resourceId)) return;
      throw new SluiceError('TASK_MANAGER_NOT_CONNECTED', `JobMaster of job ${this.jobId} holds no slot of TaskManager '${resourceId}' (it was dropped as lost, or never offered one); free the job's slots`);
    });
  }

  heartbeatFromResourceManager(resourceManagerId: ResourceManagerId): Promise<void> {
    return this.mailbox.run(() => this.connections.receiveResourceManagerHeartbeat(resourceManagerId));
  }

  requestJobStatus(): Promise<JobStatus> {
    return this.mailbox.run(() => this.job.status);
  }

  async requestJobResult(): Promise<JobResult> {
    // Wrapped: a promise returned from a mailbox action would hold the mailbox until it settles.
    const pending = await this.mailbox.run(() => ({
      result: this.job.result === undefined ? new Promise<JobResult>((resolve) => this.resultWaiters.push(resolve)) : Promise.resolve(this.job.result),
    }));
    return pending.result;
  }

  requestCheckpointStatistics(): Promise<CheckpointStatistics> {
    return this.mailbox.run(() => checkpointStatistics(this.job.checkpoints));
  }

  async requestJobDetails(): Promise<JobDetails> {
    await this.liveCounts.refresh();
    return this.mailbox.run(() => jobDetails(this.job.graph, (id) => this.liveCounts.get(id), this.job.exceptions));
  }

  requestJobMetrics(): Promise<JobMetrics> {
    return this.mailbox.run(() => {
      const { status, restarts, runningSince, endTime, checkpoints } = this.job;
      return jobMetrics({ jobId: this.jobId, jobName: this.submission.jobName, status, restarts, runningSince, endTime, checkpoints });
    });
  }

  cancel(): Promise<void> {
    return this.mailbox.run(() => this.job.cancel());
  }

  /**
   * Takes a checkpoint now and copies it into a new self-contained directory under
   * `targetDirectory`; with `stop` the sources end right after it and the job finishes.
   */
  async triggerSavepoint(targetDirectory: string, stop?: StopMode): Promise<{ path: string }> {
    // A savepoint is a checkpoint copied out: both directories must take files.
    await Promise.all([checkSavepointTarget(this.checkpointStorage, targetDirectory), this.checkCheckpointRoot()]);
    const done = await this.mailbox.run(() => {
      if (this.job.status !== 'RUNNING') {
        throw new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${this.jobId} is ${this.job.status}; a savepoint needs a running job`);
      }
      // Wrapped: a promise returned from a mailbox action would hold the mailbox until it
      // settles, and completing the savepoint needs the mailbox.
      return { completion: this.job.checkpoints.triggerNow(stop) };
    });
    const c = await done.completion;
    let path: string;
    try {
      path = await this.checkpointStorage.copyToSavepoint(c, targetDirectory);
    } catch (err) {
      // After a stop the job has ended at this checkpoint, which stays where it is: say so.
      const resume = stop === undefined ? '' : `; the job stopped at that checkpoint, which is kept in ${c.location}: resume from it with --from-savepoint ${c.location}`;
      throw new SluiceError('SAVEPOINT_FAILED', `could not copy checkpoint ${c.id} into a savepoint under ${targetDirectory}: ${describeError(err)}${resume}`, { cause: err });
    }
    this.logger.info('savepoint written', { path, checkpointId: c.id, stop: stop ?? 'no' });
    return { path };
  }

  // ---- internals ----

  /** Only the gateway methods are served, so remote callers cannot reach start/close. */
  private gatewayView(): JobMasterGateway {
    return {
      offerSlots: (t, r, a, o, l) => this.offerSlots(t, r, a, o, l),
      updateTaskExecutionState: (t, s) => this.updateTaskExecutionState(t, s),
      reportCollectedRecords: (t, b) => this.reportCollectedRecords(t, b),
      acknowledgeCheckpoint: (t, ack) => this.acknowledgeCheckpoint(t, ack),
      declineCheckpoint: (t, d) => this.declineCheckpoint(t, d),
      disconnectTaskManager: (r, reason) => this.disconnectTaskManager(r, reason),
      heartbeatFromTaskManager: (t, r) => this.heartbeatFromTaskManager(t, r),
      heartbeatFromResourceManager: (id) => this.heartbeatFromResourceManager(id),
      requestJobStatus: () => this.requestJobStatus(),
      requestJobResult: () => this.requestJobResult(),
      requestCheckpointStatistics: () => this.requestCheckpointStatistics(),
      requestJobDetails: () => this.requestJobDetails(),
      requestJobMetrics: () => this.requestJobMetrics(),
      cancel: () => this.cancel(),
      triggerSavepoint: (dir, stop) => this.triggerSavepoint(dir, stop),
    };
  }

  /** Runs `action` on the mailbox if `token` names this JobMaster; otherwise refuses and logs. */
  private fenced<T>(token: JobMasterToken, what: string, action: () => T): Promise<T> {
    return this.mailbox.run(() => {
      try {
        checkJobMasterToken(what, this.token, token);
      } catch (err) {
        this.logger.warn(describeError(err));
        throw err;
      }
      return action();
    });
  }

  private declareRequirements(resourceManagerId: ResourceManagerId): void {
    if (!this.job.isActive()) return;
    const requirements = { jobId: this.jobId, jobMaster: this.token, jobMasterAddress: this.address, slots: this.job.slotsNeeded };
    void this.connections.toResourceManager('resource requirements', (rm) => rm.declareResourceRequirements(resourceManagerId, requirements)).catch(() => undefined);
  }

  private completed(result: JobResult): void {
    for (const w of this.resultWaiters.splice(0)) w(result);
    const requirements = { jobId: this.jobId, jobMaster: this.token, jobMasterAddress: this.address, slots: 0 };
    this.connections
      .toResourceManager('slot release', async (rm, rmId) => {
        await rm.declareResourceRequirements(rmId, requirements);
        await rm.disconnectJobMaster(rmId, this.token, `job ${result.status}`);
      })
      .catch((err: unknown) => this.logger.warn("could not release the job's slots at the ResourceManager", { error: describeError(err) }));
  }

  private planRestart(): Promise<RestorePlan | undefined> {
    const latest = this.job.checkpoints.latestCompleted();
    if (latest === undefined) return Promise.resolve(undefined);
    return planRestoreFrom(this.submission, this.splitProvider, latest, false).catch((err: unknown) => {
      throw new SluiceError('RESTORE_FAILED', `could not restore checkpoint ${latest.id} from ${latest.location}: ${describeError(err)}`, { cause: err });
    });
  }

  private checkCheckpointRoot(): Promise<void> {
    const check = (this.checkpointRootChecked ??= this.checkpointStorage.checkTarget(this.config.checkpointDir, 'checkpoint directory'));
    return check.catch((err: unknown) => {
      if (this.checkpointRootChecked === check) this.checkpointRootChecked = undefined;
      throw err;
    });
  }

  private createCoordinator(): CheckpointCoordinator {
    const job = this.job;
    const { outbox } = this.connections;
    return new CheckpointCoordinator({
      jobId: this.jobId,
      jobName: this.submission.jobName,
      jobGraph: this.submission.jobGraph,
      config: this.config,
      root: this.config.checkpointDir,
      storage: this.checkpointStorage,
      clock: this.clock,
      logger: this.logger,
      host: {
        executions: () => job.graph.executions,
        isRunning: () => job.status === 'RUNNING',
        triggerAt: (executionId, id, ts, stop) => {
          const address = job.graph.get(executionId)?.slot?.taskManagerAddress;
          if (address === undefined) return Promise.reject(new SluiceError('TASK_NOT_DEPLOYED', `execution ${executionId} is not deployed`));
          return outbox.call<TaskExecutorGateway, void>(address, `trigger of checkpoint ${id} at ${executionId}`, (tm) => tm.triggerCheckpoint(this.token, executionId, id, ts, stop));
        },
        notify: (executionId, outcome, id) => {
          const address = job.graph.get(executionId)?.slot?.taskManagerAddress;
          if (address === undefined) return;
          outbox.send<TaskExecutorGateway>(address, `checkpoint ${id} ${outcome} to ${executionId}`, (tm) =>
            outcome === 'complete' ? tm.notifyCheckpointComplete(this.token, executionId, id) : tm.notifyCheckpointAborted(this.token, executionId, id),
          );
        },
        run: (action) => void this.mailbox.run(action),
        failOver: (reason) => {
          if (job.status === 'RUNNING') job.failOver('checkpoints are failing', serializeError(new SluiceError('CHECKPOINTS_FAILED', reason, { retriable: true })));
        },
        ...(this.options.recordCheckpoint === undefined ? {} : { recordCheckpoint: this.options.recordCheckpoint }),
        ...(this.options.nextCheckpointId === undefined ? {} : { nextCheckpointId: this.options.nextCheckpointId }),
      },
    });
  }
}
