/**
 * A JobMaster's links to the other components: its ordered Outbox, its registration at the
 * ResourceManager (with the RM's fencing id, heartbeats both ways, and a reconnect whenever the
 * RM is lost or says it no longer knows this JobMaster) and heartbeats with every TaskManager it
 * holds slots of. What a loss means for the job is the JobMaster's business: it hears of it
 * through `onTaskManagerLost` and `onResourceManagerConnected`.
 */
import { describeError, hasErrorCode, type Clock, type Logger } from '@sluice/common';
import {
  checkResourceManagerId,
  FENCING_TOKEN_MISMATCH,
  HeartbeatManager,
  Outbox,
  RPC_UNREACHABLE,
  type HeartbeatOptions,
  type HeartbeatTarget,
  type JobMasterToken,
  type OutboxOptions,
  type ResourceManagerGateway,
  type ResourceManagerId,
  type RpcService,
  type TaskExecutorGateway,
} from '@sluice/protocol';

/** Codes a peer answers with when it no longer counts this JobMaster as connected. */
const DROPPED_BY_RESOURCE_MANAGER = [FENCING_TOKEN_MISMATCH, 'JOB_MASTER_NOT_REGISTERED'];
const DROPPED_BY_TASK_MANAGER = [FENCING_TOKEN_MISMATCH, 'JOB_MASTER_NOT_CONNECTED', RPC_UNREACHABLE];
const RESOURCE_MANAGER = 'resourcemanager';

export interface JobMasterConnectionsOptions {
  rpc: RpcService;
  token: JobMasterToken;
  address: string;
  resourceManagerAddress: string;
  heartbeat: HeartbeatOptions;
  outbox?: Pick<OutboxOptions, 'callTimeoutMs' | 'attempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>;
  clock: Clock;
  logger: Logger;
  /** Runs an action on the JobMaster's mailbox. */
  run(action: () => void): void;
  /** (Re)registered at a ResourceManager: declare what the job needs now. */
  onResourceManagerConnected(resourceManagerId: ResourceManagerId): void;
  /** A TaskManager stopped answering heartbeats, or its connection closed. */
  onTaskManagerLost(resourceId: string, reason: string): void;
}

interface TaskManagerTarget extends HeartbeatTarget {
  readonly resourceId: string;
}

export class JobMasterConnections {
  readonly outbox: Outbox;
  private readonly rmHeartbeats: HeartbeatManager;
  private readonly tmHeartbeats: HeartbeatManager<TaskManagerTarget>;
  private rmId: ResourceManagerId | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 0;
  private closed = false;

  constructor(private readonly o: JobMasterConnectionsOptions) {
    this.outbox = new Outbox({
      rpc: o.rpc,
      logger: o.logger,
      ...o.outbox,
      onUndeliverable: ({ address, error }) => o.run(() => this.undeliverable(address, error)),
    });
    const common = { ...o.heartbeat, clock: o.clock, run: o.run };
    this.rmHeartbeats = new HeartbeatManager({ ...common, onPeerLost: (_id, _t, reason) => this.resourceManagerLost(reason) });
    this.tmHeartbeats = new HeartbeatManager<TaskManagerTarget>({ ...common, onPeerLost: (id, _t, reason) => this.taskManagerLost(id, reason) });
  }

  get resourceManagerId(): ResourceManagerId | undefined {
    return this.rmId;
  }

  /** Registers at the ResourceManager; resolves once registered (the outbox retries an unreachable RM a few times). */
  async connectToResourceManager(): Promise<void> {
    const { token, address, resourceManagerAddress } = this.o;
    const reply = await this.outbox.call<ResourceManagerGateway, Awaited<ReturnType<ResourceManagerGateway['registerJobMaster']>>>(
      resourceManagerAddress,
      'JobMaster registration',
      (rm) => rm.registerJobMaster(token, address),
    );
    await new Promise<void>((resolve) =>
      this.o.run(() => {
        resolve();
        if (this.closed) return;
        this.rmId = reply.resourceManagerId;
        this.reconnectDelayMs = 0;
        this.o.logger.debug('registered at the ResourceManager', { resourceManagerId: reply.resourceManagerId });
        this.rmHeartbeats.monitor(RESOURCE_MANAGER, {
          address: resourceManagerAddress,
          sendHeartbeat: () => this.toResourceManager('heartbeat', (rm, id) => rm.heartbeatFromJobMaster(id, token)),
        });
        this.o.onResourceManagerConnected(reply.resourceManagerId);
      }),
    );
  }

  /**
   * Sends a fenced call to the ResourceManager this JobMaster is registered at. Dropped while
   * not registered: the reconnect declares everything anew.
   */
  toResourceManager(what: string, call: (rm: ResourceManagerGateway, resourceManagerId: ResourceManagerId) => Promise<unknown>): Promise<void> {
    const id = this.rmId;
    if (id === undefined) return Promise.resolve();
    return this.outbox.call<ResourceManagerGateway, unknown>(this.o.resourceManagerAddress, what, (rm) => call(rm, id)).then(() => undefined);
  }

  /** Refuses a heartbeat from any ResourceManager but the one this JobMaster is registered at. */
  receiveResourceManagerHeartbeat(resourceManagerId: ResourceManagerId): void {
    // The RM beats as soon as it registered this JobMaster, which may be before its answer is here.
    if (this.rmId === undefined) return;
    checkResourceManagerId(`heartbeat to JobMaster ${this.o.token.jobMasterId}`, this.rmId, resourceManagerId);
    this.rmHeartbeats.receiveHeartbeat(RESOURCE_MANAGER);
  }

  monitorTaskManager(resourceId: string, address: string): void {
    if (this.closed || this.tmHeartbeats.isMonitored(resourceId)) return;
    const token = this.o.token;
    this.tmHeartbeats.monitor(resourceId, {
      resourceId,
      address,
      sendHeartbeat: () => this.outbox.send<TaskExecutorGateway>(address, 'heartbeat', (tm) => tm.heartbeatFromJobMaster(token)),
    });
  }

  /** Stops monitoring a TaskManager and drops what is still queued for it. */
  forgetTaskManager(resourceId: string, reason: string): void {
    const target = this.tmHeartbeats.target(resourceId);
    this.tmHeartbeats.unmonitor(resourceId);
    if (target !== undefined) this.outbox.discard(target.address, reason);
  }

  /** False when this JobMaster holds no slot of the TaskManager (it was dropped, or never offered one). */
  receiveTaskManagerHeartbeat(resourceId: string): boolean {
    return this.tmHeartbeats.receiveHeartbeat(resourceId);
  }

  peerConnectionClosed(address: string): void {
    this.rmHeartbeats.peerConnectionClosed(address);
    this.tmHeartbeats.peerConnectionClosed(address);
  }

  /** Stops heartbeats and reconnects, refuses new calls and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.rmHeartbeats.stop();
    this.tmHeartbeats.stop();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.outbox.close();
  }

  private undeliverable(address: string, error: unknown): void {
    if (this.closed) return;
    if (address === this.o.resourceManagerAddress) {
      if (hasErrorCode(error, ...DROPPED_BY_RESOURCE_MANAGER)) this.resourceManagerLost(`it refused a call: ${describeError(error)}`);
      return;
    }
    const target = this.tmHeartbeats.monitoredPeers().map((id) => this.tmHeartbeats.target(id)!).find((t) => t.address === address);
    if (target !== undefined && hasErrorCode(error, ...DROPPED_BY_TASK_MANAGER)) this.taskManagerLost(target.resourceId, `it refused a call: ${describeError(error)}`);
  }

  private taskManagerLost(resourceId: string, reason: string): void {
    this.forgetTaskManager(resourceId, `TaskManager '${resourceId}' lost`);
    this.o.onTaskManagerLost(resourceId, reason);
  }

  private resourceManagerLost(reason: string): void {
    if (this.closed || this.rmId === undefined) return;
    this.o.logger.warn(`lost the ResourceManager ${this.rmId} (${reason}); registering again`);
    this.rmId = undefined;
    this.rmHeartbeats.unmonitor(RESOURCE_MANAGER);
    this.outbox.discard(this.o.resourceManagerAddress, 'the ResourceManager was lost');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(Math.max(2 * delay, 50), this.o.heartbeat.heartbeatIntervalMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectToResourceManager().catch((err: unknown) =>
        this.o.run(() => {
          this.o.logger.debug('registering at the ResourceManager failed; trying again', { error: describeError(err) });
          this.scheduleReconnect();
        }),
      );
    }, delay);
    this.reconnectTimer.unref();
  }
}
