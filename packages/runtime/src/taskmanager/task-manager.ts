/**
 * The TaskManager (Flink's TaskExecutor): owns a slot table and the subtasks running in it. It
 * registers with the ResourceManager and keeps it informed with full slot reports (on every change
 * and on a heartbeat, each with a larger `seq`), offers slots the RM allocates to the job's
 * JobMaster, and starts, cancels and reports subtasks through a TaskRunner it does not look into.
 * All state changes run on one Mailbox; calls to other components leave through an OrderedSender
 * so the mailbox never waits on another component.
 */
import { createLogger, describeError, retry, serializeError, SluiceError, type Logger, type SerializedError } from '@sluice/common';
import type { TaskManagerMetricsSnapshot } from '@sluice/metrics';
import {
  Mailbox,
  RpcUnreachableError,
  type ExecutionState,
  type StopMode,
  type JobMasterGateway,
  type OperatorRecordCounts,
  type ResourceManagerGateway,
  type RpcService,
  type SlotAllocationAck,
  type SlotId,
  type SlotOffer,
  type SlotReport,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
} from '@sluice/protocol';
import { OrderedSender } from './ordered-sender.js';
import type { RunningTask, TaskListener, TaskRunner } from './task-runner.js';
import { TaskSlotTable } from './task-slot-table.js';

export interface TaskManagerOptions {
  resourceId: string;
  numberOfSlots: number;
  rpc: RpcService;
  /** RPC address this TaskManager serves its TaskExecutorGateway at. */
  address: string;
  resourceManagerAddress: string;
  taskRunner: TaskRunner;
  /** Heartbeat period; defaults to the one the ResourceManager names on registration. */
  heartbeatIntervalMs?: number;
  metricsUrl?: string;
  logger?: Logger;
  /** Backoff while the ResourceManager is unreachable. */
  registrationInitialDelayMs?: number;
  registrationMaxDelayMs?: number;
}

interface TaskEntry {
  readonly tdd: TaskDeploymentDescriptor;
  readonly jobMasterAddress: string;
  handle?: RunningTask;
  terminal: boolean;
}

type Lifecycle = 'created' | 'registering' | 'running' | 'stopping' | 'stopped';

export class TaskManager implements TaskExecutorGateway {
  readonly resourceId: string;
  readonly address: string;
  private readonly mailbox = new Mailbox();
  private readonly slots: TaskSlotTable;
  private readonly tasks = new Map<string, TaskEntry>();
  private readonly sender: OrderedSender;
  private readonly logger: Logger;
  private readonly registrationAbort = new AbortController();
  private lifecycle: Lifecycle = 'created';
  private seq = 0;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: TaskManagerOptions) {
    this.resourceId = options.resourceId;
    this.address = options.address;
    this.slots = new TaskSlotTable(options.resourceId, options.numberOfSlots);
    this.logger = (options.logger ?? createLogger()).child(`taskmanager.${options.resourceId}`);
    this.sender = new OrderedSender(options.rpc, this.logger);
  }

  /** Serves the gateway and registers with the ResourceManager, retrying while it is unreachable. */
  async start(): Promise<void> {
    if (this.lifecycle !== 'created') throw new SluiceError('ILLEGAL_STATE', `TaskManager '${this.resourceId}' was already started`);
    this.lifecycle = 'registering';
    this.options.rpc.register<TaskExecutorGateway>(this.address, this.gatewayView());
    const registration = { resourceId: this.resourceId, address: this.address, numberOfSlots: this.slots.size };
    const response = await retry(
      async () => {
        const rm = await this.options.rpc.connect<ResourceManagerGateway>(this.options.resourceManagerAddress);
        return rm.registerTaskExecutor(this.options.metricsUrl === undefined ? registration : { ...registration, metricsUrl: this.options.metricsUrl });
      },
      {
        attempts: Number.MAX_SAFE_INTEGER,
        initialDelayMs: this.options.registrationInitialDelayMs ?? 50,
        maxDelayMs: this.options.registrationMaxDelayMs ?? 2_000,
        isRetriable: (err) => err instanceof RpcUnreachableError && !this.registrationAbort.signal.aborted,
        signal: this.registrationAbort.signal,
      },
    );
    if (response.type === 'RegistrationRejection') {
      this.options.rpc.unregister(this.address);
      this.lifecycle = 'stopped';
      throw new SluiceError('REGISTRATION_REJECTED', `ResourceManager at '${this.options.resourceManagerAddress}' rejected TaskManager '${this.resourceId}': ${response.reason}`);
    }
    await this.mailbox.run(() => {
      if (this.lifecycle !== 'registering') return;
      this.lifecycle = 'running';
      const period = this.options.heartbeatIntervalMs ?? response.heartbeatIntervalMs;
      this.heartbeat = setInterval(() => void this.mailbox.run(() => this.sendHeartbeat()), period);
      this.heartbeat.unref();
      this.reportSlots();
    });
    this.logger.info('registered at the ResourceManager', { slots: this.slots.size });
  }

  // ---- TaskExecutorGateway ----

  requestSlot(slotId: SlotId, jobId: string, allocationId: string, jobMasterAddress: string): Promise<SlotAllocationAck> {
    return this.mailbox.run(() => {
      this.ensureRunning('allocate a slot');
      if (slotId.resourceId !== this.resourceId) {
        throw new SluiceError('SLOT_NOT_FOUND', `slot request for ${slotId.resourceId}/${slotId.slotIndex} reached TaskManager '${this.resourceId}'`);
      }
      // A repeated request was reported when it first came, so the latest report already shows it.
      if (this.slots.allocate(slotId.slotIndex, jobId, allocationId, jobMasterAddress) === 'alreadyAllocated') return { reportSeq: this.seq };
      this.reportSlots();
      this.offerSlot(jobId, jobMasterAddress, { allocationId, slotIndex: slotId.slotIndex });
      return { reportSeq: this.seq };
    });
  }

  submitTask(tdd: TaskDeploymentDescriptor): Promise<void> {
    return this.mailbox.run(() => {
      this.ensureRunning('run a task');
      const slot = this.slots.byAllocation(tdd.allocationId);
      const what = `subtask ${tdd.vertexName} (${tdd.subtaskIndex + 1}/${tdd.parallelism}) of job ${tdd.jobId}`;
      if (slot === undefined) {
        throw new SluiceError('SLOT_NOT_FOUND', `cannot run ${what}: TaskManager '${this.resourceId}' holds no slot with allocation ${tdd.allocationId} (it was freed or never allocated here)`);
      }
      if (slot.jobId !== tdd.jobId) {
        throw new SluiceError('SLOT_ALLOCATION_MISMATCH', `cannot run ${what}: allocation ${tdd.allocationId} on TaskManager '${this.resourceId}' belongs to job ${slot.jobId}`);
      }
      if (this.tasks.has(tdd.executionId)) {
        throw new SluiceError('TASK_ALREADY_EXISTS', `cannot run ${what}: execution ${tdd.executionId} is already known to TaskManager '${this.resourceId}'`);
      }
      const entry: TaskEntry = { tdd, jobMasterAddress: slot.jobMasterAddress ?? '', terminal: false };
      this.tasks.set(tdd.executionId, entry);
      entry.handle = this.options.taskRunner.start(tdd, this.listenerFor(entry));
    });
  }

  cancelTask(executionId: string): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      // Unknown or already terminal: the terminal state has been (or will be) reported; nothing to do.
      if (entry === undefined || entry.terminal) return;
      entry.handle?.cancel();
    });
  }

  triggerCheckpoint(executionId: string, checkpointId: number, _timestamp: number, stop?: StopMode): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      if (entry === undefined || entry.terminal) {
        throw new SluiceError('TASK_NOT_RUNNING', `cannot trigger checkpoint ${checkpointId}: execution ${executionId} is not running on TaskManager '${this.resourceId}'`);
      }
      entry.handle?.triggerCheckpoint(checkpointId, stop);
    });
  }

  notifyCheckpointComplete(executionId: string, checkpointId: number): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      if (entry !== undefined && !entry.terminal) entry.handle?.notifyCheckpoint('complete', checkpointId);
    });
  }

  notifyCheckpointAborted(executionId: string, checkpointId: number): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      if (entry !== undefined && !entry.terminal) entry.handle?.notifyCheckpoint('aborted', checkpointId);
    });
  }

  freeSlot(allocationId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => {
      if (this.slots.byAllocation(allocationId) === undefined) return;
      for (const entry of this.tasks.values()) {
        if (entry.tdd.allocationId === allocationId && !entry.terminal) entry.handle?.cancel();
      }
      this.slots.free(allocationId);
      this.logger.debug('freed slot', { allocationId, reason });
      if (this.lifecycle === 'running') this.reportSlots();
    });
  }

  requestSlotReport(): Promise<SlotReport> {
    return this.mailbox.run(() => this.slots.report(++this.seq));
  }

  // ---- local API ----

  metricsSnapshot(): TaskManagerMetricsSnapshot {
    const { subtasks, pool, custom } = this.options.taskRunner.metrics();
    return { resourceId: this.resourceId, slotsTotal: this.slots.size, slotsFree: this.slots.freeCount(), subtasks, pool, ...(custom === undefined ? {} : { custom }) };
  }

  /** Cancels all tasks, closes the runner, tells its JobMasters and the ResourceManager, stops serving. */
  async stop(reason = 'TaskManager stopped'): Promise<void> {
    const jobMasters = await this.mailbox.run(() => {
      if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') return undefined;
      const wasRegistered = this.lifecycle === 'running';
      this.lifecycle = 'stopping';
      this.registrationAbort.abort();
      if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      const addresses = new Set(this.slots.allocated().map((s) => s.jobMasterAddress ?? ''));
      addresses.delete('');
      // JobMasters hear first, so they see a lost TaskManager rather than unexplained cancellations.
      for (const address of addresses) {
        this.sender.send<JobMasterGateway>(address, 'TaskManager disconnect', (jm) => jm.disconnectTaskManager(this.resourceId, reason));
      }
      for (const entry of this.tasks.values()) if (!entry.terminal) entry.handle?.cancel();
      return { wasRegistered };
    });
    if (jobMasters === undefined) return;
    await this.sender.drain();
    try {
      await this.options.taskRunner.close();
    } catch (err) {
      this.logger.warn('closing the task runner failed', { error: describeError(err) });
    }
    // Runs after the terminal callbacks the runner posted while closing, so their reports are queued.
    await this.mailbox.run(() => {
      this.lifecycle = 'stopped';
    });
    if (jobMasters.wasRegistered) {
      this.sender.send<ResourceManagerGateway>(this.options.resourceManagerAddress, 'disconnect', (rm) => rm.disconnectTaskExecutor(this.resourceId, reason));
    }
    await this.sender.drain();
    this.options.rpc.unregister(this.address);
  }

  // ---- internals (run inside the mailbox) ----

  /** Only the gateway methods are served, so remote callers cannot reach start/stop. */
  private gatewayView(): TaskExecutorGateway {
    return {
      requestSlot: (slotId, jobId, allocationId, jobMasterAddress) => this.requestSlot(slotId, jobId, allocationId, jobMasterAddress),
      submitTask: (tdd) => this.submitTask(tdd),
      cancelTask: (executionId) => this.cancelTask(executionId),
      freeSlot: (allocationId, reason) => this.freeSlot(allocationId, reason),
      requestSlotReport: () => this.requestSlotReport(),
      triggerCheckpoint: (executionId, checkpointId, timestamp, stop) => this.triggerCheckpoint(executionId, checkpointId, timestamp, stop),
      notifyCheckpointComplete: (executionId, checkpointId) => this.notifyCheckpointComplete(executionId, checkpointId),
      notifyCheckpointAborted: (executionId, checkpointId) => this.notifyCheckpointAborted(executionId, checkpointId),
    };
  }

  private ensureRunning(action: string): void {
    if (this.lifecycle !== 'running') {
      throw new SluiceError('TASK_MANAGER_NOT_RUNNING', `TaskManager '${this.resourceId}' cannot ${action}: it is ${this.lifecycle}`, { retriable: this.lifecycle === 'registering' });
    }
  }

  private reportSlots(): void {
    const report = this.slots.report(++this.seq);
    this.sender.send<ResourceManagerGateway>(this.options.resourceManagerAddress, 'slot report', (rm) => rm.sendSlotReport(report));
  }

  private sendHeartbeat(): void {
    if (this.lifecycle !== 'running') return;
    const report = this.slots.report(++this.seq);
    this.sender.send<ResourceManagerGateway>(this.options.resourceManagerAddress, 'heartbeat', (rm) => rm.heartbeatFromTaskExecutor(report));
  }

  /** Offers a freshly allocated slot to its JobMaster; a slot it does not accept is freed again. */
  private offerSlot(jobId: string, jobMasterAddress: string, offer: SlotOffer): void {
    const release = (why: string): void => void this.freeSlot(offer.allocationId, why).catch(() => undefined);
    this.sender.send<JobMasterGateway>(jobMasterAddress, 'slot offer', async (jm) => {
      try {
        const accepted = await jm.offerSlots(this.resourceId, this.address, [offer]);
        if (!accepted.some((a) => a.allocationId === offer.allocationId)) release(`JobMaster of job ${jobId} declined the slot`);
      } catch (err) {
        release(`JobMaster of job ${jobId} unreachable: ${describeError(err)}`);
        throw err;
      }
    });
  }

  private listenerFor(entry: TaskEntry): TaskListener {
    const { tdd } = entry;
    const post = (action: () => void): void => void this.mailbox.run(action);
    const terminal = (state: ExecutionState, operators: OperatorRecordCounts[], error?: SerializedError, finalSourceState?: TaskExecutionState['finalSourceState']): void =>
      post(() => {
        if (entry.terminal) return;
        entry.terminal = true;
        this.tasks.delete(tdd.executionId);
        const update: TaskExecutionState = { jobId: tdd.jobId, executionId: tdd.executionId, state, operators };
        if (error !== undefined) update.error = error;
        if (finalSourceState !== undefined) update.finalSourceState = finalSourceState;
        this.sendToJobMaster(entry, `${state} of ${tdd.executionId}`, (jm) => jm.updateTaskExecutionState(update));
      });
    return {
      onRunning: () =>
        post(() => {
          if (entry.terminal) return;
          this.sendToJobMaster(entry, `RUNNING of ${tdd.executionId}`, (jm) =>
            jm.updateTaskExecutionState({ jobId: tdd.jobId, executionId: tdd.executionId, state: 'RUNNING' }),
          );
        }),
      onCollected: (sinkName, records) =>
        post(() => {
          const batch = { jobId: tdd.jobId, executionId: tdd.executionId, sinkName, subtaskIndex: tdd.subtaskIndex, records };
          this.sendToJobMaster(entry, `collected records of ${tdd.executionId}`, (jm) => jm.reportCollectedRecords(batch));
        }),
      onFinished: (operators, finalSourceState) => terminal('FINISHED', operators, undefined, finalSourceState),
      onFailed: (error, operators) => terminal('FAILED', operators, error ?? serializeError(new Error('task failed without an error'))),
      onCanceled: (operators) => terminal('CANCELED', operators),
      onCheckpointAck: (checkpointId, operators, stats) =>
        post(() => {
          const ack = { jobId: tdd.jobId, executionId: tdd.executionId, checkpointId, operators, stats };
          this.sendToJobMaster(entry, `ack of checkpoint ${checkpointId} by ${tdd.executionId}`, (jm) => jm.acknowledgeCheckpoint(ack));
        }),
      onCheckpointDecline: (checkpointId, reason) =>
        post(() => {
          const decline = { jobId: tdd.jobId, executionId: tdd.executionId, checkpointId, reason };
          this.sendToJobMaster(entry, `decline of checkpoint ${checkpointId} by ${tdd.executionId}`, (jm) => jm.declineCheckpoint(decline));
        }),
    };
  }

  private sendToJobMaster(entry: TaskEntry, what: string, call: (jm: JobMasterGateway) => Promise<unknown>): void {
    if (entry.jobMasterAddress === '') return;
    this.sender.send<JobMasterGateway>(entry.jobMasterAddress, what, call);
  }
}
