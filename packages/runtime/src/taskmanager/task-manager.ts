/**
 * The TaskManager (Flink's TaskExecutor): owns a slot table and the subtasks running in it. It
 * registers with the ResourceManager and keeps it informed with full slot reports (on every change
 * and on a heartbeat, each with a larger `seq`), offers slots the RM allocates to the job's
 * JobMaster, and starts, cancels and reports subtasks through a TaskRunner it does not look into.
 * Calls carry fencing tokens: a stale ResourceManager id or JobMaster token is refused. A lost RM
 * means registering again; a lost JobMaster means that job's slots are freed and its tasks
 * cancelled. All state changes run on one Mailbox; calls to other components leave through the
 * ordered Outbox of its connections, so the mailbox never waits on another component.
 */
import { createLogger, describeError, serializeError, SluiceError, systemClock, type Clock, type Logger, type SerializedError } from '@sluice/common';
import type { TaskManagerMetricsSnapshot } from '@sluice/metrics';
import {
  checkJobMasterToken,
  Mailbox,
  sameJobMasterToken,
  type ExecutionCounts,
  type ExecutionState,
  type HeartbeatOptions,
  type JobArtifact,
  type JobMasterGateway,
  type JobMasterToken,
  type OperatorRecordCounts,
  type OutboxOptions,
  type ResourceManagerId,
  type RpcService,
  type SlotAllocationAck,
  type SlotId,
  type SlotOffer,
  type SlotReport,
  type StopMode,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
  type TaskManagerLocation,
} from '@sluice/protocol';
import { TaskManagerConnections } from './connections.js';
import { taskListener, type TaskEntry } from './task-listener.js';
import type { TaskListener, TaskRunner } from './task-runner.js';
import { TaskSlotTable } from './task-slot-table.js';

export interface TaskManagerOptions extends Partial<HeartbeatOptions> {
  resourceId: string;
  numberOfSlots: number;
  rpc: RpcService;
  /** RPC address this TaskManager serves its TaskExecutorGateway at. */
  address: string;
  resourceManagerAddress: string;
  taskRunner: TaskRunner;
  metricsUrl?: string;
  /** Timeouts and retries of calls to the ResourceManager and JobMasters. */
  outbox?: Pick<OutboxOptions, 'callTimeoutMs' | 'attempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>;
  clock?: Clock;
  logger?: Logger;
  /** Backoff while the ResourceManager is unreachable. */
  registrationInitialDelayMs?: number;
  registrationMaxDelayMs?: number;
  /**
   * Where this TaskManager's data exchange listens (NetworkShuffleService.location): sent with its
   * registration and its slot offers, so JobMasters route channels from other TaskManagers to it
   * over TCP. Absent: it shares one in-process shuffle with every other TaskManager.
   */
  dataLocation?: TaskManagerLocation;
  /**
   * Makes a deployed subtask's job code loadable here (e.g. fetches an uploaded bundle and
   * returns the artifact with `entry` set to the local file). Runs before the subtask starts;
   * a failure fails the subtask. Absent: `entry` is used as it is.
   */
  resolveArtifact?: (artifact: JobArtifact) => Promise<JobArtifact>;
  /** The last slot of a job here was freed: what this TaskManager keeps for it can go. */
  onJobReleased?: (jobId: string) => void;
}

type Lifecycle = 'created' | 'registering' | 'running' | 'stopping' | 'stopped';

export class TaskManager implements TaskExecutorGateway {
  readonly resourceId: string;
  readonly address: string;
  private readonly mailbox = new Mailbox();
  private readonly slots: TaskSlotTable;
  private readonly tasks = new Map<string, TaskEntry>();
  private readonly connections: TaskManagerConnections;
  private readonly logger: Logger;
  private lifecycle: Lifecycle = 'created';
  private seq = 0;

  constructor(private readonly options: TaskManagerOptions) {
    this.resourceId = options.resourceId;
    this.address = options.address;
    this.slots = new TaskSlotTable(options.resourceId, options.numberOfSlots);
    this.logger = (options.logger ?? createLogger()).child(`taskmanager.${options.resourceId}`);
    const dataAddress = options.dataLocation?.dataAddress;
    const registration = {
      resourceId: this.resourceId,
      address: this.address,
      numberOfSlots: this.slots.size,
      ...(options.metricsUrl === undefined ? {} : { metricsUrl: options.metricsUrl }),
      ...(dataAddress === undefined ? {} : { dataAddress }),
    };
    this.connections = new TaskManagerConnections({
      rpc: options.rpc,
      resourceId: this.resourceId,
      resourceManagerAddress: options.resourceManagerAddress,
      registration,
      heartbeat: {
        ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
        ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
      },
      ...(options.outbox === undefined ? {} : { outbox: options.outbox }),
      registrationInitialDelayMs: options.registrationInitialDelayMs ?? 50,
      registrationMaxDelayMs: options.registrationMaxDelayMs ?? 2_000,
      clock: options.clock ?? systemClock,
      logger: this.logger,
      run: (action) => void this.mailbox.run(action),
      slotReport: () => this.slots.report(++this.seq),
      onRegistered: () => {
        if (this.lifecycle === 'registering') this.lifecycle = 'running';
        if (this.lifecycle === 'running') this.reportSlots();
      },
      onJobMasterLost: (jobId, reason) => this.jobMasterLost(jobId, reason),
    });
  }

  /** Serves the gateway and registers with the ResourceManager, retrying while it is unreachable. */
  async start(): Promise<void> {
    if (this.lifecycle !== 'created') throw new SluiceError('ILLEGAL_STATE', `TaskManager '${this.resourceId}' was already started`);
    this.lifecycle = 'registering';
    this.options.rpc.register<TaskExecutorGateway>(this.address, this.gatewayView());
    try {
      await this.connections.register();
    } catch (err) {
      this.options.rpc.unregister(this.address);
      this.lifecycle = 'stopped';
      this.connections.stopHeartbeats();
      throw err;
    }
    this.logger.info('registered at the ResourceManager', { slots: this.slots.size });
  }

  /** HA: the cluster's leader changed; register at its ResourceManager (see TaskManagerConnections.resourceManagerMoved). */
  resourceManagerMoved(address: string): Promise<void> {
    return this.mailbox.run(() => this.connections.resourceManagerMoved(address));
  }

  /** The connection to `address` closed (network RpcService): peers there are lost at once. */
  peerConnectionClosed(address: string): void {
    this.connections.peerConnectionClosed(address);
  }

  // ---- TaskExecutorGateway ----

  requestSlot(resourceManagerId: ResourceManagerId, slotId: SlotId, jobMaster: JobMasterToken, allocationId: string, jobMasterAddress: string): Promise<SlotAllocationAck> {
    return this.mailbox.run(() => {
      this.ensureRunning('allocate a slot');
      this.fenceResourceManager(`slot request ${allocationId}`, resourceManagerId);
      if (slotId.resourceId !== this.resourceId) {
        throw new SluiceError('SLOT_NOT_FOUND', `slot request for ${slotId.resourceId}/${slotId.slotIndex} reached TaskManager '${this.resourceId}'`);
      }
      // A repeated request was reported when it first came, so the latest report already shows it.
      if (this.slots.allocate(slotId.slotIndex, jobMaster, allocationId, jobMasterAddress) === 'alreadyAllocated') return { reportSeq: this.seq };
      this.reportSlots();
      this.offerSlot(jobMaster, jobMasterAddress, { allocationId, slotIndex: slotId.slotIndex });
      this.connections.monitorJobMaster(jobMaster, jobMasterAddress);
      return { reportSeq: this.seq };
    });
  }

  freeSlot(resourceManagerId: ResourceManagerId, allocationId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => {
      this.fenceResourceManager(`release of slot ${allocationId}`, resourceManagerId);
      this.free(allocationId, reason);
    });
  }

  heartbeatFromResourceManager(resourceManagerId: ResourceManagerId): Promise<void> {
    return this.mailbox.run(() => this.connections.receiveResourceManagerHeartbeat(resourceManagerId));
  }

  submitTask(jobMaster: JobMasterToken, tdd: TaskDeploymentDescriptor): Promise<void> {
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
      this.fenceJobMaster(`deployment of ${what}`, slot.jobMaster, jobMaster);
      if (this.tasks.has(tdd.executionId)) {
        throw new SluiceError('TASK_ALREADY_EXISTS', `cannot run ${what}: execution ${tdd.executionId} is already known to TaskManager '${this.resourceId}'`);
      }
      const entry: TaskEntry = { tdd, jobMaster, jobMasterAddress: slot.jobMasterAddress ?? '', terminal: false };
      this.tasks.set(tdd.executionId, entry);
      const resolve = this.options.resolveArtifact;
      if (resolve === undefined) {
        entry.handle = this.options.taskRunner.start(tdd, this.listenerFor(entry));
        return;
      }
      // The deployment is acknowledged now; fetching the code may take a while and its outcome
      // reaches the JobMaster as the subtask's state, like any other.
      const listener = (entry.listener = this.listenerFor(entry));
      resolve(tdd.artifact).then(
        (artifact) =>
          this.mailbox.run(() => {
            if (entry.terminal || entry.listener === undefined) return;
            entry.listener = undefined;
            entry.handle = this.options.taskRunner.start({ ...tdd, artifact }, listener);
          }),
        (err: unknown) =>
          this.mailbox.run(() => {
            if (entry.terminal || entry.listener === undefined) return;
            entry.listener = undefined;
            const error = new SluiceError('ARTIFACT_UNAVAILABLE', `cannot run ${what} on TaskManager '${this.resourceId}': its job code could not be fetched: ${describeError(err)}`, { cause: err, retriable: true });
            listener.onFailed(serializeError(error), []);
          }),
      );
    });
  }

  cancelTask(jobMaster: JobMasterToken, executionId: string): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      // Unknown or already terminal: the terminal state has been (or will be) reported; nothing to do.
      if (entry === undefined || entry.terminal) return;
      this.fenceJobMaster(`cancel of ${executionId}`, entry.jobMaster, jobMaster);
      this.cancelEntry(entry);
    });
  }

  triggerCheckpoint(jobMaster: JobMasterToken, executionId: string, checkpointId: number, _timestamp: number, stop?: StopMode): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      if (entry === undefined || entry.terminal) {
        throw new SluiceError('TASK_NOT_RUNNING', `cannot trigger checkpoint ${checkpointId}: execution ${executionId} is not running on TaskManager '${this.resourceId}'`);
      }
      this.fenceJobMaster(`trigger of checkpoint ${checkpointId}`, entry.jobMaster, jobMaster);
      entry.handle?.triggerCheckpoint(checkpointId, stop);
    });
  }

  notifyCheckpointComplete(jobMaster: JobMasterToken, executionId: string, checkpointId: number): Promise<void> {
    return this.notifyCheckpoint(jobMaster, executionId, 'complete', checkpointId);
  }

  notifyCheckpointAborted(jobMaster: JobMasterToken, executionId: string, checkpointId: number): Promise<void> {
    return this.notifyCheckpoint(jobMaster, executionId, 'aborted', checkpointId);
  }

  heartbeatFromJobMaster(jobMaster: JobMasterToken): Promise<void> {
    return this.mailbox.run(() => this.connections.receiveJobMasterHeartbeat(jobMaster));
  }

  requestSlotReport(): Promise<SlotReport> {
    return this.mailbox.run(() => this.slots.report(++this.seq));
  }

  requestExecutionCounts(jobMaster: JobMasterToken): Promise<ExecutionCounts[]> {
    return this.mailbox.run(() => {
      // A read: a stale JobMaster is not refused, it just sees none of the new one's subtasks.
      const ours = (id: string | undefined): boolean => {
        const entry = id === undefined ? undefined : this.tasks.get(id);
        return entry !== undefined && !entry.terminal && sameJobMasterToken(entry.jobMaster, jobMaster);
      };
      if (![...this.tasks.keys()].some(ours)) return [];
      return this.options.taskRunner
        .metrics()
        .subtasks.filter((st) => ours(st.executionId))
        .map((st) => ({
          executionId: st.executionId!,
          operators: st.operators.map((o) => ({ nodeId: o.nodeId, recordsIn: o.recordsIn, recordsOut: o.recordsOut })),
          time: { busyMs: st.busyMs, backpressuredMs: st.backpressuredMs, idleMs: st.idleMs },
        }));
    });
  }

  // ---- local API ----

  metricsSnapshot(): TaskManagerMetricsSnapshot {
    const { subtasks, pool, custom } = this.options.taskRunner.metrics();
    return { resourceId: this.resourceId, slotsTotal: this.slots.size, slotsFree: this.slots.freeCount(), subtasks, pool, ...(custom === undefined ? {} : { custom }) };
  }

  /** Cancels all tasks, closes the runner, tells its JobMasters and the ResourceManager, stops serving. */
  async stop(reason = 'TaskManager stopped'): Promise<void> {
    const stopping = await this.mailbox.run(() => {
      if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') return false;
      this.lifecycle = 'stopping';
      this.connections.stopHeartbeats();
      const addresses = new Set(this.slots.allocated().map((s) => s.jobMasterAddress ?? ''));
      addresses.delete('');
      // JobMasters hear first, so they see a lost TaskManager rather than unexplained cancellations.
      for (const address of addresses) {
        this.connections.outbox.send<JobMasterGateway>(address, 'TaskManager disconnect', (jm) => jm.disconnectTaskManager(this.resourceId, reason), { farewell: true });
      }
      for (const entry of this.tasks.values()) if (!entry.terminal) this.cancelEntry(entry);
      return true;
    });
    if (!stopping) return;
    await this.connections.outbox.drain();
    try {
      await this.options.taskRunner.close();
    } catch (err) {
      this.logger.warn('closing the task runner failed', { error: describeError(err) });
    }
    // Runs after the terminal callbacks the runner posted while closing, so their reports are queued.
    await this.mailbox.run(() => {
      this.lifecycle = 'stopped';
      this.connections.toResourceManager('disconnect', (rm, id) => rm.disconnectTaskExecutor(id, this.resourceId, reason));
    });
    await this.connections.close();
    this.options.rpc.unregister(this.address);
  }

  // ---- internals (run inside the mailbox) ----

  /** Only the gateway methods are served, so remote callers cannot reach start/stop. */
  private gatewayView(): TaskExecutorGateway {
    return {
      requestSlot: (rm, slotId, jm, allocationId, jmAddress) => this.requestSlot(rm, slotId, jm, allocationId, jmAddress),
      freeSlot: (rm, allocationId, reason) => this.freeSlot(rm, allocationId, reason),
      heartbeatFromResourceManager: (rm) => this.heartbeatFromResourceManager(rm),
      submitTask: (jm, tdd) => this.submitTask(jm, tdd),
      cancelTask: (jm, executionId) => this.cancelTask(jm, executionId),
      triggerCheckpoint: (jm, executionId, checkpointId, timestamp, stop) => this.triggerCheckpoint(jm, executionId, checkpointId, timestamp, stop),
      notifyCheckpointComplete: (jm, executionId, checkpointId) => this.notifyCheckpointComplete(jm, executionId, checkpointId),
      notifyCheckpointAborted: (jm, executionId, checkpointId) => this.notifyCheckpointAborted(jm, executionId, checkpointId),
      heartbeatFromJobMaster: (jm) => this.heartbeatFromJobMaster(jm),
      requestSlotReport: () => this.requestSlotReport(),
      requestExecutionCounts: (jm) => this.requestExecutionCounts(jm),
    };
  }

  private ensureRunning(action: string): void {
    if (this.lifecycle !== 'running') {
      throw new SluiceError('TASK_MANAGER_NOT_RUNNING', `TaskManager '${this.resourceId}' cannot ${action}: it is ${this.lifecycle}`, { retriable: this.lifecycle === 'registering' });
    }
  }

  private fenceResourceManager(what: string, resourceManagerId: ResourceManagerId): void {
    try {
      this.connections.checkResourceManager(what, resourceManagerId);
    } catch (err) {
      this.logger.warn(describeError(err));
      throw err;
    }
  }

  private fenceJobMaster(what: string, expected: JobMasterToken | undefined, got: JobMasterToken): void {
    try {
      checkJobMasterToken(what, expected, got);
    } catch (err) {
      this.logger.warn(describeError(err));
      throw err;
    }
  }

  private notifyCheckpoint(jobMaster: JobMasterToken, executionId: string, outcome: 'complete' | 'aborted', checkpointId: number): Promise<void> {
    return this.mailbox.run(() => {
      const entry = this.tasks.get(executionId);
      if (entry === undefined || entry.terminal) return;
      this.fenceJobMaster(`checkpoint ${checkpointId} ${outcome}`, entry.jobMaster, jobMaster);
      entry.handle?.notifyCheckpoint(outcome, checkpointId);
    });
  }

  /** Frees a slot, cancelling what runs in it; heartbeats with its JobMaster stop with its job's last slot. */
  private free(allocationId: string, reason: string): void {
    const slot = this.slots.byAllocation(allocationId);
    if (slot === undefined) return;
    for (const entry of this.tasks.values()) {
      if (entry.tdd.allocationId === allocationId && !entry.terminal) this.cancelEntry(entry);
    }
    const held = this.slots.free(allocationId);
    this.logger.debug('freed slot', { allocationId, reason });
    if (held !== undefined && this.slots.allocationsOf(held.jobId).length === 0) {
      this.connections.forgetJobMaster(held.jobId, `no slot of job ${held.jobId} left`);
      this.options.onJobReleased?.(held.jobId);
    }
    if (this.lifecycle === 'running') this.reportSlots();
  }

  /** Cancels a running subtask; one still waiting for its code ends CANCELED at once. */
  private cancelEntry(entry: TaskEntry): void {
    const listener = entry.listener;
    if (listener === undefined) {
      entry.handle?.cancel();
      return;
    }
    entry.listener = undefined;
    listener.onCanceled([]);
  }

  /** The job's JobMaster is gone: its slots are freed and its tasks cancelled (a new JobMaster gets new slots). */
  private jobMasterLost(jobId: string, reason: string): void {
    const allocations = this.slots.allocationsOf(jobId);
    if (allocations.length === 0) return;
    this.logger.warn(`lost the JobMaster of job ${jobId} (${reason}); freeing its ${allocations.length} slot(s) and cancelling its tasks`);
    for (const allocationId of allocations) this.free(allocationId, `the JobMaster of job ${jobId} was lost`);
  }

  private reportSlots(): void {
    const report = this.slots.report(++this.seq);
    this.connections.toResourceManager('slot report', (rm, id) => rm.sendSlotReport(id, report));
  }

  /** Offers a freshly allocated slot to its JobMaster; a slot it does not accept is freed again. */
  private offerSlot(jobMaster: JobMasterToken, jobMasterAddress: string, offer: SlotOffer): void {
    const release = (why: string): void => void this.mailbox.run(() => this.free(offer.allocationId, why));
    const jobId = jobMaster.jobId;
    this.connections.outbox.call<JobMasterGateway, SlotOffer[]>(jobMasterAddress, 'slot offer', (jm) =>
      this.options.dataLocation === undefined ? jm.offerSlots(jobMaster, this.resourceId, this.address, [offer]) : jm.offerSlots(jobMaster, this.resourceId, this.address, [offer], this.options.dataLocation),
    ).then(
      (accepted) => {
        if (!accepted.some((a) => a.allocationId === offer.allocationId)) release(`JobMaster of job ${jobId} declined the slot`);
      },
      (err: unknown) => release(`JobMaster of job ${jobId} unreachable: ${describeError(err)}`),
    );
  }

  private listenerFor(entry: TaskEntry): TaskListener {
    return taskListener(entry, {
      post: (action) => void this.mailbox.run(action),
      forget: (executionId) => this.tasks.delete(executionId),
      send: (what, call, idempotent) => this.sendToJobMaster(entry, what, call, idempotent),
    });
  }

  private sendToJobMaster(entry: TaskEntry, what: string, call: (jm: JobMasterGateway, token: JobMasterToken) => Promise<unknown>, idempotent = true): void {
    if (entry.jobMasterAddress === '') return;
    this.connections.outbox.send<JobMasterGateway>(entry.jobMasterAddress, what, (jm) => call(jm, entry.jobMaster), { idempotent });
  }
}
