/**
 * The JobMaster of one job: builds the ExecutionGraph, declares the slots it needs to the
 * ResourceManager (all vertices share slots, so the widest vertex decides; subtask i of every
 * vertex goes to slot i), accepts offered slots, deploys every subtask once all slots are there,
 * tracks execution states and turns them into the job's status and JobResult. A failed subtask,
 * or more failed checkpoints in a row than the job tolerates, goes through `failOver`: the
 * restart strategy restarts the job from its latest checkpoint or fails it. State changes run on one Mailbox; calls to TaskManagers and the RM are never awaited inside it.
 */
import { createLogger, describeError, serializeError, SluiceError, systemClock, type Clock, type Logger, type SerializedError } from '@sluice/common';
import {
  Mailbox,
  requiredSlots,
  type CollectedRecords,
  type JobMasterGateway,
  type JobResult,
  type JobStatus,
  type CheckpointAck,
  type CheckpointStatistics,
  type CheckpointDecline,
  type JobConfig,
  type JobSubmission,
  type StopMode,
  type ResourceManagerGateway,
  type RpcService,
  type SlotOffer,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
} from '@sluice/protocol';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobMetricsSnapshot } from '@sluice/metrics';
import { FileSystemCheckpointStorage, type CheckpointStorage } from '@sluice/checkpoint';
import { locateCheckpoint } from '../checkpoint/locate.js';
import { buildDeploymentDescriptor, enumerateSplits, type SplitProvider } from './deployment.js';
import { moduleSplitProvider } from './splits.js';
import { ExecutionGraph, type Execution, type LogicalSlot } from './execution-graph.js';
import { JobResultCollector } from './job-result.js';
import { createRestartBackoff, failsWithoutRestart, type RestartBackoff } from './restart-strategy.js';
import { CheckpointCoordinator, type CompletedCheckpoint } from '../checkpoint/coordinator.js';
import { checkSavepointTarget } from '../checkpoint/savepoint.js';
import { planRestore, statefulOperatorsWithoutUid, type RestorePlan } from '../checkpoint/restore.js';

export interface JobMasterOptions {
  submission: JobSubmission;
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  /** Default: the JobMaster loads the job module and asks its sources (see splits.ts). */
  splitProvider?: SplitProvider;
  /** Where checkpoints and savepoints are stored; the file system by default. */
  checkpointStorage?: CheckpointStorage;
  /** How long cancelled tasks may take to confirm before they are given up as lost. */
  cancelTimeoutMs?: number;
  /** How long to wait for all slots before the job fails. */
  slotRequestTimeoutMs?: number;
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
  private readonly submission: JobSubmission;
  private readonly mailbox = new Mailbox();
  private readonly rmQueue = new Mailbox();
  private graph: ExecutionGraph;
  private readonly slots: (LogicalSlot | undefined)[];
  private readonly results = new JobResultCollector();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly startTime: number;
  private status: JobStatus = 'CREATED';
  private attempt = 0;
  private splits: ReadonlyMap<string, unknown[][]> = new Map();
  private deployed = false;
  private failure: SerializedError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private result: JobResult | undefined;
  private readonly resultWaiters: ((r: JobResult) => void)[] = [];
  /** The job's resolved configuration, as every subtask receives it. */
  readonly config: JobConfig;
  readonly checkpoints: CheckpointCoordinator;
  private readonly checkpointStorage: CheckpointStorage;
  private readonly restartBackoff: RestartBackoff;
  private restorePlan: RestorePlan | undefined;
  /** Splits as enumerated at the start, for restarts with no checkpoint to go back to. */
  private initialSplits: ReadonlyMap<string, unknown[][]> = new Map();
  /** Restarts so far (the attempt number counts the same). */
  restarts = 0;
  private coordinatorStarted = false;
  /** When the running attempt failed, until the next attempt has every subtask running again. */
  private failedAt: number | undefined;
  /** The checkpoint root's check, once it has passed (a failed check is tried again next time). */
  private checkpointRootChecked: Promise<void> | undefined;
  /** Backoff before the pending restart, and whether it has been scheduled (all subtasks stopped). */
  private restartDelayMs = 0;
  private restartScheduled = false;
  /** When the status last became RUNNING, and when the job ended (for metrics). */
  private runningSince: number | undefined;
  private endTime: number | undefined;

  private readonly splitProvider: SplitProvider;

  constructor(private readonly options: JobMasterOptions) {
    this.splitProvider = options.splitProvider ?? moduleSplitProvider();
    this.submission = options.submission;
    this.jobId = options.submission.jobId;
    this.address = options.address;
    this.graph = new ExecutionGraph(options.submission.jobGraph, this.jobId);
    // The graph's config already layers the submitter's settings (artifact.config) under the
    // job code's, exactly as the client resolved it; applying artifact.config again here would
    // let the flags win at runtime but not in the plan.
    const merged: JobConfig = options.submission.jobGraph.config;
    this.config = { ...merged, checkpointDir: resolveCheckpointRoot(merged) };
    this.slots = new Array<LogicalSlot | undefined>(requiredSlots(options.submission.jobGraph)).fill(undefined);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child(`jobmaster.${this.jobId.slice(0, 8)}`);
    this.startTime = this.clock.nowMs();
    this.restartBackoff = createRestartBackoff(this.config.restartStrategy);
    this.checkpointStorage = options.checkpointStorage ?? new FileSystemCheckpointStorage();
    this.checkpoints = new CheckpointCoordinator({
      jobId: this.jobId,
      jobName: options.submission.jobName,
      jobGraph: options.submission.jobGraph,
      config: this.config,
      root: this.config.checkpointDir,
      storage: this.checkpointStorage,
      clock: this.clock,
      logger: this.logger,
      host: {
        executions: () => this.graph.executions,
        isRunning: () => this.status === 'RUNNING',
        triggerAt: (executionId, id, ts, stop) => {
          const e = this.graph.get(executionId);
          if (e?.slot === undefined) return Promise.reject(new Error('not deployed'));
          return this.options.rpc.connect<TaskExecutorGateway>(e.slot.taskManagerAddress).then((tm) => tm.triggerCheckpoint(executionId, id, ts, stop));
        },
        notify: (executionId, outcome, id) => {
          const e = this.graph.get(executionId);
          if (e?.slot === undefined) return;
          this.call<TaskExecutorGateway>(e.slot.taskManagerAddress, `checkpoint ${id} ${outcome} to ${executionId}`, (tm) =>
            outcome === 'complete' ? tm.notifyCheckpointComplete(executionId, id) : tm.notifyCheckpointAborted(executionId, id),
          );
        },
        run: (action) => void this.mailbox.run(action),
        failOver: (reason) => {
          if (this.status === 'RUNNING') this.failOver('checkpoints are failing', serializeError(new SluiceError('CHECKPOINTS_FAILED', reason, { retriable: true })));
        },
      },
    });
  }

  private checkCheckpointRoot(): Promise<void> {
    const check = (this.checkpointRootChecked ??= this.checkpointStorage.checkTarget(this.config.checkpointDir, 'checkpoint directory'));
    return check.catch((err: unknown) => {
      if (this.checkpointRootChecked === check) this.checkpointRootChecked = undefined;
      throw err;
    });
  }

  /** Checkpointed operators without a uid restore only into the same graph: say so once, at the start. */
  private warnAboutMissingUids(): void {
    if (!(this.config.checkpointIntervalMs > 0)) return;
    const missing = statefulOperatorsWithoutUid(this.submission.jobGraph);
    if (missing.length === 0) return;
    this.logger.warn(
      `${missing.length} stateful operator(s) have no .uid(...): ${missing.join(', ')}. Checkpoints and savepoints know them by their position in the graph, ` +
        `so their state restores only into a job with the same graph; give each a .uid('...') that stays the same across versions of the job`,
    );
  }

  /** Serves the gateway, enumerates splits, registers with the RM and declares the slots needed. */
  async start(): Promise<void> {
    this.options.rpc.register<JobMasterGateway>(this.address, this.gatewayView());
    try {
      // Before anything runs: a checkpointed job whose checkpoints cannot be written must not start.
      if (this.config.checkpointIntervalMs > 0) await this.checkCheckpointRoot();
      const splits = await enumerateSplits(this.submission, this.splitProvider);
      this.initialSplits = splits;
      this.warnAboutMissingUids();
      const restoreFrom = this.submission.restoreFrom;
      let plan: RestorePlan | undefined;
      if (restoreFrom !== undefined) {
        const found = await locateCheckpoint(this.checkpointStorage, restoreFrom.path, this.logger);
        plan = await this.planRestoreFrom({ id: found.meta.checkpointId, ...found }, restoreFrom.allowNonRestoredState ?? false);
        this.checkpoints.setLatest({ id: found.meta.checkpointId, ...found });
        this.logger.info('restoring from checkpoint', { path: found.location, checkpointId: found.meta.checkpointId });
        for (const w of plan.warnings) this.logger.warn(w, { checkpointId: found.meta.checkpointId });
        for (const n of plan.notes) this.logger.info(n, { checkpointId: found.meta.checkpointId });
        if (plan.drainedSources.length > 0) {
          this.logger.warn(
            `${found.location} was taken with --drain: event time of ${plan.drainedSources.join(', ')} is at its end, so every record with an event time is late ` +
              `(windows drop it) and no event-time timer will fire again; to continue where the job was, resume a savepoint taken without --drain`,
            { checkpointId: found.meta.checkpointId },
          );
        }
      }
      const registered = await this.mailbox.run(() => {
        if (this.status !== 'CREATED') return undefined;
        this.restorePlan = plan;
        this.splits = plan === undefined ? splits : new Map([...splits, ...plan.splits]);
        this.status = 'RUNNING';
        this.runningSince = this.clock.nowMs();
        for (const e of this.graph.executions) e.state = 'SCHEDULED';
        const timeout = this.options.slotRequestTimeoutMs ?? DEFAULT_JOB_MASTER_OPTIONS.slotRequestTimeoutMs;
        this.setTimer(timeout, () => this.slotRequestTimedOut(timeout));
        // Queued from the mailbox, so a release sent when the job ends can never overtake it.
        return this.toResourceManager(async (rm) => {
          await rm.registerJobMaster(this.jobId, this.address);
          await rm.declareResourceRequirements({ jobId: this.jobId, jobMasterAddress: this.address, slots: this.slots.length });
        });
      });
      await registered;
    } catch (err) {
      const error = new SluiceError('JOB_START_FAILED', `job ${this.jobId} (${this.submission.jobName}) could not start: ${describeError(err)}`, { cause: err });
      await this.mailbox.run(() => this.failJob(serializeError(error)));
    }
  }

  /** Resolves with the JobResult once the job is FINISHED, FAILED or CANCELED. */
  jobResult(): Promise<JobResult> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    return new Promise((resolve) => this.resultWaiters.push(resolve));
  }

  /**
   * Status, restarts and checkpoint statistics as plain numbers, for /metrics. A synchronous
   * read of state the mailbox owns: it changes nothing, and no mailbox action is half done
   * while this runs. Still answers after the job ended and the JobMaster closed.
   */
  metricsSnapshot(): JobMetricsSnapshot {
    const s: JobMetricsSnapshot = {
      jobId: this.jobId,
      jobName: this.submission.jobName,
      status: this.status,
      restarts: this.restarts,
      checkpoints: { ...this.checkpoints.stats },
    };
    if (this.runningSince !== undefined) s.runningSince = this.runningSince;
    if (this.endTime !== undefined) s.endTime = this.endTime;
    return s;
  }

  /** Checkpoint counts and the latest checkpoint; a synchronous read like `metricsSnapshot`. */
  checkpointStatistics(): CheckpointStatistics {
    const st = this.checkpoints.stats;
    const out: CheckpointStatistics = { counts: { completed: st.completed, failed: st.failed, inProgress: st.inProgress } };
    if (this.checkpoints.lastFailure !== undefined) out.lastFailure = { ...this.checkpoints.lastFailure };
    const last = this.checkpoints.latestCompleted();
    if (last !== undefined) {
      const own = st.completed > 0 && st.lastCompletedId === last.id;
      out.latest = own
        ? { id: last.id, path: last.location, restored: false, durationMs: st.lastDurationMs, sizeBytes: st.lastSizeBytes, alignmentMs: st.lastAlignmentMs, syncMs: st.lastSyncMs, maxPauseMs: st.lastMaxPauseMs }
        : { id: last.id, path: last.location, restored: true };
    }
    return out;
  }

  /** Stops serving the gateway; call once the job is terminal (or after cancel()). */
  async close(): Promise<void> {
    await this.mailbox.run(() => {
      this.clearTimer();
      this.options.rpc.unregister(this.address);
    });
  }

  // ---- JobMasterGateway ----

  offerSlots(resourceId: string, taskManagerAddress: string, offers: SlotOffer[]): Promise<SlotOffer[]> {
    return this.mailbox.run(() => {
      const accepted: SlotOffer[] = [];
      for (const offer of offers) {
        // A repeated offer of a slot already held is accepted again, so the TaskManager keeps it.
        if (this.slots.some((s) => s?.allocationId === offer.allocationId)) {
          accepted.push(offer);
          continue;
        }
        const wanted = (this.status === 'RUNNING' && !this.deployed) || this.status === 'RESTARTING';
        if (!wanted) continue;
        const free = this.slots.indexOf(undefined);
        if (free < 0) break;
        this.slots[free] = { allocationId: offer.allocationId, resourceId, taskManagerAddress };
        accepted.push(offer);
      }
      if (this.status === 'RUNNING' && !this.deployed && !this.slots.includes(undefined)) this.deployAll();
      return accepted;
    });
  }

  updateTaskExecutionState(update: TaskExecutionState): Promise<void> {
    return this.mailbox.run(() => {
      const e = this.graph.get(update.executionId);
      if (e === undefined || update.jobId !== this.jobId || this.graph.isTerminal(e)) return;
      switch (update.state) {
        case 'FINISHED':
          e.state = 'FINISHED';
          if (update.operators !== undefined) e.operators = update.operators;
          this.checkpoints.executionFinished(e.executionId, e.vertex.id, e.subtaskIndex, update.finalSourceState);
          break;
        case 'FAILED': {
          e.state = 'FAILED';
          if (update.operators !== undefined) e.operators = update.operators;
          const error = update.error ?? serializeError(new SluiceError('TASK_FAILED', `subtask ${this.graph.describe(e)} failed without an error`));
          e.error = error;
          if (this.status === 'RUNNING') this.handleTaskFailure(e, error);
          break;
        }
        case 'CANCELED':
          e.state = 'CANCELED';
          if (update.operators !== undefined) e.operators = update.operators;
          if (this.status === 'RUNNING') {
            this.handleTaskFailure(e, serializeError(new SluiceError('TASK_CANCELED', `subtask ${this.graph.describe(e)} of job ${this.jobId} was cancelled without the job being cancelled`)));
          }
          break;
        default:
          if (e.state !== 'CANCELING') e.state = update.state;
          if (update.state === 'RUNNING') this.maybeStartCheckpointing();
      }
      this.checkTerminal();
    });
  }

  reportCollectedRecords(batch: CollectedRecords): Promise<void> {
    return this.mailbox.run(() => {
      if (batch.jobId !== this.jobId || this.graph.get(batch.executionId) === undefined || this.result !== undefined) return;
      this.results.addCollected(batch);
    });
  }

  disconnectTaskManager(resourceId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => {
      if (this.result !== undefined) return;
      const lost = this.graph.onTaskManager(resourceId).filter((e) => e.state !== 'CREATED' && e.state !== 'SCHEDULED');
      if (!this.deployed) {
        // Nothing runs there yet: forget its slots; the requirement still stands, so the RM finds others.
        for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.resourceId === resourceId) this.slots[i] = undefined;
        return;
      }
      // A restart must find new slots for these.
      for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.resourceId === resourceId) this.slots[i] = undefined;
      if (lost.length === 0) return;
      const error = serializeError(
        new SluiceError(
          'TASK_MANAGER_LOST',
          `TaskManager '${resourceId}' was lost (${reason}) while running ${lost.length} subtask(s) of job ${this.jobId}: ${lost.map((e) => this.graph.describe(e)).join(', ')}`,
          { retriable: true },
        ),
      );
      for (const e of lost) {
        e.state = this.status === 'CANCELLING' ? 'CANCELED' : 'FAILED';
        if (e.state === 'FAILED') e.error = error;
      }
      if (this.status === 'RUNNING') this.handleTaskFailure(lost[0]!, error);
      this.checkTerminal();
    });
  }

  requestJobStatus(): Promise<JobStatus> {
    return this.mailbox.run(() => this.status);
  }

  acknowledgeCheckpoint(ack: CheckpointAck): Promise<void> {
    return this.mailbox.run(() => {
      if (ack.jobId !== this.jobId || this.graph.get(ack.executionId) === undefined) return;
      this.checkpoints.receiveAck(ack);
    });
  }

  declineCheckpoint(decline: CheckpointDecline): Promise<void> {
    return this.mailbox.run(() => {
      if (decline.jobId !== this.jobId || this.graph.get(decline.executionId) === undefined) return;
      this.checkpoints.receiveDecline(decline);
    });
  }

  /**
   * Takes a checkpoint now and copies it into a new self-contained directory under
   * `targetDirectory`; with `stop` the sources end right after it and the job finishes.
   */
  async triggerSavepoint(targetDirectory: string, stop?: StopMode): Promise<{ path: string }> {
    // A savepoint is a checkpoint copied out: both directories must take files.
    await Promise.all([checkSavepointTarget(this.checkpointStorage, targetDirectory), this.checkCheckpointRoot()]);
    const done = await this.mailbox.run(() => {
      if (this.status !== 'RUNNING') {
        throw new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${this.jobId} is ${this.status}; a savepoint needs a running job`);
      }
      // Wrapped: a promise returned from a mailbox action would hold the mailbox until it
      // settles, and completing the savepoint needs the mailbox.
      return { completion: this.checkpoints.triggerNow(stop) };
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

  cancel(): Promise<void> {
    return this.mailbox.run(() => {
      if (this.status !== 'CREATED' && this.status !== 'RUNNING' && this.status !== 'RESTARTING') return;
      this.logger.info('cancelling job');
      this.status = 'CANCELLING';
      this.checkpoints.stop('the job is cancelled');
      this.cancelExecutions();
      this.checkTerminal();
    });
  }

  // ---- internals (run inside the mailbox) ----

  private gatewayView(): JobMasterGateway {
    return {
      offerSlots: (r, a, o) => this.offerSlots(r, a, o),
      updateTaskExecutionState: (s) => this.updateTaskExecutionState(s),
      reportCollectedRecords: (b) => this.reportCollectedRecords(b),
      disconnectTaskManager: (r, reason) => this.disconnectTaskManager(r, reason),
      requestJobStatus: () => this.requestJobStatus(),
      cancel: () => this.cancel(),
      acknowledgeCheckpoint: (ack) => this.acknowledgeCheckpoint(ack),
      declineCheckpoint: (d) => this.declineCheckpoint(d),
      triggerSavepoint: (dir, stop) => this.triggerSavepoint(dir, stop),
    };
  }

  /**
   * What a failed subtask means for the job: the restart strategy decides between failing the
   * job and restarting it — every subtask cancelled, then after the backoff all redeployed as a
   * new attempt from the latest completed checkpoint (or from the start if there is none).
   */
  private handleTaskFailure(e: Execution, error: SerializedError): void {
    this.failOver(`subtask ${this.graph.describe(e)} failed`, error);
  }

  /** A failure of the running job (`what` says which, for the log): restart it or fail it. */
  private failOver(what: string, error: SerializedError): void {
    if (failsWithoutRestart(error)) {
      this.logger.info(`${what} in a way no restart can cure; failing the job`, { error: error.message });
      this.failJob(error);
      return;
    }
    const backoff = this.restartBackoff;
    backoff.notifyFailure(this.clock.nowMs());
    if (!backoff.canRestart()) {
      this.logger.info(`${what}; failing the job`, { error: error.message, attempt: this.attempt, restartStrategy: backoff.describe() });
      this.failJob(this.config.restartStrategy.type === 'none' ? error : { ...error, message: `${error.message} (not restarted: ${backoff.describe()})` });
      return;
    }
    const delay = backoff.backoffMs();
    this.logger.warn(`${what}; restarting the job in ${Math.round(delay)} ms`, { error: error.message, attempt: this.attempt, restartStrategy: backoff.describe() });
    this.failedAt = this.clock.nowMs();
    this.status = 'RESTARTING';
    this.restartDelayMs = delay;
    this.checkpoints.stop('the job is restarting');
    this.coordinatorStarted = false;
    this.cancelExecutions();
    this.checkTerminal();
  }


  /** Every subtask of the failed attempt has stopped: wait out the backoff, then redeploy. */
  private scheduleRestart(): void {
    this.setTimer(this.restartDelayMs, () => {
      if (this.status !== 'RESTARTING') return;
      const latest = this.checkpoints.latestCompleted();
      void (async () => {
        let plan: RestorePlan | undefined;
        try {
          if (latest !== undefined) plan = await this.planRestoreFrom(latest, false);
        } catch (err) {
          await this.mailbox.run(() =>
            this.failJob(serializeError(new SluiceError('RESTORE_FAILED', `could not restore checkpoint ${latest!.id} from ${latest!.location}: ${describeError(err)}`, { cause: err }))),
          );
          return;
        }
        await this.mailbox.run(() => this.redeploy(plan));
      })();
    });
  }

  private redeploy(plan: RestorePlan | undefined): void {
    if (this.status !== 'RESTARTING') return;
    this.restartScheduled = false;
    this.attempt++;
    this.restarts++;
    // What the failed attempt's subtasks counted belongs in the job's totals.
    this.results.addAttempt(this.graph.executions);
    this.graph = new ExecutionGraph(this.submission.jobGraph, this.jobId);
    this.restorePlan = plan;
    this.splits = plan === undefined ? this.initialSplits : new Map([...this.initialSplits, ...plan.splits]);
    this.status = 'RUNNING';
    this.runningSince = this.clock.nowMs();
    for (const e of this.graph.executions) e.state = 'SCHEDULED';
    this.logger.info('redeploying', { attempt: this.attempt, fromCheckpoint: plan?.checkpointId ?? 'none (from the start)' });
    this.deployed = false;
    if (!this.slots.includes(undefined)) this.deployAll();
  }

  private planRestoreFrom(c: CompletedCheckpoint, allowNonRestoredState: boolean): Promise<RestorePlan> {
    return planRestore(c.location, c.meta, this.submission.jobGraph, {
      allowNonRestoredState,
      assignSplits: (vertexId, parallelism, splits) => this.splitProvider(this.submission, vertexId, parallelism, splits),
    });
  }

  /** The first time every subtask of an attempt runs, periodic checkpoints begin. */
  private maybeStartCheckpointing(): void {
    if (this.coordinatorStarted || this.status !== 'RUNNING' || !this.deployed) return;
    if (!this.graph.executions.every((x) => x.state === 'RUNNING' || x.state === 'FINISHED')) return;
    this.coordinatorStarted = true;
    if (this.failedAt !== undefined) {
      // At the default log level the restart was announced as a warning: so is its end.
      this.logger.warn(
        `job recovered: all ${this.graph.executions.length} subtasks run again after restart ${this.restarts}, ` +
          `${this.restorePlan === undefined ? 'from the start (no checkpoint to go back to)' : `from checkpoint ${this.restorePlan.checkpointId}`}, ` +
          `${Math.round(this.clock.nowMs() - this.failedAt)} ms after the failure`,
      );
      this.failedAt = undefined;
    }
    this.checkpoints.start();
  }

  private failJob(error: SerializedError): void {
    if (this.status !== 'CREATED' && this.status !== 'RUNNING' && this.status !== 'RESTARTING') return;
    this.checkpoints.stop('the job is failing');
    this.failure = error;
    this.status = 'FAILING';
    this.cancelExecutions();
    this.checkTerminal();
  }

  /** Cancels everything not yet terminal; gives up on stragglers after the cancel timeout. */
  private cancelExecutions(): void {
    for (const e of this.graph.notTerminal()) {
      if (e.state === 'CREATED' || e.state === 'SCHEDULED') {
        e.state = 'CANCELED';
        continue;
      }
      e.state = 'CANCELING';
      this.sendCancel(e);
    }
    const timeout = this.options.cancelTimeoutMs ?? DEFAULT_JOB_MASTER_OPTIONS.cancelTimeoutMs;
    this.setTimer(timeout, () => {
      const stragglers = this.graph.notTerminal();
      if (stragglers.length === 0) return;
      this.logger.warn(`gave up waiting ${timeout} ms for cancelled subtasks; marking them lost`, { subtasks: stragglers.map((e) => this.graph.describe(e)) });
      for (const e of stragglers) e.state = this.status === 'FAILING' ? 'FAILED' : 'CANCELED';
      this.checkTerminal();
    });
  }

  private sendCancel(e: Execution): void {
    const slot = e.slot;
    if (slot === undefined) return;
    this.call<TaskExecutorGateway>(slot.taskManagerAddress, `cancel of ${e.executionId}`, (tm) => tm.cancelTask(e.executionId));
  }

  private deployAll(): void {
    this.deployed = true;
    this.clearTimer();
    const deployments: { e: Execution; tdd: TaskDeploymentDescriptor; address: string }[] = [];
    for (const e of this.graph.executions) {
      const slot = this.slots[e.slotIndex];
      if (slot === undefined) throw new SluiceError('INTERNAL', `no slot ${e.slotIndex} for ${this.graph.describe(e)}`);
      e.slot = slot;
      e.state = 'DEPLOYING';
      const restore = this.restorePlan?.subtasks.get(e.vertex.id)?.[e.subtaskIndex];
      deployments.push({ e, tdd: buildDeploymentDescriptor(this.submission, e, slot.allocationId, this.attempt, this.splits, this.config, restore), address: slot.taskManagerAddress });
    }
    this.logger.info('deploying', { subtasks: deployments.length, slots: this.slots.length });
    for (const d of deployments) {
      void this.options.rpc
        .connect<TaskExecutorGateway>(d.address)
        .then((tm) => tm.submitTask(d.tdd))
        .then(
          () => this.mailbox.run(() => {
            // A cancel may have overtaken the deployment; repeat it now that the task exists.
            if (d.e.state === 'CANCELING') this.sendCancel(d.e);
          }),
          (err: unknown) =>
            this.mailbox.run(() => {
              if (this.graph.isTerminal(d.e)) return;
              const error = serializeError(new SluiceError('DEPLOYMENT_FAILED', `could not deploy subtask ${this.graph.describe(d.e)} to '${d.address}': ${describeError(err)}`, { cause: err }));
              d.e.state = 'FAILED';
              d.e.error = error;
              if (this.status === 'RUNNING') this.handleTaskFailure(d.e, error);
              this.checkTerminal();
            }),
        );
    }
  }

  private slotRequestTimedOut(timeoutMs: number): void {
    if (this.deployed || this.status !== 'RUNNING') return;
    const have = this.slots.filter((s) => s !== undefined).length;
    this.failJob(
      serializeError(
        new SluiceError('SLOT_REQUEST_TIMEOUT', `job ${this.jobId} got only ${have} of the ${this.slots.length} slots it needs within ${timeoutMs} ms; add TaskManagers or lower the parallelism`, { retriable: true }),
      ),
    );
  }

  private checkTerminal(): void {
    if (this.result !== undefined || !this.graph.allTerminal()) return;
    if (this.status === 'RESTARTING') {
      if (!this.restartScheduled) {
        this.restartScheduled = true;
        this.scheduleRestart();
      }
      return;
    }
    if (this.status === 'RUNNING' && this.graph.allFinished()) this.complete('FINISHED');
    else if (this.status === 'FAILING') this.complete('FAILED');
    else if (this.status === 'CANCELLING') this.complete('CANCELED');
  }

  private complete(status: JobResult['status']): void {
    this.status = status;
    this.endTime = this.clock.nowMs();
    this.clearTimer();
    this.checkpoints.stop(`the job is ${status}`);
    const input = { jobId: this.jobId, jobName: this.submission.jobName, status, durationMs: Math.max(0, this.clock.nowMs() - this.startTime), executions: this.graph.executions };
    const result = this.results.build(status === 'FAILED' && this.failure !== undefined ? { ...input, error: this.failure } : input);
    if (this.restarts > 0) result.restarts = this.restarts;
    const stats = this.checkpointStatistics();
    if (stats.counts.completed + stats.counts.failed > 0) {
      result.checkpoints = { completed: stats.counts.completed, failed: stats.counts.failed, ...(stats.lastFailure === undefined ? {} : { lastFailure: stats.lastFailure }) };
    }
    const last = stats.latest;
    if (last !== undefined) {
      result.lastCheckpoint = { id: last.id, path: last.path, durationMs: last.durationMs ?? 0, bytes: last.sizeBytes ?? 0, maxPauseMs: last.maxPauseMs ?? 0 };
    }
    this.result = result;
    this.logger.info(`job ${status}`, { durationMs: this.result.durationMs });
    for (const w of this.resultWaiters.splice(0)) w(this.result);
    this.toResourceManager(async (rm) => {
      await rm.declareResourceRequirements({ jobId: this.jobId, jobMasterAddress: this.address, slots: 0 });
      await rm.disconnectJobMaster(this.jobId, `job ${status}`);
    }).catch((err: unknown) => this.logger.warn('could not release the job\'s slots at the ResourceManager', { error: describeError(err) }));
  }

  private setTimer(ms: number, action: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(() => void this.mailbox.run(action), ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Calls to the ResourceManager run one after another, in the order they were queued. */
  private toResourceManager(action: (rm: ResourceManagerGateway) => Promise<void>): Promise<void> {
    return this.rmQueue.run(async () => action(await this.options.rpc.connect<ResourceManagerGateway>(this.options.resourceManagerAddress)));
  }

  private call<G extends object>(address: string, what: string, action: (gateway: G) => Promise<unknown>): void {
    void this.options.rpc
      .connect<G>(address)
      .then(action)
      .catch((err: unknown) => this.logger.warn(`could not deliver ${what} to '${address}'`, { error: describeError(err) }));
  }
}
