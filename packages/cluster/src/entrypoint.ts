/**
 * The cluster entrypoint (what `sluice cluster start` runs): the Dispatcher, the ResourceManager
 * with the `process` ClusterDriver, the REST API and the bundle store, on one network RpcService
 * whose every connection the cluster secret authenticates. Each job gets its own JobMaster
 * process; TaskManager processes are started as the slots are needed (and `taskManagers` of them
 * are kept whatever the demand), released when idle, replaced when they fail.
 *
 * The cluster directory holds what the entrypoint keeps between runs: `secret` and `rest.token`
 * (made at first start, mode 0600), `artifacts/` (uploaded bundles by SHA-256), `jobs/` (the job store),
 * `bundles/` (the processes' fetched bundles) and `entrypoint.json` (where this entrypoint
 * listens, for `sluice cluster stop` and `sluice taskmanager`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError, createLogger, describeError, preparePrivateDirectory, writePrivateFile, type Logger } from '@sluice/common';
import { artifactGateway, ArtifactStore, createRestServer, Dispatcher, ResourceManager, type RestServer } from '@sluice/jobmanager';
import type { DispatcherGateway, ResourceManagerGateway } from '@sluice/protocol';
import { NetworkRpcService } from '@sluice/rpc';
import { JobStore } from './job-store.js';
import { processJobMasterRunner } from './jobmaster-process.js';
import { ProcessClusterDriver } from './process-cluster-driver.js';
import { TASKMANAGER_MAIN } from './taskmanager-process.js';

export interface ClusterEntrypointOptions {
  clusterDir: string;
  /** Interface the RPC service listens on (default 127.0.0.1); TaskManagers on other hosts need another. */
  bindHost?: string;
  /** Host name or IP other processes reach this one at (default: bindHost). */
  advertisedHost?: string;
  /** RPC port (default 6123; 0 = a free one). */
  rpcPort?: number;
  /** REST port (default 8081; 0 = a free one), served on `restHost` (default 127.0.0.1). */
  restPort?: number;
  restHost?: string;
  /** The REST bearer token (default: the cluster's, `rest.token` in the cluster directory, made at first start). */
  restToken?: string;
  /** TaskManagers kept running whatever the demand (default 1). */
  taskManagers?: number;
  slotsPerTaskManager?: number;
  /** At most this many TaskManagers (default unbounded). */
  maxTaskManagers?: number;
  /** TaskManagers beyond `taskManagers` idle this long are released (default 30 s). */
  idleTaskManagerTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** TLS on every connection of the cluster (RPC and data ports): this node's key and certificate and the CA they all trust. */
  tlsFiles?: { certFile: string; keyFile: string; caFile: string };
  /** Where the child processes' output lines go (default: this process's stderr, prefixed). */
  onLine?: (source: string, line: string) => void;
  logger?: Logger;
}

export interface ClusterEntrypoint {
  /** `sluice://host:port`: what `sluice taskmanager --cluster` takes. */
  readonly rpcAddress: string;
  readonly restUrl: string;
  readonly restToken: string;
  /** Set when this start made the cluster's REST token (its first start): where it is kept. */
  readonly restTokenCreated?: string;
  readonly secretFile: string;
  readonly driver: ProcessClusterDriver;
  readonly dispatcher: DispatcherGateway;
  readonly resourceManager: ResourceManagerGateway;
  /** Cancels running jobs, stops every process it started, stops serving. Idempotent. */
  close(): Promise<void>;
}

/** What `entrypoint.json` in the cluster directory says while the entrypoint runs. */
export interface EntrypointInfo {
  pid: number;
  rpcAddress: string;
  restUrl: string;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** The cluster secret in `clusterDir/secret`, made (32 random bytes, mode 0600) when missing. */
export function ensureClusterSecret(clusterDir: string): string {
  preparePrivateDirectory(clusterDir, 'the cluster directory', 'choose another with --cluster-dir DIR');
  const file = join(clusterDir, 'secret');
  if (!existsSync(file)) writePrivateFile(file, `${randomBytes(32).toString('base64url')}\n`, 'the cluster secret');
  return file;
}

/** The cluster's REST token in `clusterDir/rest.token`, made (32 random bytes) when missing. */
export function ensureClusterRestToken(clusterDir: string): { token: string; created?: string } {
  const file = join(clusterDir, 'rest.token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (!/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(token)) {
      throw new ConfigurationError(`the REST token in ${file} is not a valid token (32 to 512 characters of A-Z, a-z, 0-9 and -._~+/); remove the file to have a new one made`);
    }
    return { token };
  }
  const token = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${token}\n`, 'the REST token');
  return { token, created: file };
}

export function readEntrypointInfo(clusterDir: string): EntrypointInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(clusterDir, 'entrypoint.json'), 'utf8')) as EntrypointInfo;
  } catch {
    return undefined;
  }
}

export async function startClusterEntrypoint(options: ClusterEntrypointOptions): Promise<ClusterEntrypoint> {
  const logger = options.logger ?? createLogger();
  const { clusterDir } = options;
  const secretFile = ensureClusterSecret(clusterDir);
  const restToken = options.restToken === undefined ? ensureClusterRestToken(clusterDir) : { token: options.restToken };
  const running = readEntrypointInfo(clusterDir);
  if (running !== undefined && isProcessAlive(running.pid)) {
    throw new ConfigurationError(`a cluster entrypoint (pid ${running.pid}, ${running.rpcAddress}) already runs from ${clusterDir}; stop it with \`sluice cluster stop\` or choose another --cluster-dir`);
  }
  const bindHost = options.bindHost ?? '127.0.0.1';
  const rpc = new NetworkRpcService({
    bindHost,
    port: options.rpcPort ?? 6123,
    ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
    secretFile,
    ...(options.tlsFiles === undefined ? {} : { tls: { enabled: true, ...options.tlsFiles } }),
    // Calls leave through Outboxes with their own timeouts; requestJobResult is a long call.
    callTimeoutMs: 0,
    logger: logger.child('rpc'),
  });
  await rpc.start();
  const rpcAddress = rpc.addressOf('resourcemanager').replace(/\/resourcemanager$/, '');
  const heartbeat = {
    ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
  };
  const heartbeatArgs = [
    ...(options.heartbeatIntervalMs === undefined ? [] : ['--heartbeat-interval', String(options.heartbeatIntervalMs)]),
    ...(options.heartbeatTimeoutMs === undefined ? [] : ['--heartbeat-timeout', String(options.heartbeatTimeoutMs)]),
  ];
  const tls = options.tlsFiles;
  const hostArgs = [
    '--bind-host',
    bindHost,
    ...(options.advertisedHost === undefined ? [] : ['--advertised-host', options.advertisedHost]),
    ...(tls === undefined ? [] : ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-file', tls.caFile]),
  ];
  const onLine = options.onLine;

  const store = new ArtifactStore(join(clusterDir, 'artifacts'));
  rpc.register('artifacts', artifactGateway(store));
  const jobStore = new JobStore(join(clusterDir, 'jobs'));
  const slots = options.slotsPerTaskManager ?? 1;
  const driver = new ProcessClusterDriver({
    // TaskManagers take their heartbeat pace from the ResourceManager's registration answer.
    taskManagerArgs: (spec) => [
      TASKMANAGER_MAIN,
      '--cluster',
      rpcAddress,
      '--secret-file',
      secretFile,
      '--resource-id',
      spec.resourceId,
      '--slots',
      String(spec.numberOfSlots),
      '--cache-dir',
      join(clusterDir, 'bundles'),
      ...hostArgs,
    ],
    ...(onLine === undefined ? {} : { onLine: (id: string, line: string) => onLine(id, line) }),
    logger,
  });
  const rm = new ResourceManager({
    rpc,
    address: 'resourcemanager',
    driver,
    slotsPerWorker: slots,
    minWorkers: options.taskManagers ?? 1,
    ...(options.maxTaskManagers === undefined ? {} : { maxWorkers: options.maxTaskManagers }),
    idleWorkerTimeoutMs: options.idleTaskManagerTimeoutMs ?? 30_000,
    ...heartbeat,
    logger,
  });
  const dispatcher = new Dispatcher({
    rpc,
    address: 'dispatcher',
    resourceManagerAddress: 'resourcemanager',
    jobStore: jobStore.forDispatcher(),
    jobMasterRunnerFactory: processJobMasterRunner({
      args: [here('./jobmaster-main.js'), '--cluster-dir', clusterDir, '--secret-file', secretFile, '--artifacts', `${rpcAddress}/artifacts`, ...hostArgs, ...heartbeatArgs],
      resourceManagerAddress: `${rpcAddress}/resourcemanager`,
      ...(onLine === undefined ? {} : { onLine: (jobId: string, line: string) => onLine(`jobmaster ${jobId.slice(0, 8)}`, line) }),
      logger,
    }),
    logger,
  });
  rpc.onAddressLost((lost) => rm.peerConnectionClosed(lost));

  let rest: RestServer | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await rest?.close().catch((err: unknown) => logger.warn('closing the REST API failed', { error: describeError(err) }));
      await dispatcher.close();
      await driver.terminate();
      await rm.stop();
      await rpc.stop();
      if (readEntrypointInfo(clusterDir)?.pid === process.pid) rmSync(join(clusterDir, 'entrypoint.json'), { force: true });
    })());

  try {
    await rm.start();
    await dispatcher.start();
    const dispatcherGateway = await rpc.connect<DispatcherGateway>('dispatcher');
    const rmGateway = await rpc.connect<ResourceManagerGateway>('resourcemanager');
    rest = await createRestServer({
      dispatcher: dispatcherGateway,
      resourceManager: rmGateway,
      artifacts: store,
      port: options.restPort ?? 8081,
      host: options.restHost ?? '127.0.0.1',
      token: restToken.token,
      logger,
    });
    const info: EntrypointInfo = { pid: process.pid, rpcAddress, restUrl: rest.url };
    writePrivateFile(join(clusterDir, 'entrypoint.json'), `${JSON.stringify(info)}\n`, 'the entrypoint address');
    logger.info('cluster entrypoint running', { rpc: rpcAddress, rest: rest.url });
    return {
      rpcAddress,
      restUrl: rest.url,
      restToken: rest.token,
      ...(restToken.created === undefined ? {} : { restTokenCreated: restToken.created }),
      secretFile,
      driver,
      dispatcher: dispatcherGateway,
      resourceManager: rmGateway,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Whether a process with this id exists (ours or another user's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
