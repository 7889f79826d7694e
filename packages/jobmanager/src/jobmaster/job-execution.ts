/**
 * The life of one job inside its JobMaster: the slots it holds (all vertices share slots, so the
 * widest vertex decides; subtask i of every vertex goes to slot i), deployment once all slots are
 * there, execution states turned into the job's status, failover (the restart strategy restarts
 * the job from its latest checkpoint or fails it) and the final JobResult. Every method runs on
 * the JobMaster's mailbox; calls to TaskManagers leave through its ordered outbox, never awaited.
 */
import { describeError, serializeError, SluiceError, type Clock, type Logger, type SerializedError } from '@sluice/common';
import {
  requiredSlots,
  type CollectedRecords,
  type JobConfig,
  type JobMasterToken,
  type JobResult,
  type JobStatus,
  type JobSubmission,
  type Outbox,
  type SlotOffer,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
  type TaskManagerLocation,
} from '@sluice/protocol';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import type { RestorePlan } from '../checkpoint/restore.js';
import { buildDeploymentDescriptor, slotLocations } from './deployment.js';
import { ExceptionHistory } from './exception-history.js';
import { ExecutionGraph, type Execution, type LogicalSlot } from './execution-graph.js';
import { addCheckpointFigures, checkpointStatistics } from './job-reports.js';
import { JobResultCollector } from './job-result.js';
import { createRestartBackoff, failsWithoutRestart, type RestartBackoff } from './restart-strategy.js';

export interface JobExecutionContext {
  submission: JobSubmission;
  config: JobConfig;
  token: JobMasterToken;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  cancelTimeoutMs: number;
  /** Runs an action on the JobMaster's mailbox (timers post their work there). */
  run(action: () => void): void;
  /** Plans a restore from the latest checkpoint for a restart (async: reads its metadata). */
  planRestart(): Promise<RestorePlan | undefined>;
  /** The job ended: its result is final. */
  onComplete(result: JobResult): void;
  /**
   * The first deployment attempt's number (default 0). A JobMaster that replaces a dead one
   * starts above every attempt its predecessor could have deployed, so no TaskManager mixes the
   * two (shared-memory and TCP channels are keyed by job and attempt).
   */
  firstAttempt?: number;
}

export class JobExecution {
  readonly jobId: string;
  status: JobStatus = 'CREATED';
  graph: ExecutionGraph;
  restarts = 0;
  /** When the status last became RUNNING, and when the job ended (for metrics). */
  runningSince: number | undefined;
  endTime: number | undefined;
  result: JobResult | undefined;
  checkpoints!: CheckpointCoordinator;
  /** Each failure that made the job restart or ended it. */
  readonly exceptions = new ExceptionHistory();
  private readonly slots: (LogicalSlot | undefined)[];
  private readonly results = new JobResultCollector();
  private readonly restartBackoff: RestartBackoff;
  private readonly startTime: number;
  private attempt = 0;
  private splits: ReadonlyMap<string, unknown[][]> = new Map();
  /** Splits as enumerated at the start, for restarts with no checkpoint to go back to. */
  private initialSplits: ReadonlyMap<string, unknown[][]> = new Map();
  private restorePlan: RestorePlan | undefined;
  private deployed = false;
  private failure: SerializedError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private coordinatorStarted = false;
  /** When the running attempt failed, until the next attempt has every subtask running again. */
  private failedAt: number | undefined;
  /** Backoff before the pending restart, and whether it has been scheduled (all subtasks stopped). */
  private restartDelayMs = 0;
  private restartScheduled = false;

  constructor(private readonly ctx: JobExecutionContext) {
    this.jobId = ctx.submission.jobId;
    this.graph = new ExecutionGraph(ctx.submission.jobGraph, this.jobId);
    this.slots = new Array<LogicalSlot | undefined>(requiredSlots(ctx.submission.jobGraph)).fill(undefined);
    this.restartBackoff = createRestartBackoff(ctx.config.restartStrategy);
    this.startTime = ctx.clock.nowMs();
    this.attempt = ctx.firstAttempt ?? 0;
  }

  get slotsNeeded(): number {
    return this.slots.length;
  }

  isActive(): boolean {
    return this.status === 'CREATED' || this.status === 'RUNNING' || this.status === 'RESTARTING';
  }

  /** The job starts running: waits for its slots, failing after `slotTimeoutMs`. */
  begin(splits: ReadonlyMap<string, unknown[][]>, plan: RestorePlan | undefined, slotTimeoutMs: number): boolean {
    if (this.status !== 'CREATED') return false;
    this.initialSplits = splits;
    this.restorePlan = plan;
    this.splits = plan === undefined ? splits : new Map([...splits, ...plan.splits]);
    this.status = 'RUNNING';
    this.runningSince = this.ctx.clock.nowMs();
    for (const e of this.graph.executions) e.state = 'SCHEDULED';
    this.setTimer(slotTimeoutMs, () => this.slotRequestTimedOut(slotTimeoutMs));
    return true;
  }

  /** Accepts offered slots the job still needs; returns the accepted ones. */
  offerSlots(resourceId: string, taskManagerAddress: string, offers: SlotOffer[], location?: TaskManagerLocation): SlotOffer[] {
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
      this.slots[free] = { allocationId: offer.allocationId, resourceId, taskManagerAddress, ...(location === undefined ? {} : { location }) };
      accepted.push(offer);
    }
    if (this.status === 'RUNNING' && !this.deployed && !this.slots.includes(undefined)) this.deployAll();
    return accepted;
  }

  holdsSlotsOf(resourceId: string): boolean {
    return this.slots.some((s) => s?.resourceId === resourceId);
  }

  updateTaskExecutionState(update: TaskExecutionState): void {
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
  }

  addCollected(batch: CollectedRecords): void {
    if (batch.jobId !== this.jobId || this.graph.get(batch.executionId) === undefined || this.result !== undefined) return;
    this.results.addCollected(batch);
  }

  /** The TaskManager is gone: its slots are forgotten and what ran there failed. */
  taskManagerLost(resourceId: string, reason: string): void {
    if (this.result !== undefined) return;
    const lost = this.graph.onTaskManager(resourceId).filter((e) => e.state !== 'CREATED' && e.state !== 'SCHEDULED');
    // Before deployment the requirement still stands, so the RM finds others; after, a restart must.
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.resourceId === resourceId) this.slots[i] = undefined;
    if (!this.deployed || lost.length === 0) return;
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
  }

  cancel(): void {
    if (!this.isActive()) return;
    this.ctx.logger.info('cancelling job');
    this.status = 'CANCELLING';
    this.checkpoints.stop('the job is cancelled');
    this.cancelExecutions();
    this.checkTerminal();
  }

  /** A failure of the running job (`what` says which, for the log; `cause`, the subtask if one failed): restart it or fail it. */
  failOver(what: string, error: SerializedError, cause?: Execution): void {
    if (failsWithoutRestart(error)) {
      this.ctx.logger.info(`${what} in a way no restart can cure; failing the job`, { error: error.message });
      this.failJob(error, cause);
      return;
    }
    const backoff = this.restartBackoff;
    backoff.notifyFailure(this.ctx.clock.nowMs());
    if (!backoff.canRestart()) {
      this.ctx.logger.info(`${what}; failing the job`, { error: error.message, attempt: this.attempt, restartStrategy: backoff.describe() });
      this.failJob(this.ctx.config.restartStrategy.type === 'none' ? error : { ...error, message: `${error.message} (not restarted: ${backoff.describe()})` }, cause);
      return;
    }
    this.exceptions.add(this.ctx.clock.nowMs(), error, cause);
    const delay = backoff.backoffMs();
    this.ctx.logger.warn(`${what}; restarting the job in ${Math.round(delay)} ms`, { error: error.message, attempt: this.attempt, restartStrategy: backoff.describe() });
    this.failedAt = this.ctx.clock.nowMs();
    this.status = 'RESTARTING';
    this.restartDelayMs = delay;
    this.checkpoints.stop('the job is restarting');
    this.coordinatorStarted = false;
    this.cancelExecutions();
    this.checkTerminal();
  }

  failJob(error: SerializedError, cause?: Execution): void {
    if (!this.isActive()) return;
    this.exceptions.add(this.ctx.clock.nowMs(), error, cause);
    this.checkpoints.stop('the job is failing');
    this.failure = error;
    this.status = 'FAILING';
    this.cancelExecutions();
    this.checkTerminal();
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private handleTaskFailure(e: Execution, error: SerializedError): void {
    this.failOver(`subtask ${this.graph.describe(e)} failed`, error, e);
  }

  /** Every subtask of the failed attempt has stopped: wait out the backoff, then redeploy. */
  private scheduleRestart(): void {
    this.setTimer(this.restartDelayMs, () => {
      if (this.status !== 'RESTARTING') return;
      this.ctx.planRestart().then(
        (plan) => this.ctx.run(() => this.redeploy(plan)),
        (err: unknown) => this.ctx.run(() => this.failJob(serializeError(err))),
      );
    });
  }

  private redeploy(plan: RestorePlan | undefined): void {
    if (this.status !== 'RESTARTING') return;
    this.restartScheduled = false;
    this.attempt++;
    this.restarts++;
    // What the failed attempt's subtasks counted belongs in the job's totals.
    this.results.addAttempt(this.graph.executions);
    this.graph = new ExecutionGraph(this.ctx.submission.jobGraph, this.jobId);
    this.restorePlan = plan;
    this.splits = plan === undefined ? this.initialSplits : new Map([...this.initialSplits, ...plan.splits]);
    this.status = 'RUNNING';
    this.runningSince = this.ctx.clock.nowMs();
    for (const e of this.graph.executions) e.state = 'SCHEDULED';
    this.ctx.logger.info('redeploying', { attempt: this.attempt, fromCheckpoint: plan?.checkpointId ?? 'none (from the start)' });
    this.deployed = false;
    if (!this.slots.includes(undefined)) this.deployAll();
  }

  /** The first time every subtask of an attempt runs, periodic checkpoints begin. */
  private maybeStartCheckpointing(): void {
    if (this.coordinatorStarted || this.status !== 'RUNNING' || !this.deployed) return;
    if (!this.graph.executions.every((x) => x.state === 'RUNNING' || x.state === 'FINISHED')) return;
    this.coordinatorStarted = true;
    if (this.failedAt !== undefined) {
      // At the default log level the restart was announced as a warning: so is its end.
      this.ctx.logger.warn(
        `job recovered: all ${this.graph.executions.length} subtasks run again after restart ${this.restarts}, ` +
          `${this.restorePlan === undefined ? 'from the start (no checkpoint to go back to)' : `from checkpoint ${this.restorePlan.checkpointId}`}, ` +
          `${Math.round(this.ctx.clock.nowMs() - this.failedAt)} ms after the failure`,
      );
      this.failedAt = undefined;
    }
    this.checkpoints.start();
  }

  /** Cancels everything not yet terminal; gives up on stragglers after the cancel timeout. */
  private cancelExecutions(): void {
    for (const e of this.graph.notTerminal()) {
      if (e.state === 'CREATED' || e.state === 'SCHEDULED') {
        e.state = 'CANCELED';
        continue;
      }
      e.state = 'CANCELING';
      const slot = e.slot;
      // Sent after the deployment through the same ordered outbox, so it cannot overtake it.
      if (slot !== undefined) this.ctx.outbox.send<TaskExecutorGateway>(slot.taskManagerAddress, `cancel of ${e.executionId}`, (tm) => tm.cancelTask(this.ctx.token, e.executionId));
    }
    const timeout = this.ctx.cancelTimeoutMs;
    this.setTimer(timeout, () => {
      const stragglers = this.graph.notTerminal();
      if (stragglers.length === 0) return;
      this.ctx.logger.warn(`gave up waiting ${timeout} ms for cancelled subtasks; marking them lost`, { subtasks: stragglers.map((e) => this.graph.describe(e)) });
      for (const e of stragglers) e.state = this.status === 'FAILING' ? 'FAILED' : 'CANCELED';
      this.checkTerminal();
    });
  }

  private deployAll(): void {
    this.deployed = true;
    this.clearTimer();
    const deployments: { e: Execution; tdd: TaskDeploymentDescriptor; address: string }[] = [];
    const locations = slotLocations(this.slots);
    for (const e of this.graph.executions) {
      const slot = this.slots[e.slotIndex];
      if (slot === undefined) throw new SluiceError('INTERNAL', `no slot ${e.slotIndex} for ${this.graph.describe(e)}`);
      e.slot = slot;
      e.state = 'DEPLOYING';
      const restore = this.restorePlan?.subtasks.get(e.vertex.id)?.[e.subtaskIndex];
      const tdd = buildDeploymentDescriptor(this.ctx.submission, e, slot.allocationId, this.attempt, this.splits, this.ctx.config, restore, locations);
      deployments.push({ e, tdd, address: slot.taskManagerAddress });
    }
    this.ctx.logger.info('deploying', { subtasks: deployments.length, slots: this.slots.length });
    for (const d of deployments) {
      // Not idempotent: a deployment that timed out may have arrived, and a second one is refused.
      this.ctx.outbox.call<TaskExecutorGateway, void>(d.address, `deployment of ${d.e.executionId}`, (tm) => tm.submitTask(this.ctx.token, d.tdd), { idempotent: false }).catch((err: unknown) =>
        this.ctx.run(() => {
          if (this.graph.isTerminal(d.e)) return;
          const error = serializeError(new SluiceError('DEPLOYMENT_FAILED', `could not deploy subtask ${this.graph.describe(d.e)} to '${d.address}': ${describeError(err)}`, { cause: err, retriable: true }));
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
    this.endTime = this.ctx.clock.nowMs();
    this.clearTimer();
    this.checkpoints.stop(`the job is ${status}`);
    const input = { jobId: this.jobId, jobName: this.ctx.submission.jobName, status, durationMs: Math.max(0, this.endTime - this.startTime), executions: this.graph.executions };
    const result = this.results.build(status === 'FAILED' && this.failure !== undefined ? { ...input, error: this.failure } : input);
    addCheckpointFigures(result, this.restarts, checkpointStatistics(this.checkpoints));
    this.result = result;
    this.ctx.logger.info(`job ${status}`, { durationMs: result.durationMs });
    this.ctx.onComplete(result);
  }

  private setTimer(ms: number, action: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.ctx.run(action), ms);
    this.timer.unref();
  }
}
