/**
 * The ResourceManager: keeps the registry of TaskManagers and JobMasters, feeds slot reports and
 * declared requirements into the SlotManager, and carries out its plan — asks TaskManagers to
 * allocate or free slots, asks the ClusterDriver for workers when slots are short and releases
 * workers idle past a timeout. It also drops TaskManagers whose heartbeats stop and tells the
 * affected JobMasters. All state lives on one Mailbox; remote calls leave it without being awaited.
 */
import { createLogger, describeError, randomId, SluiceError, systemClock, type Clock, type Logger } from '@sluice/common';
import {
  Mailbox,
  RpcUnreachableError,
  type JobMasterGateway,
  type RegistrationResponse,
  type ResourceManagerGateway,
  type ResourceRequirements,
  type RpcService,
  type SlotReport,
  type TaskExecutorGateway,
  type TaskManagerInfo,
  type TaskManagerRegistration,
} from '@sluice/protocol';
import type { ClusterDriver } from './cluster-driver.js';
import { SlotManager, workersToRequest, type SlotPlan } from './slot-manager.js';

export interface ResourceManagerOptions {
  rpc: RpcService;
  address: string;
  driver: ClusterDriver;
  /** Slots of each worker the RM asks the driver for. */
  slotsPerWorker?: number;
  /** Upper bound on registered plus requested workers. */
  maxWorkers?: number;
  /** Release a worker whose slots have all been free this long; Infinity keeps workers. */
  idleWorkerTimeoutMs?: number;
  /** Heartbeat period TaskManagers are told on registration. */
  heartbeatIntervalMs?: number;
  /** A TaskManager silent this long is considered lost. */
  taskManagerTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export const DEFAULT_RESOURCE_MANAGER_OPTIONS = Object.freeze({
  slotsPerWorker: 1,
  maxWorkers: Number.POSITIVE_INFINITY,
  idleWorkerTimeoutMs: Number.POSITIVE_INFINITY,
  heartbeatIntervalMs: 1_000,
  taskManagerTimeoutMs: 30_000,
});

type ResolvedTimings = { -readonly [K in keyof typeof DEFAULT_RESOURCE_MANAGER_OPTIONS]: number };

export function resolveResourceManagerOptions(options: ResourceManagerOptions): ResolvedTimings {
  const o: ResolvedTimings = { ...DEFAULT_RESOURCE_MANAGER_OPTIONS };
  for (const k of Object.keys(DEFAULT_RESOURCE_MANAGER_OPTIONS) as (keyof ResolvedTimings)[]) {
    const v = options[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (v === 0 && k !== 'maxWorkers')) {
      throw new SluiceError('CONFIGURATION', `ResourceManager option ${k} must be a positive number, got ${v}`);
    }
    o[k] = v;
  }
  if (!Number.isInteger(o.slotsPerWorker)) throw new SluiceError('CONFIGURATION', `slotsPerWorker must be a positive integer, got ${o.slotsPerWorker}`);
  return o;
}

export class ResourceManager implements ResourceManagerGateway {
  readonly address: string;
  private readonly mailbox = new Mailbox();
  private readonly slotManager = new SlotManager();
  private readonly jobMasters = new Map<string, string>();
  private readonly pendingWorkers = new Set<string>();
  private readonly lastSeen = new Map<string, number>();
  private readonly releasedWorkers = new Set<string>();
  private readonly o: ResolvedTimings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private checkPeriodMs = Number.POSITIVE_INFINITY;
  private lastCheckMs: number | undefined;
  private state: 'created' | 'running' | 'stopped' = 'created';

  constructor(private readonly options: ResourceManagerOptions) {
    this.address = options.address;
    this.o = resolveResourceManagerOptions(options);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child('resourcemanager');
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new SluiceError('ILLEGAL_STATE', 'the ResourceManager was already started');
    await this.options.driver.initialize({
      onWorkerStarted: (resourceId) => this.logger.debug('worker started', { resourceId }),
      onWorkerTerminated: (resourceId, reason) => void this.mailbox.run(() => this.workerTerminated(resourceId, reason)),
    });
    this.options.rpc.register<ResourceManagerGateway>(this.address, this.gatewayView());
    this.state = 'running';
    const period = Math.min(this.o.heartbeatIntervalMs, this.o.taskManagerTimeoutMs, this.o.idleWorkerTimeoutMs);
    if (Number.isFinite(period)) {
      this.checkPeriodMs = Math.max(10, period);
      this.timer = setInterval(() => void this.mailbox.run(() => this.checkLiveness()), this.checkPeriodMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    await this.mailbox.run(() => {
      if (this.state === 'stopped') return;
      this.state = 'stopped';
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      this.options.rpc.unregister(this.address);
    });
  }

  // ---- ResourceManagerGateway ----

  registerTaskExecutor(registration: TaskManagerRegistration): Promise<RegistrationResponse> {
    return this.mailbox.run((): RegistrationResponse => {
      if (this.state !== 'running') return { type: 'RegistrationRejection', reason: 'the ResourceManager is shutting down' };
      if (this.releasedWorkers.has(registration.resourceId)) return { type: 'RegistrationRejection', reason: `worker '${registration.resourceId}' was released` };
      this.pendingWorkers.delete(registration.resourceId);
      this.slotManager.registerTaskManager(registration);
      this.lastSeen.set(registration.resourceId, this.clock.nowMs());
      this.logger.info('TaskManager registered', { resourceId: registration.resourceId, slots: registration.numberOfSlots });
      return { type: 'RegistrationSuccess', registrationId: randomId(8), heartbeatIntervalMs: this.o.heartbeatIntervalMs };
    });
  }

  sendSlotReport(report: SlotReport): Promise<void> {
    return this.mailbox.run(() => this.slotReport(report));
  }

  heartbeatFromTaskExecutor(report: SlotReport): Promise<void> {
    return this.mailbox.run(() => this.slotReport(report));
  }

  disconnectTaskExecutor(resourceId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => this.removeTaskManager(resourceId, reason));
  }

  registerJobMaster(jobId: string, jobMasterAddress: string): Promise<void> {
    return this.mailbox.run(() => {
      this.ensureRunning();
      this.jobMasters.set(jobId, jobMasterAddress);
    });
  }

  declareResourceRequirements(requirements: ResourceRequirements): Promise<void> {
    return this.mailbox.run(() => {
      this.ensureRunning();
      if (!Number.isInteger(requirements.slots) || requirements.slots < 0) {
        throw new SluiceError('INVALID_REQUIREMENTS', `job ${requirements.jobId} declared ${requirements.slots} slots; expected a non-negative integer`);
      }
      this.jobMasters.set(requirements.jobId, requirements.jobMasterAddress);
      this.slotManager.setRequirements(requirements);
      this.checkResources();
    });
  }

  disconnectJobMaster(jobId: string, reason: string): Promise<void> {
    return this.mailbox.run(() => {
      const address = this.jobMasters.get(jobId);
      this.jobMasters.delete(jobId);
      this.logger.debug('JobMaster disconnected', { jobId, reason });
      if (address !== undefined) this.slotManager.setRequirements({ jobId, jobMasterAddress: address, slots: 0 });
      if (this.state === 'running') this.checkResources();
    });
  }

  requestTaskManagerInfo(): Promise<TaskManagerInfo[]> {
    return this.mailbox.run(() => this.slotManager.taskManagerInfo());
  }

  // ---- internals (run inside the mailbox) ----

  private gatewayView(): ResourceManagerGateway {
    return {
      registerTaskExecutor: (r) => this.registerTaskExecutor(r),
      sendSlotReport: (r) => this.sendSlotReport(r),
      heartbeatFromTaskExecutor: (r) => this.heartbeatFromTaskExecutor(r),
      disconnectTaskExecutor: (id, reason) => this.disconnectTaskExecutor(id, reason),
      registerJobMaster: (jobId, a) => this.registerJobMaster(jobId, a),
      declareResourceRequirements: (r) => this.declareResourceRequirements(r),
      disconnectJobMaster: (jobId, reason) => this.disconnectJobMaster(jobId, reason),
      requestTaskManagerInfo: () => this.requestTaskManagerInfo(),
    };
  }

  private ensureRunning(): void {
    if (this.state !== 'running') throw new SluiceError('RESOURCE_MANAGER_NOT_RUNNING', `the ResourceManager at '${this.address}' is ${this.state}`, { retriable: true });
  }

  private slotReport(report: SlotReport): void {
    if (this.state !== 'running' || !this.slotManager.isRegistered(report.resourceId)) return;
    this.lastSeen.set(report.resourceId, this.clock.nowMs());
    if (!this.slotManager.applySlotReport(report, this.clock.nowMs())) {
      this.logger.debug('ignored stale slot report', { resourceId: report.resourceId, seq: report.seq });
      return;
    }
    this.checkResources();
  }

  private removeTaskManager(resourceId: string, reason: string): void {
    this.lastSeen.delete(resourceId);
    if (!this.slotManager.isRegistered(resourceId)) return;
    const affected = this.slotManager.unregisterTaskManager(resourceId);
    this.logger.info('TaskManager disconnected', { resourceId, reason });
    for (const [jobId, address] of affected) {
      this.call<JobMasterGateway>(address, `TaskManager loss to job ${jobId}`, (jm) => jm.disconnectTaskManager(resourceId, reason));
    }
    if (this.state === 'running') this.checkResources();
  }

  private workerTerminated(resourceId: string, reason: string): void {
    this.pendingWorkers.delete(resourceId);
    this.removeTaskManager(resourceId, `worker terminated: ${reason}`);
    if (this.state === 'running') this.checkResources();
  }

  private checkLiveness(): void {
    if (this.state !== 'running') return;
    const now = this.clock.nowMs();
    // A check that comes more than a period late means this thread was held up (a long GC, an
    // event loop kept busy, hundreds of worker threads on two cores): it could not take in
    // heartbeats meanwhile, so that time is not held against the TaskManagers.
    const late = this.lastCheckMs === undefined ? 0 : now - this.lastCheckMs - this.checkPeriodMs;
    this.lastCheckMs = now;
    if (late > this.checkPeriodMs) for (const [resourceId, seen] of this.lastSeen) this.lastSeen.set(resourceId, seen + late);
    for (const [resourceId, seen] of this.lastSeen) {
      if (now - seen > this.o.taskManagerTimeoutMs) this.removeTaskManager(resourceId, `no heartbeat for ${now - seen} ms (timeout ${this.o.taskManagerTimeoutMs} ms)`);
    }
    if (Number.isFinite(this.o.idleWorkerTimeoutMs)) {
      for (const resourceId of this.slotManager.idleTaskManagers(now, this.o.idleWorkerTimeoutMs)) this.releaseWorker(resourceId);
    }
  }

  private releaseWorker(resourceId: string): void {
    this.logger.info('releasing idle worker', { resourceId });
    this.releasedWorkers.add(resourceId);
    this.slotManager.unregisterTaskManager(resourceId);
    this.lastSeen.delete(resourceId);
    this.options.driver.releaseWorker(resourceId).catch((err: unknown) => this.logger.warn('releasing a worker failed', { resourceId, error: describeError(err) }));
  }

  /** Runs the SlotManager's plan and asks the driver for any workers still needed. */
  private checkResources(): void {
    const plan = this.slotManager.plan(() => randomId(16), this.clock.nowMs());
    this.carryOut(plan);
    const n = workersToRequest({
      missingSlots: plan.missingSlots,
      pendingWorkers: this.pendingWorkers.size,
      unreportedSlots: this.slotManager.unreportedSlots(),
      slotsPerWorker: this.o.slotsPerWorker,
      knownWorkers: this.slotManager.registeredCount(),
      maxWorkers: this.o.maxWorkers,
    });
    for (let i = 0; i < n; i++) this.requestWorker();
  }

  private carryOut(plan: SlotPlan): void {
    for (const a of plan.allocations) {
      void (async () => {
        try {
          const tm = await this.options.rpc.connect<TaskExecutorGateway>(a.taskManagerAddress);
          const ack = await tm.requestSlot(a.slotId, a.jobId, a.allocationId, a.jobMasterAddress);
          await this.mailbox.run(() => this.slotManager.allocationAcknowledged(a.allocationId, ack.reportSeq));
        } catch (err) {
          this.logger.warn('slot request failed', { slot: `${a.slotId.resourceId}/${a.slotId.slotIndex}`, jobId: a.jobId, error: describeError(err) });
          await this.mailbox.run(() => {
            this.slotManager.allocationFailed(a.allocationId);
            if (err instanceof RpcUnreachableError) this.removeTaskManager(a.slotId.resourceId, `unreachable at '${a.taskManagerAddress}'`);
          });
        }
      })();
    }
    for (const r of plan.releases) {
      this.call<TaskExecutorGateway>(r.taskManagerAddress, `slot release ${r.allocationId}`, (tm) => tm.freeSlot(r.allocationId, `job ${r.jobId} no longer needs the slot`));
    }
  }

  private requestWorker(): void {
    const spec = { resourceId: `taskmanager-${randomId(6)}`, numberOfSlots: this.o.slotsPerWorker };
    this.pendingWorkers.add(spec.resourceId);
    this.logger.info('requesting a worker', { resourceId: spec.resourceId });
    this.options.driver.requestWorker(spec).catch((err: unknown) =>
      this.mailbox.run(() => {
        this.pendingWorkers.delete(spec.resourceId);
        this.logger.warn('the cluster driver could not start a worker', { resourceId: spec.resourceId, error: describeError(err) });
      }),
    );
  }

  /** A remote call that is not awaited by the mailbox; failures are logged. */
  private call<G extends object>(address: string, what: string, action: (gateway: G) => Promise<unknown>): void {
    void this.options.rpc
      .connect<G>(address)
      .then(action)
      .catch((err: unknown) => this.logger.warn(`could not deliver ${what} to '${address}'`, { error: describeError(err) }));
  }
}
