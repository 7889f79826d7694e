/**
 * The `process` ClusterDriver: each worker is a TaskManager process on this machine, started when
 * the ResourceManager asks and stopped (SIGTERM, then SIGKILL after a grace period) when it
 * releases the worker. An exit the ResourceManager did not ask for is reported with its cause
 * (exit code or signal and the process's last line of output), so the ResourceManager can fail
 * the worker's tasks over and start a replacement. The TaskManagers end themselves when this
 * process goes away (child.ts), so a killed entrypoint leaves none behind.
 */
import { createLogger, SluiceError, type Logger } from '@sluice/common';
import type { ClusterDriver, ClusterDriverEvents, WorkerSpec } from '@sluice/jobmanager';
import { SupervisedChild, type ChildExit } from './child.js';

export interface ProcessClusterDriverOptions {
  /** The TaskManager process's arguments after the Node executable (script first) for a worker. */
  taskManagerArgs(spec: WorkerSpec): string[];
  env?: NodeJS.ProcessEnv;
  /** How long a released TaskManager gets to stop before SIGKILL (default 15 s). */
  stopGraceMs?: number;
  /** Where the TaskManagers' output lines go; default this process's stderr with the worker's name. */
  onLine?: (resourceId: string, line: string) => void;
  logger?: Logger;
}

interface Worker {
  child: SupervisedChild;
  released: boolean;
}

export class ProcessClusterDriver implements ClusterDriver {
  private readonly workers = new Map<string, Worker>();
  private events: ClusterDriverEvents | undefined;
  private terminated = false;
  private readonly logger: Logger;

  constructor(private readonly options: ProcessClusterDriverOptions) {
    this.logger = (options.logger ?? createLogger()).child('process-driver');
  }

  async initialize(events: ClusterDriverEvents): Promise<void> {
    this.events = events;
  }

  async requestWorker(spec: WorkerSpec): Promise<void> {
    if (this.terminated) throw new SluiceError('DRIVER_TERMINATED', `cannot start worker '${spec.resourceId}': the process driver is terminated`);
    if (this.workers.has(spec.resourceId)) throw new SluiceError('WORKER_EXISTS', `a TaskManager process '${spec.resourceId}' is already running`);
    const onLine = this.options.onLine;
    const child = new SupervisedChild({
      name: spec.resourceId,
      args: this.options.taskManagerArgs(spec),
      ...(this.options.env === undefined ? {} : { env: this.options.env }),
      ...(onLine === undefined ? {} : { onLine: (line: string) => onLine(spec.resourceId, line) }),
    });
    const worker: Worker = { child, released: false };
    this.workers.set(spec.resourceId, worker);
    void child.exited.then((exit) => this.exited(spec.resourceId, worker, exit));
    await new Promise<void>((resolve, reject) => {
      child.process.once('spawn', resolve);
      child.process.once('error', (err) => reject(new SluiceError('WORKER_START_FAILED', `TaskManager process '${spec.resourceId}' could not be started: ${err.message}`, { cause: err })));
    });
    this.logger.info('started TaskManager process', { resourceId: spec.resourceId, pid: child.pid ?? -1 });
    this.events?.onWorkerStarted(spec.resourceId);
  }

  async releaseWorker(resourceId: string): Promise<void> {
    const worker = this.workers.get(resourceId);
    if (worker === undefined) return;
    worker.released = true;
    await worker.child.stop(this.options.stopGraceMs ?? 15_000);
  }

  /** Resource ids and process ids of the TaskManagers running now. */
  processes(): { resourceId: string; pid: number | undefined }[] {
    return [...this.workers].map(([resourceId, w]) => ({ resourceId, pid: w.child.pid }));
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    await Promise.all([...this.workers.keys()].map((id) => this.releaseWorker(id)));
  }

  private exited(resourceId: string, worker: Worker, exit: ChildExit): void {
    if (this.workers.get(resourceId) === worker) this.workers.delete(resourceId);
    if (worker.released) {
      this.events?.onWorkerTerminated(resourceId, 'released');
      return;
    }
    this.logger.warn(`TaskManager process ${resourceId} ${exit.cause}`, { resourceId });
    this.events?.onWorkerTerminated(resourceId, `TaskManager process ${exit.cause}`);
  }
}
