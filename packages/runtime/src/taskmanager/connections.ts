/**
 * A TaskManager's links to the other components: its ordered Outbox; its registration at the
 * ResourceManager (the RM's fencing id, heartbeats both ways carrying the full slot report, and a
 * new registration whenever the RM is lost or says it dropped this TaskManager); and heartbeats
 * with the JobMaster of every job it holds slots for. What a lost JobMaster means (its slots are
 * freed, its tasks cancelled) is the TaskManager's business, told through `onJobMasterLost`.
 */
import { describeError, hasErrorCode, retry, SluiceError, type Clock, type Logger } from '@sluice/common';
import {
  checkResourceManagerId,
  describeJobMasterToken,
  FENCING_TOKEN_MISMATCH,
  FencingTokenMismatchError,
  HeartbeatManager,
  Outbox,
  RPC_TIMEOUT,
  RPC_UNREACHABLE,
  sameJobMasterToken,
  type HeartbeatOptions,
  type HeartbeatTarget,
  type JobMasterGateway,
  type JobMasterToken,
  type OutboxOptions,
  type RegistrationSuccess,
  type ResourceManagerGateway,
  type ResourceManagerId,
  type RpcService,
  type SlotReport,
  type TaskManagerRegistration,
} from '@sluice/protocol';

const DROPPED_BY_RESOURCE_MANAGER = [FENCING_TOKEN_MISMATCH, 'TASK_MANAGER_NOT_REGISTERED'];
const DROPPED_BY_JOB_MASTER = [FENCING_TOKEN_MISMATCH, 'TASK_MANAGER_NOT_CONNECTED', RPC_UNREACHABLE];
const RESOURCE_MANAGER = 'resourcemanager';

export interface TaskManagerConnectionsOptions {
  rpc: RpcService;
  resourceId: string;
  resourceManagerAddress: string;
  /** What the TaskManager registers with, the first time and after losing the ResourceManager. */
  registration: TaskManagerRegistration;
  /** Overrides of the heartbeat timing the ResourceManager names on registration. */
  heartbeat: Partial<HeartbeatOptions>;
  outbox?: Pick<OutboxOptions, 'callTimeoutMs' | 'attempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>;
  registrationInitialDelayMs: number;
  registrationMaxDelayMs: number;
  clock: Clock;
  logger: Logger;
  /** Runs an action on the TaskManager's mailbox. */
  run(action: () => void): void;
  /** The next full slot report (a new sequence number each time). */
  slotReport(): SlotReport;
  /** (Re)registered at a ResourceManager. */
  onRegistered(resourceManagerId: ResourceManagerId): void;
  /** The JobMaster of a job stopped answering, its connection closed, or it refused this TaskManager. */
  onJobMasterLost(jobId: string, reason: string): void;
}

interface JobMasterTarget extends HeartbeatTarget {
  readonly token: JobMasterToken;
}

export class TaskManagerConnections {
  readonly outbox: Outbox;
  private rmHeartbeats: HeartbeatManager | undefined;
  private jmHeartbeats: HeartbeatManager<JobMasterTarget>;
  private rmId: ResourceManagerId | undefined;
  private readonly abort = new AbortController();
  private reconnecting = false;
  /** A registration loop is dialling (it reads `rmAddress` on every attempt). */
  private registering = false;
  /** Where the ResourceManager is: the leading entrypoint's, which changes with the leader under HA. */
  private rmAddress: string;

  constructor(private readonly o: TaskManagerConnectionsOptions) {
    this.rmAddress = o.resourceManagerAddress;
    this.outbox = new Outbox({ rpc: o.rpc, logger: o.logger, ...o.outbox, onUndeliverable: ({ address, error }) => o.run(() => this.undeliverable(address, error)) });
    this.jmHeartbeats = this.jobMasterHeartbeats(undefined);
  }

  get resourceManagerId(): ResourceManagerId | undefined {
    return this.rmId;
  }

  /**
   * Registers at the ResourceManager, retrying while it cannot be reached; throws
   * REGISTRATION_REJECTED when it refuses. Heartbeats to it start on success.
   */
  async register(): Promise<void> {
    const registration = this.o.registration;
    this.registering = true;
    const response = await retry(
      () => this.outbox.call<ResourceManagerGateway, Awaited<ReturnType<ResourceManagerGateway['registerTaskExecutor']>>>(this.rmAddress, 'registration', (rm) => rm.registerTaskExecutor(registration)),
      {
        attempts: Number.MAX_SAFE_INTEGER,
        initialDelayMs: this.o.registrationInitialDelayMs,
        maxDelayMs: this.o.registrationMaxDelayMs,
        isRetriable: (err) => hasErrorCode(err, RPC_UNREACHABLE, RPC_TIMEOUT) && !this.abort.signal.aborted,
        signal: this.abort.signal,
      },
    ).finally(() => (this.registering = false));
    if (response.type === 'RegistrationRejection') {
      throw new SluiceError('REGISTRATION_REJECTED', `ResourceManager at '${this.rmAddress}' rejected TaskManager '${this.o.resourceId}': ${response.reason}`);
    }
    await new Promise<void>((resolve) => this.o.run(() => (this.registered(response), resolve())));
  }

  /**
   * Another entrypoint leads now (HA leader retrieval): its ResourceManager is at `address`.
   * The old one's term is over, so this TaskManager registers at the new one (its tasks keep
   * running; their JobMasters decide about them).
   */
  resourceManagerMoved(address: string): void {
    if (address === this.rmAddress) return;
    const old = this.rmAddress;
    this.rmAddress = address;
    if (this.registering) return; // the registration loop dials the new address on its next attempt
    this.outbox.discard(old, 'another ResourceManager leads');
    this.resourceManagerLost(`the cluster's leader moved to ${address}`);
  }

  /** Sends a fenced call to the ResourceManager this TaskManager is registered at; dropped while not registered. */
  toResourceManager(what: string, call: (rm: ResourceManagerGateway, resourceManagerId: ResourceManagerId) => Promise<unknown>): void {
    const id = this.rmId;
    if (id !== undefined) this.outbox.send<ResourceManagerGateway>(this.rmAddress, what, (rm) => call(rm, id));
  }

  checkResourceManager(what: string, resourceManagerId: ResourceManagerId): void {
    checkResourceManagerId(what, this.rmId, resourceManagerId);
  }

  receiveResourceManagerHeartbeat(resourceManagerId: ResourceManagerId): void {
    // The RM beats as soon as it registered this TaskManager, which may be before its answer is
    // here: while registering, a heartbeat is neither refused (the RM would drop us) nor counted.
    if (this.rmId === undefined) return;
    this.checkResourceManager(`heartbeat to TaskManager '${this.o.resourceId}'`, resourceManagerId);
    this.rmHeartbeats?.receiveHeartbeat(RESOURCE_MANAGER);
  }

  /** Starts heartbeats with the JobMaster of `token`'s job (while this TaskManager holds slots for it). */
  monitorJobMaster(token: JobMasterToken, address: string): void {
    if (sameJobMasterToken(this.jmHeartbeats.target(token.jobId)?.token, token)) return;
    this.jmHeartbeats.monitor(token.jobId, {
      token,
      address,
      sendHeartbeat: () => this.outbox.send<JobMasterGateway>(address, 'heartbeat', (jm) => jm.heartbeatFromTaskManager(token, this.o.resourceId)),
    });
  }

  /** Stops heartbeats with a job's JobMaster and drops what is still queued for it. */
  forgetJobMaster(jobId: string, reason: string): void {
    const target = this.jmHeartbeats.target(jobId);
    this.jmHeartbeats.unmonitor(jobId);
    if (target !== undefined) this.outbox.discard(target.address, reason);
  }

  /** Refuses a heartbeat from a JobMaster this TaskManager holds no slot for. */
  receiveJobMasterHeartbeat(token: JobMasterToken): void {
    const known = this.jmHeartbeats.target(token.jobId)?.token;
    if (known === undefined) {
      throw new SluiceError('JOB_MASTER_NOT_CONNECTED', `TaskManager '${this.o.resourceId}' holds no slot for ${describeJobMasterToken(token)} (they were freed or never allocated); the JobMaster should count this TaskManager lost`);
    }
    if (!sameJobMasterToken(known, token)) throw new FencingTokenMismatchError(`heartbeat to TaskManager '${this.o.resourceId}'`, describeJobMasterToken(known), describeJobMasterToken(token));
    this.jmHeartbeats.receiveHeartbeat(token.jobId);
  }

  peerConnectionClosed(address: string): void {
    this.rmHeartbeats?.peerConnectionClosed(address);
    this.jmHeartbeats.peerConnectionClosed(address);
  }

  /** Stops heartbeats and registration attempts; the outbox keeps delivering until `close`. */
  stopHeartbeats(): void {
    this.abort.abort();
    this.rmHeartbeats?.stop();
    this.jmHeartbeats.stop();
  }

  close(): Promise<void> {
    return this.outbox.close();
  }

  private timing(fromRm: RegistrationSuccess | undefined): HeartbeatOptions {
    return {
      heartbeatIntervalMs: this.o.heartbeat.heartbeatIntervalMs ?? fromRm?.heartbeatIntervalMs ?? 10_000,
      heartbeatTimeoutMs: this.o.heartbeat.heartbeatTimeoutMs ?? fromRm?.heartbeatTimeoutMs ?? 50_000,
    };
  }

  private jobMasterHeartbeats(fromRm: RegistrationSuccess | undefined): HeartbeatManager<JobMasterTarget> {
    return new HeartbeatManager<JobMasterTarget>({
      ...this.timing(fromRm),
      clock: this.o.clock,
      run: this.o.run,
      onPeerLost: (jobId, _t, reason) => this.o.onJobMasterLost(jobId, reason),
    });
  }

  private registered(response: RegistrationSuccess): void {
    if (this.abort.signal.aborted) return;
    // JobMasters expect heartbeats at the cluster's pace, which the ResourceManager names; slots
    // (and so JobMasters to beat to) come only after a registration.
    if (this.jmHeartbeats.monitoredPeers().length === 0) {
      this.jmHeartbeats.stop();
      this.jmHeartbeats = this.jobMasterHeartbeats(response);
    }
    this.rmId = response.resourceManagerId;
    this.rmHeartbeats?.stop();
    this.rmHeartbeats = new HeartbeatManager({
      ...this.timing(response),
      clock: this.o.clock,
      run: this.o.run,
      onPeerLost: (_id, _t, reason) => this.resourceManagerLost(reason),
    });
    this.rmHeartbeats.monitor(RESOURCE_MANAGER, {
      address: this.rmAddress,
      sendHeartbeat: () => {
        const report = this.o.slotReport();
        this.toResourceManager('heartbeat', (rm, id) => rm.heartbeatFromTaskExecutor(id, report));
      },
    });
    this.o.onRegistered(response.resourceManagerId);
  }

  private undeliverable(address: string, error: unknown): void {
    if (this.abort.signal.aborted) return;
    if (address === this.rmAddress) {
      if (hasErrorCode(error, ...DROPPED_BY_RESOURCE_MANAGER)) this.resourceManagerLost(`it refused a call: ${describeError(error)}`);
      return;
    }
    if (!hasErrorCode(error, ...DROPPED_BY_JOB_MASTER)) return;
    for (const jobId of this.jmHeartbeats.monitoredPeers()) {
      if (this.jmHeartbeats.target(jobId)?.address !== address) continue;
      this.forgetJobMaster(jobId, `the JobMaster of job ${jobId} was lost`);
      this.o.onJobMasterLost(jobId, `it refused or missed a call: ${describeError(error)}`);
    }
  }

  /** The RM is gone or dropped this TaskManager: register again (tasks keep running meanwhile). */
  private resourceManagerLost(reason: string): void {
    if (this.abort.signal.aborted || this.reconnecting) return;
    this.o.logger.warn(`lost the ResourceManager${this.rmId === undefined ? '' : ` ${this.rmId}`} (${reason}); registering again`);
    this.rmId = undefined;
    this.rmHeartbeats?.stop();
    this.rmHeartbeats = undefined;
    this.outbox.discard(this.rmAddress, 'the ResourceManager was lost');
    this.reconnecting = true;
    void this.registerAgain();
  }

  private async registerAgain(): Promise<void> {
    try {
      await this.register();
    } catch (err) {
      if (!this.abort.signal.aborted) this.o.logger.error('registering at the ResourceManager again failed; this TaskManager takes no new work', { error: describeError(err) });
    } finally {
      this.reconnecting = false;
    }
  }
}
