/**
 * The embedded cluster: a ResourceManager with a LocalClusterDriver, a Dispatcher and N
 * TaskManagers, all in this process and wired only through one LocalRpcService — the same
 * gateways a networked deployment uses. The caller supplies the TaskManager factory, which is
 * where the real (Piscina) or a testing TaskRunner is chosen.
 */
import { createLogger, randomId, SluiceError, type Logger } from '@sluice/common';
import type { JobMetricsSnapshot } from '@sluice/metrics';
import { LocalRpcService, resolveHeartbeatOptions, type DispatcherGateway, type JobResult, type JobStatus, type JobSubmission, type TaskManagerInfo, type ResourceManagerGateway } from '@sluice/protocol';
import { Dispatcher } from './dispatcher/dispatcher.js';
import type { SplitProvider } from './jobmaster/deployment.js';
import { LocalClusterDriver, type TaskManagerFactory } from './resourcemanager/local-cluster-driver.js';
import { ResourceManager } from './resourcemanager/resource-manager.js';

export interface LocalClusterOptions {
  /** TaskManagers started up front (default 1); more are started on demand. */
  taskManagers?: number;
  slotsPerTaskManager?: number;
  /** Upper bound on TaskManagers, including those started on demand (default unbounded). */
  maxTaskManagers?: number;
  taskManagerFactory: TaskManagerFactory;
  splitProvider?: SplitProvider;
  /** How long cancelled tasks may take before they are given up as lost (default 10 s). */
  cancelTimeoutMs?: number;
  /** How long a job waits for all its slots before it fails (default 5 min). */
  slotRequestTimeoutMs?: number;
  /**
   * Heartbeats between all components (TaskManagers take the ResourceManager's): how often, and
   * how long a silent peer counts as alive. Defaults 10 s and 50 s.
   */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  logger?: Logger;
}

export interface JobHandle {
  readonly jobId: string;
  result(): Promise<JobResult>;
  cancel(): Promise<void>;
  status(): Promise<JobStatus>;
}

export interface LocalCluster {
  readonly rpc: LocalRpcService;
  readonly dispatcher: DispatcherGateway;
  readonly resourceManagerAddress: string;
  submit(submission: JobSubmission): Promise<JobHandle>;
  taskManagers(): Promise<TaskManagerInfo[]>;
  /** Checkpoint statistics and restarts of the Dispatcher's jobs, for a job metrics registry. */
  jobMetricsSnapshot(): JobMetricsSnapshot[];
  /** Cancels running jobs, stops every TaskManager and component it started; leaves no timers. */
  close(): Promise<void>;
}

export const LOCAL_CLUSTER_ADDRESSES = Object.freeze({ resourceManager: 'resourcemanager', dispatcher: 'dispatcher' });

export async function createLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const taskManagers = options.taskManagers ?? 1;
  const slotsPerTaskManager = options.slotsPerTaskManager ?? 1;
  if (!Number.isInteger(taskManagers) || taskManagers < 0) throw new SluiceError('CONFIGURATION', `taskManagers must be a non-negative integer, got ${taskManagers}`);
  if (!Number.isInteger(slotsPerTaskManager) || slotsPerTaskManager < 1) throw new SluiceError('CONFIGURATION', `slotsPerTaskManager must be a positive integer, got ${slotsPerTaskManager}`);
  const logger = options.logger ?? createLogger();
  const heartbeat = resolveHeartbeatOptions(options, 'local cluster');
  const rpc = new LocalRpcService();
  const { resourceManager: rmAddress, dispatcher: dispatcherAddress } = LOCAL_CLUSTER_ADDRESSES;

  const driver = new LocalClusterDriver({ rpc, resourceManagerAddress: rmAddress, taskManagerFactory: options.taskManagerFactory, logger });
  const rm = new ResourceManager({
    rpc,
    address: rmAddress,
    driver,
    slotsPerWorker: slotsPerTaskManager,
    ...(options.maxTaskManagers === undefined ? {} : { maxWorkers: options.maxTaskManagers }),
    ...heartbeat,
    logger,
  });
  const dispatcher = new Dispatcher({
    rpc,
    address: dispatcherAddress,
    resourceManagerAddress: rmAddress,
    ...(options.splitProvider === undefined ? {} : { splitProvider: options.splitProvider }),
    jobMaster: {
      ...heartbeat,
      ...(options.cancelTimeoutMs === undefined ? {} : { cancelTimeoutMs: options.cancelTimeoutMs }),
      ...(options.slotRequestTimeoutMs === undefined ? {} : { slotRequestTimeoutMs: options.slotRequestTimeoutMs }),
    },
    logger,
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await dispatcher.close();
    await driver.terminate();
    await rm.stop();
  };

  try {
    await rm.start();
    await dispatcher.start();
    const prefix = randomId(3);
    await Promise.all(Array.from({ length: taskManagers }, (_, i) => driver.requestWorker({ resourceId: `taskmanager-${prefix}-${i}`, numberOfSlots: slotsPerTaskManager })));
  } catch (err) {
    await close();
    throw err;
  }

  const gateway = await rpc.connect<DispatcherGateway>(dispatcherAddress);
  return {
    rpc,
    dispatcher: gateway,
    resourceManagerAddress: rmAddress,
    async submit(submission) {
      const { jobId } = await gateway.submitJob(submission);
      return {
        jobId,
        result: () => gateway.requestJobResult(jobId),
        cancel: () => gateway.cancelJob(jobId),
        status: () => gateway.requestJobStatus(jobId),
      };
    },
    async taskManagers() {
      const rmGateway = await rpc.connect<ResourceManagerGateway>(rmAddress);
      return rmGateway.requestTaskManagerInfo();
    },
    jobMetricsSnapshot: () => dispatcher.metricsSnapshot(),
    close,
  };
}
