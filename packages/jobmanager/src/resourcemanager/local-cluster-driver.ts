/**
 * LocalClusterDriver: the ClusterDriver of the embedded cluster. It starts TaskManagers in this
 * process through a factory it is given (so the caller decides which TaskRunner they use) and
 * stops them on release. The ResourceManager cannot tell it from a Mesos driver.
 */
import { createLogger, describeError, SluiceError, type Logger } from '@sluice/common';
import type { RpcService } from '@sluice/protocol';
import type { ClusterDriver, ClusterDriverEvents, WorkerSpec } from './cluster-driver.js';

export interface TaskManagerContext {
  resourceId: string;
  numberOfSlots: number;
  rpc: RpcService;
  resourceManagerAddress: string;
  /** RPC address the TaskManager must serve its gateway at. */
  address: string;
}

/** What the driver needs of a TaskManager: start (which registers it) and stop. */
export interface LocalWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  metricsUrl?: string;
}

export type TaskManagerFactory = (ctx: TaskManagerContext) => Promise<LocalWorker>;

export interface LocalClusterDriverOptions {
  rpc: RpcService;
  resourceManagerAddress: string;
  taskManagerFactory: TaskManagerFactory;
  logger?: Logger;
}

export class LocalClusterDriver implements ClusterDriver {
  private readonly workers = new Map<string, LocalWorker>();
  private events: ClusterDriverEvents | undefined;
  private terminated = false;
  private readonly logger: Logger;

  constructor(private readonly options: LocalClusterDriverOptions) {
    this.logger = (options.logger ?? createLogger()).child('local-driver');
  }

  async initialize(events: ClusterDriverEvents): Promise<void> {
    this.events = events;
  }

  static addressOf(resourceId: string): string {
    return `taskmanager/${resourceId}`;
  }

  async requestWorker(spec: WorkerSpec): Promise<void> {
    if (this.terminated) throw new SluiceError('DRIVER_TERMINATED', `cannot start worker '${spec.resourceId}': the local cluster driver is terminated`);
    if (this.workers.has(spec.resourceId)) throw new SluiceError('WORKER_EXISTS', `a local worker '${spec.resourceId}' is already running`);
    const worker = await this.options.taskManagerFactory({
      resourceId: spec.resourceId,
      numberOfSlots: spec.numberOfSlots,
      rpc: this.options.rpc,
      resourceManagerAddress: this.options.resourceManagerAddress,
      address: LocalClusterDriver.addressOf(spec.resourceId),
    });
    this.workers.set(spec.resourceId, worker);
    this.events?.onWorkerStarted(spec.resourceId);
    try {
      await worker.start();
    } catch (err) {
      this.workers.delete(spec.resourceId);
      await worker.stop().catch(() => undefined);
      this.events?.onWorkerTerminated(spec.resourceId, `failed to start: ${describeError(err)}`);
      throw new SluiceError('WORKER_START_FAILED', `local TaskManager '${spec.resourceId}' failed to start: ${describeError(err)}`, { cause: err });
    }
  }

  async releaseWorker(resourceId: string): Promise<void> {
    const worker = this.workers.get(resourceId);
    if (worker === undefined) return;
    this.workers.delete(resourceId);
    try {
      await worker.stop();
    } catch (err) {
      this.logger.warn('stopping a TaskManager failed', { resourceId, error: describeError(err) });
    }
    this.events?.onWorkerTerminated(resourceId, 'released');
  }

  /** Resource ids of the workers currently running. */
  workerIds(): string[] {
    return [...this.workers.keys()];
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    await Promise.all([...this.workers.keys()].map((id) => this.releaseWorker(id)));
  }
}
