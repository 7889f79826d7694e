/**
 * A TaskManager as a process of its own: the network RPC (its TaskExecutorGateway, calls to the
 * ResourceManager and JobMasters), the data port (the shuffle's TCP exchange, authenticated with
 * the cluster secret, under TLS when the RPC has it), subtasks on a Piscina pool, /metrics, and
 * job bundles fetched from the entrypoint. Started by the `process` ClusterDriver
 * (taskmanager-main.ts) or by hand on another host (`sluice taskmanager`).
 */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, describeError, randomId, SluiceError, type Logger } from '@sluice/common';
import { createMetricsRegistry, createMetricsServer, type MetricsServer } from '@sluice/metrics';
import type { DataAddress } from '@sluice/protocol';
import { createAuthenticatedDataTransport, formatAddress, NetworkRpcService, parsePeer, type RpcTlsOptions } from '@sluice/rpc';
import { NetworkShuffleService, PiscinaTaskRunner, TaskManager } from '@sluice/runtime';
import { createHighAvailabilityServices, zooKeeperOptionsOf, type LeaderInfo, type ZooKeeperFlags } from '@sluice/ha';
import { exitWithParent } from './child.js';
import { bundleResolver } from './taskmanager-artifacts.js';

/** The TaskManager process's script: `ProcessClusterDriver`'s `taskManagerArgs` start with it. */
export const TASKMANAGER_MAIN = fileURLToPath(new URL('./taskmanager-main.js', import.meta.url));

export interface TaskManagerProcessOptions {
  /** The entrypoint's RPC address, `sluice://HOST:PORT` (an endpoint after it is ignored); or `ha`. */
  cluster?: string;
  /** Finds the leading entrypoint in ZooKeeper, and follows it when another one takes over. */
  ha?: ZooKeeperFlags;
  /** The cluster secret's file, or (tests) the secret itself. */
  secretFile?: string;
  secret?: string;
  /** Default 1. */
  slots?: number;
  /** Default `taskmanager-<host name>-<random>`. */
  resourceId?: string;
  /** Interface of the RPC and data ports; default 127.0.0.1. */
  bindHost?: string;
  advertisedHost?: string;
  rpcPort?: number;
  dataPort?: number;
  /** The data port other TaskManagers dial, behind a port mapping (default: the bound one). */
  dataAdvertisedPort?: number;
  /** Port of /metrics; default 0 (a free one). */
  metricsPort?: number;
  /** Interface of /metrics; default 127.0.0.1. */
  metricsHost?: string;
  /** Where fetched bundles are kept; default `<tmpdir>/sluice-artifacts`. */
  cacheDir?: string;
  /** Worker threads; default slots × 8. */
  workerThreads?: number;
  /** Young generation of each worker thread in MB; default 12 (DEFAULT_WORKER_YOUNG_GENERATION_MB). */
  workerYoungGenerationMb?: number;
  tls?: RpcTlsOptions;
  logger?: Logger;
}

export interface TaskManagerProcess {
  readonly resourceId: string;
  readonly slots: number;
  /** Where its TaskExecutorGateway is served. */
  readonly rpcAddress: string;
  readonly dataAddress: DataAddress;
  readonly metricsUrl: string;
  readonly taskManager: TaskManager;
  /** Cancels its subtasks, tells its JobMasters and the ResourceManager, closes every port. */
  stop(reason?: string): Promise<void>;
}

/** Starts everything and registers at the ResourceManager (retrying while it is unreachable). */
export async function runTaskManagerProcess(options: TaskManagerProcessOptions): Promise<TaskManagerProcess> {
  const slots = options.slots ?? 1;
  const resourceId = options.resourceId ?? `taskmanager-${hostname().split('.')[0] ?? 'host'}-${randomId(4)}`;
  const logger = options.logger ?? createLogger();
  const rpc = new NetworkRpcService({
    bindHost: options.bindHost ?? '127.0.0.1',
    port: options.rpcPort ?? 0,
    ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
    ...(options.secretFile === undefined ? {} : { secretFile: options.secretFile }),
    ...(options.secret === undefined ? {} : { secret: options.secret }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    logger: logger.child('rpc'),
  });
  const closers: (() => Promise<unknown>)[] = [() => rpc.stop()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch((err: unknown) => logger.warn('closing failed', { error: describeError(err) }));
  };
  try {
    const leader = await findCluster(options, closers, logger, (l) => void tm?.resourceManagerMoved(`${l.address}/resourcemanager`));
    const cluster = parsePeer(leader.current());
    await rpc.start();
    const transport = createAuthenticatedDataTransport({
      rpc: rpc.options,
      ...(options.dataPort === undefined ? {} : { port: options.dataPort }),
      ...(options.dataAdvertisedPort === undefined ? {} : { advertisedPort: options.dataAdvertisedPort }),
    });
    const shuffle = await NetworkShuffleService.start({ resourceId, transport, logger: logger.child('data') });
    closers.push(() => shuffle.close());
    const runner = new PiscinaTaskRunner({
      shuffle,
      maxThreads: options.workerThreads ?? Math.max(slots * 8, 8),
      logger,
      ...(options.workerYoungGenerationMb === undefined ? {} : { youngGenerationMb: options.workerYoungGenerationMb }),
    });
    let tm: TaskManager | undefined;
    const registry = createMetricsRegistry({ source: { snapshot: () => tm!.metricsSnapshot() }, defaultLabels: { taskmanager: resourceId }, logger });
    const metrics: MetricsServer = await createMetricsServer({ port: options.metricsPort ?? 0, host: options.metricsHost ?? '127.0.0.1', registry });
    closers.push(() => metrics.close());
    const resolveArtifact = await bundleResolver({
      rpc,
      artifactsAddress: () => `${leader.current()}/artifacts`,
      cacheDir: options.cacheDir ?? join(tmpdir(), 'sluice-artifacts'),
    });
    const taskManager = new TaskManager({
      resourceId,
      numberOfSlots: slots,
      rpc,
      address: rpc.addressOf('taskmanager'),
      resourceManagerAddress: formatAddress(cluster.host, cluster.port, 'resourcemanager'),
      taskRunner: runner,
      metricsUrl: metrics.url,
      dataLocation: shuffle.location,
      resolveArtifact,
      onJobReleased: (jobId) => shuffle.releaseJob(jobId),
      logger,
    });
    tm = taskManager;
    // A closed connection to the ResourceManager or a JobMaster counts as that peer lost at once.
    rpc.onAddressLost((address) => taskManager.peerConnectionClosed(address));
    let stopReason = 'TaskManager process stopping';
    closers.push(() => taskManager.stop(stopReason));
    await taskManager.start();
    const dataAddress = shuffle.location.dataAddress!;
    let stopping: Promise<void> | undefined;
    return {
      resourceId,
      slots,
      rpcAddress: taskManager.address,
      dataAddress,
      metricsUrl: metrics.url,
      taskManager,
      stop: (reason) => {
        if (reason !== undefined) stopReason = reason;
        return (stopping ??= closeAll());
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Where the cluster is: `--cluster`, or the leader published in the HA store (waiting for one
 * to be elected), whose every later change `onMove` hears of.
 */
async function findCluster(
  options: TaskManagerProcessOptions,
  closers: (() => Promise<unknown>)[],
  logger: Logger,
  onMove: (leader: LeaderInfo) => void,
): Promise<{ current(): string }> {
  if (options.ha === undefined) {
    if (options.cluster === undefined) throw new SluiceError('CONFIGURATION', 'a TaskManager needs the cluster address (cluster) or the HA store to find it in (ha)');
    const { host, port } = parsePeer(options.cluster);
    const address = formatAddress(host, port, '').replace(/\/$/, '');
    return { current: () => address };
  }
  const ha = await createHighAvailabilityServices(zooKeeperOptionsOf(options.ha), logger);
  closers.push(() => ha.close());
  const retrieval = ha.leaderRetrieval('dispatcher');
  closers.push(() => retrieval.stop());
  let current: LeaderInfo | undefined;
  let found!: () => void;
  const first = new Promise<void>((resolve) => (found = resolve));
  await retrieval.start((leader) => {
    if (leader === undefined) return;
    const moved = current !== undefined && current.address !== leader.address;
    current = leader;
    found();
    if (moved) {
      logger.warn(`the cluster's leader moved to ${leader.address}; registering there`);
      onMove(leader);
    }
  });
  if (current === undefined) logger.info(`waiting for a leading entrypoint in ${ha.description}`);
  await first;
  return { current: () => current!.address };
}

export interface TaskManagerMainIo {
  /** Where the one-line announcement goes (stdout). */
  out(line: string): void;
  logger?: Logger;
}

/**
 * What `taskmanager-main.js` and `sluice taskmanager` run: start, say so (a line on stdout and,
 * under a parent process, an IPC message `{type: 'registered', resourceId}`), run until SIGTERM
 * or SIGINT (an orderly stop; a second signal exits at once) or until the parent is gone.
 * Resolves with the exit code.
 */
export async function runTaskManagerUntilStopped(options: TaskManagerProcessOptions, io: TaskManagerMainIo): Promise<number> {
  const logger = io.logger ?? options.logger ?? createLogger();
  let stopRequested: ((reason: string) => void) | undefined;
  const requested = new Promise<string>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      logger.warn(`${signal} again: exiting without waiting for the orderly stop`);
      process.exit(1);
    }
    logger.warn(`${signal}: stopping the TaskManager (cancelling its subtasks); send it again to exit at once`);
    stopRequested?.(`the TaskManager process received ${signal}`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  // Orphaned, it still stops in order (within exitWithParent's grace period) before exiting.
  exitWithParent(async () => {
    stopRequested?.('the process that started it is gone');
    await done;
  }, logger);
  let tm: TaskManagerProcess;
  try {
    tm = await Promise.race([runTaskManagerProcess({ ...options, logger }), requested.then(() => undefined)]).then((r) => {
      if (r === undefined) throw new Error('stopped before it registered');
      return r;
    });
  } catch (err) {
    io.out(`TaskManager failed to start: ${describeError(err)}`);
    finished();
    return 1;
  }
  io.out(`TaskManager ${tm.resourceId} registered at ${options.cluster ?? 'the leading entrypoint'}: ${tm.slots} slot(s), rpc ${tm.rpcAddress}, data ${tm.dataAddress.host}:${tm.dataAddress.port}, metrics ${tm.metricsUrl}`);
  if (process.send !== undefined && process.connected) process.send({ type: 'registered', resourceId: tm.resourceId, rpcAddress: tm.rpcAddress, dataAddress: tm.dataAddress, metricsUrl: tm.metricsUrl });
  const reason = await requested;
  await tm.stop(reason);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  finished();
  return 0;
}
