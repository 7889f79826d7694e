/**
 * The ResourceManager: keeps the registry of TaskManagers and JobMasters, feeds slot reports and
 * declared requirements into the SlotManager, and carries out its plan — asks TaskManagers to
 * allocate or free slots, asks the ClusterDriver for workers when slots are short (counting
 * those an earlier run of the driver left running, until they register) and releases workers
 * idle past a timeout. It has a fresh id per start (its fencing token), refuses calls
 * meant for another, and keeps heartbeats with every TaskManager and JobMaster: a lost
 * TaskManager's slots are removed and the JobMasters using them told; a lost JobMaster's slots
 * and requirements are freed. All state lives on one Mailbox; calls leave through one Outbox.
 */
import { createLogger, describeError, hasErrorCode, randomId, SluiceError, systemClock, type Clock, type Logger } from '@sluice/common';
import {
  checkResourceManagerId,
  describeJobMasterToken,
  HeartbeatManager,
  Mailbox,
  Outbox,
  resolveHeartbeatOptions,
  RPC_UNREACHABLE,
  sameJobMasterToken,
  FencingTokenMismatchError,
  type HeartbeatOptions,
  type HeartbeatTarget,
  type JobMasterGateway,
  type JobMasterRegistrationSuccess,
  type JobMasterToken,
  type OutboxOptions,
  type RegistrationResponse,
  type ResourceManagerGateway,
  type ResourceManagerId,
  type ResourceRequirements,
  type RpcService,
  type SlotReport,
  type TaskExecutorGateway,
  type TaskManagerInfo,
  type TaskManagerRegistration,
} from '@sluice/protocol';
import type { ClusterDriver, WorkerSpec } from './cluster-driver.js';
import { SlotManager, workersToRequest, type SlotPlan } from './slot-manager.js';
import { WorkerFailureRate, type WorkerFailureRateOptions } from './worker-failure-rate.js';

export interface ResourceManagerOptions extends Partial<HeartbeatOptions> {
  rpc: RpcService;
  address: string;
  driver: ClusterDriver;
  /** Slots of each worker the RM asks the driver for. */
  slotsPerWorker?: number;
  /** Upper bound on registered plus requested workers. */
  maxWorkers?: number;
  /** Release a worker whose slots have all been free this long; Infinity keeps workers. */
  idleWorkerTimeoutMs?: number;
  /** Workers kept whatever the demand: started at once, replaced when they fail, never released as idle. */
  minWorkers?: number;
  /** How fast failed workers are replaced (see worker-failure-rate.ts). */
  workerFailureRate?: WorkerFailureRateOptions;
  /** Timeouts and retries of calls to TaskManagers and JobMasters. */
  outbox?: Pick<OutboxOptions, 'callTimeoutMs' | 'attempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>;
  /** Its fencing token (default: random per start); with HA, the leadership term's token. */
  resourceManagerId?: ResourceManagerId;
  clock?: Clock;
  logger?: Logger;
}

export const DEFAULT_RESOURCE_MANAGER_OPTIONS = Object.freeze({
  slotsPerWorker: 1,
  maxWorkers: Number.POSITIVE_INFINITY,
  idleWorkerTimeoutMs: Number.POSITIVE_INFINITY,
  minWorkers: 0,
});

type Resolved = { -readonly [K in keyof typeof DEFAULT_RESOURCE_MANAGER_OPTIONS]: number } & HeartbeatOptions;

export function resolveResourceManagerOptions(options: ResourceManagerOptions): Resolved {
  const o: { -readonly [K in keyof typeof DEFAULT_RESOURCE_MANAGER_OPTIONS]: number } = { ...DEFAULT_RESOURCE_MANAGER_OPTIONS };
  for (const k of Object.keys(DEFAULT_RESOURCE_MANAGER_OPTIONS) as (keyof typeof o)[]) {
    const v = options[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (v === 0 && k !== 'maxWorkers' && k !== 'minWorkers')) {
      throw new SluiceError('CONFIGURATION', `ResourceManager option ${k} must be a positive number, got ${v}`);
    }
    o[k] = v;
  }
  if (!Number.isInteger(o.slotsPerWorker)) throw new SluiceError('CONFIGURATION', `slotsPerWorker must be a positive integer, got ${o.slotsPerWorker}`);
  if (!Number.isInteger(o.minWorkers) || o.minWorkers > o.maxWorkers) throw new SluiceError('CONFIGURATION', `minWorkers must be an integer no larger than maxWorkers (${o.maxWorkers}), got ${o.minWorkers}`);
  return { ...o, ...resolveHeartbeatOptions(options, 'ResourceManager') };
}

interface JobMasterEntry {
  readonly token: JobMasterToken;
  readonly address: string;
}

interface Peer extends HeartbeatTarget {
  readonly id: string;
}

export class ResourceManager implements ResourceManagerGateway {
  readonly address: string;
  /** Fencing token: fresh per start, or the HA leadership term's. */
  readonly resourceManagerId: ResourceManagerId;
  private readonly mailbox = new Mailbox();
  private readonly slotManager = new SlotManager();
  private readonly jobMasters = new Map<string, JobMasterEntry>();
  private readonly pendingWorkers = new Set<string>();
  /** Pending workers an earlier run of the driver started, each given one heartbeat timeout to register. */
  private readonly recoveredWorkers: HeartbeatManager<Peer>;
  private recoveryWaitLogged = false;
  private readonly releasedWorkers = new Set<string>();
  private readonly o: Resolved;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly outbox: Outbox;
  private readonly tmHeartbeats: HeartbeatManager<Peer>;
  private readonly jmHeartbeats: HeartbeatManager<Peer>;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly failureRate: WorkerFailureRate;
  private retryTimer: NodeJS.Timeout | undefined;
  private state: 'created' | 'running' | 'stopped' = 'created';

  constructor(private readonly options: ResourceManagerOptions) {
    this.resourceManagerId = options.resourceManagerId ?? randomId(16);
    this.address = options.address;
    this.o = resolveResourceManagerOptions(options);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? createLogger()).child('resourcemanager');
    this.failureRate = new WorkerFailureRate(options.workerFailureRate);
    const run = (action: () => void): void => void this.mailbox.run(action);
    this.outbox = new Outbox({ rpc: options.rpc, logger: this.logger, ...options.outbox, onUndeliverable: ({ address, error }) => run(() => this.undeliverable(address, error)) });
    const hb = { heartbeatIntervalMs: this.o.heartbeatIntervalMs, heartbeatTimeoutMs: this.o.heartbeatTimeoutMs, clock: this.clock, run };
    this.tmHeartbeats = new HeartbeatManager<Peer>({ ...hb, onPeerLost: (id, _t, reason) => this.removeTaskManager(id, reason) });
    this.jmHeartbeats = new HeartbeatManager<Peer>({ ...hb, onPeerLost: (jobId, _t, reason) => this.removeJobMaster(jobId, reason) });
    this.recoveredWorkers = new HeartbeatManager<Peer>({ ...hb, onPeerLost: (resourceId) => this.recoveredWorkerLate(resourceId) });
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new SluiceError('ILLEGAL_STATE', 'the ResourceManager was already started');
    await this.options.driver.initialize({
      onWorkerStarted: (resourceId) => this.logger.debug('worker started', { resourceId }),
      onWorkerTerminated: (resourceId, reason) => void this.mailbox.run(() => this.workerTerminated(resourceId, reason)),
      onWorkersRecovered: (workers) => void this.mailbox.run(() => this.workersRecovered(workers)),
    });
    this.options.rpc.register<ResourceManagerGateway>(this.address, this.gatewayView());
    this.state = 'running';
    if (this.o.minWorkers > 0) void this.mailbox.run(() => this.checkResources());
    if (Number.isFinite(this.o.idleWorkerTimeoutMs)) {
      const period = Math.max(10, Math.min(this.o.heartbeatIntervalMs, this.o.idleWorkerTimeoutMs));
      this.idleTimer = setInterval(() => void this.mailbox.run(() => this.releaseIdleWorkers()), period);
      this.idleTimer.unref();
    }
  }

  async stop(): Promise<void> {
    const stopped = await this.mailbox.run(() => {
      if (this.state === 'stopped') return false;
      this.state = 'stopped';
      if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
      this.idleTimer = undefined;
      clearTimeout(this.retryTimer);
      this.recoveredWorkers.stop();
      this.tmHeartbeats.stop();
      this.jmHeartbeats.stop();
      this.options.rpc.unregister(this.address);
      return true;
    });
    if (stopped) await this.outbox.close();
  }

  /** The connection to `address` closed (network RpcService): peers there are lost at once. */
  peerConnectionClosed(address: string): void {
    this.tmHeartbeats.peerConnectionClosed(address, (resourceId) => {
      const alive = this.options.driver.isWorkerReportedAlive?.(resourceId) === true;
      if (alive) this.logger.warn(`the RPC connection to TaskManager ${resourceId} (${address}) closed, but its executor reports it running: keeping it until the heartbeat timeout`, { resourceId });
      return alive;
    });
    this.jmHeartbeats.peerConnectionClosed(address);
  }

  // ---- ResourceManagerGateway ----

  registerTaskExecutor(registration: TaskManagerRegistration): Promise<RegistrationResponse> {
    return this.mailbox.run((): RegistrationResponse => {
      if (this.state !== 'running') return { type: 'RegistrationRejection', reason: 'the ResourceManager is shutting down' };
      if (this.releasedWorkers.has(registration.resourceId)) return { type: 'RegistrationRejection', reason: `worker '${registration.resourceId}' was released` };
      this.pendingWorkers.delete(registration.resourceId);
      this.recoveredWorkers.unmonitor(registration.resourceId);
      this.slotManager.registerTaskManager(registration);
      const { resourceId, address } = registration;
      this.tmHeartbeats.monitor(resourceId, {
        id: resourceId,
        address,
        sendHeartbeat: () => this.outbox.send<TaskExecutorGateway>(address, 'heartbeat', (tm) => tm.heartbeatFromResourceManager(this.resourceManagerId)),
      });
      this.logger.info('TaskManager registered', { resourceId, slots: registration.numberOfSlots });
      return { type: 'RegistrationSuccess', registrationId: randomId(8), resourceManagerId: this.resourceManagerId, heartbeatIntervalMs: this.o.heartbeatIntervalMs, heartbeatTimeoutMs: this.o.heartbeatTimeoutMs };
    });
  }

  sendSlotReport(resourceManagerId: ResourceManagerId, report: SlotReport): Promise<void> {
    return this.fenced(resourceManagerId, `slot report of '${report.resourceId}'`, () => this.slotReport(report));
  }

  heartbeatFromTaskExecutor(resourceManagerId: ResourceManagerId, report: SlotReport): Promise<void> {
    return this.fenced(resourceManagerId, `heartbeat of '${report.resourceId}'`, () => {
      this.tmHeartbeats.receiveHeartbeat(report.resourceId);
      this.slotReport(report);
    });
  }

  disconnectTaskExecutor(resourceManagerId: ResourceManagerId, resourceId: string, reason: string): Promise<void> {
    return this.fenced(resourceManagerId, `disconnect of '${resourceId}'`, () => this.removeTaskManager(resourceId, reason));
  }

  registerJobMaster(token: JobMasterToken, jobMasterAddress: string): Promise<JobMasterRegistrationSuccess> {
    return this.mailbox.run(() => {
      this.ensureRunning();
      const known = this.jobMasters.get(token.jobId);
      if (known !== undefined && !sameJobMasterToken(known.token, token)) {
        if (known.token.attempt > token.attempt) {
          throw new FencingTokenMismatchError('JobMaster registration', describeJobMasterToken(known.token), describeJobMasterToken(token));
        }
        this.removeJobMaster(token.jobId, `replaced by ${describeJobMasterToken(token)}`);
      }
      this.jobMasters.set(token.jobId, { token, address: jobMasterAddress });
      this.jmHeartbeats.monitor(token.jobId, {
        id: token.jobId,
        address: jobMasterAddress,
        sendHeartbeat: () => this.outbox.send<JobMasterGateway>(jobMasterAddress, 'heartbeat', (jm) => jm.heartbeatFromResourceManager(this.resourceManagerId)),
      });
      this.logger.debug('JobMaster registered', { jobId: token.jobId, jobMasterId: token.jobMasterId, attempt: token.attempt });
      return { resourceManagerId: this.resourceManagerId, heartbeatIntervalMs: this.o.heartbeatIntervalMs, heartbeatTimeoutMs: this.o.heartbeatTimeoutMs };
    });
  }

  declareResourceRequirements(resourceManagerId: ResourceManagerId, requirements: ResourceRequirements): Promise<void> {
    return this.fenced(resourceManagerId, `requirements of job ${requirements.jobId}`, () => {
      this.ensureRunning();
      this.registeredJobMaster(requirements.jobMaster, 'declare requirements');
      if (!Number.isInteger(requirements.slots) || requirements.slots < 0) {
        throw new SluiceError('INVALID_REQUIREMENTS', `job ${requirements.jobId} declared ${requirements.slots} slots; expected a non-negative integer`);
      }
      this.slotManager.setRequirements(requirements);
      this.checkResources();
    });
  }

  heartbeatFromJobMaster(resourceManagerId: ResourceManagerId, token: JobMasterToken): Promise<void> {
    return this.fenced(resourceManagerId, `heartbeat of JobMaster ${token.jobMasterId}`, () => {
      this.registeredJobMaster(token, 'heartbeat');
      this.jmHeartbeats.receiveHeartbeat(token.jobId);
    });
  }

  disconnectJobMaster(resourceManagerId: ResourceManagerId, token: JobMasterToken, reason: string): Promise<void> {
    return this.fenced(resourceManagerId, `disconnect of JobMaster ${token.jobMasterId}`, () => {
      if (sameJobMasterToken(this.jobMasters.get(token.jobId)?.token, token)) this.removeJobMaster(token.jobId, reason);
    });
  }

  requestTaskManagerInfo(): Promise<TaskManagerInfo[]> {
    return this.mailbox.run(() => this.slotManager.taskManagerInfo());
  }

  // ---- internals (run inside the mailbox) ----

  private gatewayView(): ResourceManagerGateway {
    return {
      registerTaskExecutor: (r) => this.registerTaskExecutor(r),
      sendSlotReport: (id, r) => this.sendSlotReport(id, r),
      heartbeatFromTaskExecutor: (id, r) => this.heartbeatFromTaskExecutor(id, r),
      disconnectTaskExecutor: (id, resourceId, reason) => this.disconnectTaskExecutor(id, resourceId, reason),
      registerJobMaster: (t, a) => this.registerJobMaster(t, a),
      declareResourceRequirements: (id, r) => this.declareResourceRequirements(id, r),
      heartbeatFromJobMaster: (id, t) => this.heartbeatFromJobMaster(id, t),
      disconnectJobMaster: (id, t, reason) => this.disconnectJobMaster(id, t, reason),
      requestTaskManagerInfo: () => this.requestTaskManagerInfo(),
    };
  }

  /** Runs `action` on the mailbox if the caller means this ResourceManager; otherwise refuses and logs. */
  private fenced<T>(resourceManagerId: ResourceManagerId, what: string, action: () => T): Promise<T> {
    return this.mailbox.run(() => {
      try {
        checkResourceManagerId(what, this.resourceManagerId, resourceManagerId);
      } catch (err) {
        this.logger.warn(describeError(err));
        throw err;
      }
      return action();
    });
  }

  private registeredJobMaster(token: JobMasterToken, what: string): JobMasterEntry {
    const known = this.jobMasters.get(token.jobId);
    if (known === undefined) {
      throw new SluiceError('JOB_MASTER_NOT_REGISTERED', `${describeJobMasterToken(token)} cannot ${what}: it is not registered at ResourceManager ${this.resourceManagerId} (it was lost or never registered); register again`);
    }
    if (!sameJobMasterToken(known.token, token)) {
      throw new FencingTokenMismatchError(`${what} of job ${token.jobId}`, describeJobMasterToken(known.token), describeJobMasterToken(token));
    }
    return known;
  }

  private ensureRunning(): void {
    if (this.state !== 'running') throw new SluiceError('RESOURCE_MANAGER_NOT_RUNNING', `the ResourceManager at '${this.address}' is ${this.state}`, { retriable: true });
  }

  private slotReport(report: SlotReport): void {
    if (this.state !== 'running') return;
    if (!this.slotManager.isRegistered(report.resourceId)) {
      throw new SluiceError('TASK_MANAGER_NOT_REGISTERED', `TaskManager '${report.resourceId}' is not registered at ResourceManager ${this.resourceManagerId} (it was dropped as lost, or never registered); register again`);
    }
    if (!this.slotManager.applySlotReport(report, this.clock.nowMs())) {
      this.logger.debug('ignored stale slot report', { resourceId: report.resourceId, seq: report.seq });
      return;
    }
    this.checkResources();
  }

  private removeTaskManager(resourceId: string, reason: string): void {
    const target = this.tmHeartbeats.target(resourceId);
    this.tmHeartbeats.unmonitor(resourceId);
    if (target !== undefined) this.outbox.discard(target.address, `TaskManager '${resourceId}' was removed`);
    if (!this.slotManager.isRegistered(resourceId)) return;
    const affected = this.slotManager.unregisterTaskManager(resourceId);
    this.logger.info('TaskManager disconnected', { resourceId, reason });
    for (const [jobId, address] of affected) {
      this.outbox.send<JobMasterGateway>(address, `TaskManager loss to job ${jobId}`, (jm) => jm.disconnectTaskManager(resourceId, reason));
    }
    if (this.state === 'running') this.checkResources();
  }

  /** Frees a JobMaster's slots and requirements (it disconnected, was lost or replaced). */
  private removeJobMaster(jobId: string, reason: string): void {
    const entry = this.jobMasters.get(jobId);
    if (entry === undefined) return;
    this.jobMasters.delete(jobId);
    this.jmHeartbeats.unmonitor(jobId);
    this.outbox.discard(entry.address, `JobMaster of job ${jobId} was removed`);
    this.logger.info('JobMaster disconnected', { jobId, reason });
    this.slotManager.setRequirements({ jobId, jobMaster: entry.token, jobMasterAddress: entry.address, slots: 0 });
    if (this.state === 'running') this.checkResources();
  }

  private undeliverable(address: string, error: unknown): void {
    if (this.state !== 'running') return;
    for (const id of this.tmHeartbeats.monitoredPeers()) {
      // A TaskManager that says it belongs to another ResourceManager, or that cannot be reached at all, is gone from here.
      if (this.tmHeartbeats.target(id)?.address === address && hasErrorCode(error, 'FENCING_TOKEN_MISMATCH', RPC_UNREACHABLE)) {
        this.removeTaskManager(id, `it refused or missed a call: ${describeError(error)}`);
      }
    }
  }

  /**
   * Workers an earlier run of the driver left running: their TaskManagers register again, so they
   * count as pending (no duplicates started meanwhile) for at most one heartbeat timeout.
   */
  private workersRecovered(workers: WorkerSpec[]): void {
    const fresh = workers.filter((w) => !this.slotManager.isRegistered(w.resourceId) && !this.pendingWorkers.has(w.resourceId));
    if (fresh.length === 0) return;
    for (const { resourceId } of fresh) {
      this.pendingWorkers.add(resourceId);
      this.recoveredWorkers.monitor(resourceId, { id: resourceId, address: `recovered worker ${resourceId}`, sendHeartbeat: () => undefined });
    }
    this.recoveryWaitLogged = false;
    this.logger.info(`${fresh.length} worker(s) of an earlier run recovered; waiting up to ${this.o.heartbeatTimeoutMs} ms for their TaskManagers to register`, { resourceIds: fresh.map((w) => w.resourceId).join(',') });
  }

  /** A recovered worker whose TaskManager did not register in time is released; others start as the demand needs. */
  private recoveredWorkerLate(resourceId: string): void {
    if (this.state !== 'running' || !this.pendingWorkers.delete(resourceId)) return;
    this.logger.warn(`the TaskManager of recovered worker ${resourceId} did not register within ${this.o.heartbeatTimeoutMs} ms; releasing it`);
    this.releaseWorker(resourceId, 'recovered, never registered');
    this.checkResources();
  }

  private workerTerminated(resourceId: string, reason: string): void {
    this.pendingWorkers.delete(resourceId);
    this.recoveredWorkers.unmonitor(resourceId);
    if (!this.releasedWorkers.has(resourceId)) this.failureRate.recordFailure(this.clock.nowMs());
    this.removeTaskManager(resourceId, `worker terminated: ${reason}`);
    if (this.state === 'running') this.checkResources();
  }

  private releaseIdleWorkers(): void {
    if (this.state !== 'running') return;
    let keep = this.slotManager.registeredCount() - this.o.minWorkers;
    for (const resourceId of this.slotManager.idleTaskManagers(this.clock.nowMs(), this.o.idleWorkerTimeoutMs)) {
      if (keep-- <= 0) break;
      this.releaseWorker(resourceId, 'idle');
    }
  }

  private releaseWorker(resourceId: string, why: string): void {
    this.logger.info(`releasing ${why === 'idle' ? 'idle worker' : `worker (${why})`}`, { resourceId });
    this.releasedWorkers.add(resourceId);
    this.slotManager.unregisterTaskManager(resourceId);
    this.tmHeartbeats.unmonitor(resourceId);
    this.options.driver.releaseWorker(resourceId).catch((err: unknown) => this.logger.warn('releasing a worker failed', { resourceId, error: describeError(err) }));
  }

  /** Runs the SlotManager's plan and asks the driver for any workers still needed. */
  private checkResources(): void {
    const plan = this.slotManager.plan(() => randomId(16), this.clock.nowMs());
    this.carryOut(plan);
    const known = this.slotManager.registeredCount();
    const forDemand = workersToRequest({
      missingSlots: plan.missingSlots,
      pendingWorkers: this.pendingWorkers.size,
      unreportedSlots: this.slotManager.unreportedSlots(),
      slotsPerWorker: this.o.slotsPerWorker,
      knownWorkers: known,
      maxWorkers: this.o.maxWorkers,
    });
    const n = Math.max(forDemand, this.o.minWorkers - known - this.pendingWorkers.size);
    if (n <= 0) {
      const recovered = this.recoveredWorkers.monitoredPeers().length;
      if (plan.missingSlots > 0 && recovered > 0 && !this.recoveryWaitLogged) {
        this.recoveryWaitLogged = true;
        this.logger.info(`${plan.missingSlots} slot(s) missing; waiting for ${recovered} recovered worker(s) to register before starting new ones`);
      }
      return;
    }
    const wait = this.failureRate.delayBeforeStart(this.clock.nowMs());
    if (wait > 0) {
      if (this.retryTimer === undefined) {
        this.logger.warn(`${this.failureRate.recent(this.clock.nowMs())} workers failed within the failure-rate interval; waiting ${wait} ms before starting another`);
        const retry = (): void => {
          this.retryTimer = undefined;
          if (this.state === 'running') this.checkResources();
        };
        this.retryTimer = setTimeout(() => void this.mailbox.run(retry), wait);
        this.retryTimer.unref();
      }
      return;
    }
    for (let i = 0; i < n; i++) this.requestWorker();
  }

  private carryOut(plan: SlotPlan): void {
    const rmId = this.resourceManagerId;
    for (const a of plan.allocations) {
      this.outbox
        .call<TaskExecutorGateway, Awaited<ReturnType<TaskExecutorGateway['requestSlot']>>>(a.taskManagerAddress, `slot request ${a.allocationId}`, (tm) =>
          tm.requestSlot(rmId, a.slotId, a.jobMaster, a.allocationId, a.jobMasterAddress),
        )
        .then(
          (ack) => this.mailbox.run(() => this.slotManager.allocationAcknowledged(a.allocationId, ack.reportSeq)),
          () => this.mailbox.run(() => this.slotManager.allocationFailed(a.allocationId)),
        );
    }
    for (const r of plan.releases) {
      this.outbox.send<TaskExecutorGateway>(r.taskManagerAddress, `slot release ${r.allocationId}`, (tm) => tm.freeSlot(rmId, r.allocationId, `job ${r.jobId} no longer needs the slot`));
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
}
