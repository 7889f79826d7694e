/**
 * The cluster entrypoint (what `sluice cluster start` runs): the REST API and the bundle store on
 * one network RpcService whose every connection the cluster secret authenticates, and — while it
 * leads — the Dispatcher and the ResourceManager with the `process` ClusterDriver (leader-term.ts).
 * Each job gets its own JobMaster process; TaskManager processes are started as the slots are
 * needed (and `taskManagers` of them are kept whatever the demand), released when idle, replaced
 * when they fail.
 *
 * Without high availability the entrypoint leads at once and alone, and its HA store is the
 * cluster directory. With ZooKeeper, two or three entrypoints of one cluster id elect a leader;
 * the others stand by, serve the REST API by forwarding to the leader, and take over — recovering
 * every job from its latest checkpoint — when the leader's ZooKeeper session is lost.
 *
 * The cluster directory holds what the entrypoint keeps between runs: `secret` and `rest.token`
 * (made at first start, mode 0600; with HA in the shared storage directory instead, with
 * `artifacts/`), `artifacts/` (uploaded bundles by SHA-256), `jobs/` (the job store without HA),
 * `bundles/` (the processes' fetched bundles) and `entrypoint.json` (where this entrypoint
 * listens, for `sluice cluster stop` and `sluice taskmanager`).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, createLogger, describeError, preparePrivateDirectory, writePrivateFile, type Logger } from '@sluice/common';
import { createHighAvailabilityServices, type HighAvailabilityOptions, type HighAvailabilityServices, type LeaderInfo, type LeaderToken } from '@sluice/ha';
import { artifactGateway, ArtifactStore, createRestServer, type JobDefaults, type RestServer } from '@sluice/jobmanager';
import type { DispatcherGateway, ResourceManagerGateway } from '@sluice/protocol';
import { createEntrypointMetricsRegistry } from '@sluice/metrics';
import { NetworkRpcService } from '@sluice/rpc';
import { ensureClusterRestToken, ensureClusterSecret, isProcessAlive, readEntrypointInfo, type EntrypointInfo } from './cluster-files.js';
import { leaderGateway } from './leader-gateways.js';
import { startLeaderTerm, type ClusterDriverFactory, type LeaderTerm, type LeaderTermOptions, type TermClusterDriver } from './leader-term.js';

/** High availability with ZooKeeper: the store's options and a directory every entrypoint shares. */
export type ClusterHighAvailability = Extract<HighAvailabilityOptions, { mode: 'zookeeper' }> & {
  /**
   * A directory all entrypoints of the cluster reach (a shared file system): under
   * `<storageDir>/<clusterId>/` the cluster secret, the REST token and the uploaded bundles.
   */
  storageDir: string;
};

export interface ClusterEntrypointOptions {
  clusterDir: string;
  /** Standby entrypoints with ZooKeeper; without, this entrypoint leads alone (the store is the cluster directory). */
  highAvailability?: ClusterHighAvailability;
  /** Interface the RPC service listens on (default 127.0.0.1); TaskManagers on other hosts need another. */
  bindHost?: string;
  /** Host name or IP other processes reach this one at (default: bindHost). */
  advertisedHost?: string;
  /** RPC port (default 6123; 0 = a free one). */
  rpcPort?: number;
  /** REST port (default 8081; 0 = a free one), served on `restHost` (default 127.0.0.1). */
  restPort?: number;
  restHost?: string;
  /** Host names the REST API answers besides its own addresses (see RestServerOptions.allowedHosts). */
  restAllowedHosts?: readonly string[];
  /** The REST bearer token (default: the cluster's, `rest.token` in the cluster directory, made at first start). */
  restToken?: string;
  /**
   * Defaults for every job submitted here, served at GET /config; `sluice submit` applies them
   * under its own flags. Each entrypoint serves its own: give HA entrypoints the same.
   */
  jobDefaults?: JobDefaults;
  /** TaskManagers kept running whatever the demand (default 1). */
  taskManagers?: number;
  slotsPerTaskManager?: number;
  /** At most this many TaskManagers (default unbounded). */
  maxTaskManagers?: number;
  /** TaskManagers beyond `taskManagers` idle this long are released (default 30 s). */
  idleTaskManagerTimeoutMs?: number;
  /** Makes each leadership term's ClusterDriver (default: TaskManager processes on this host). */
  clusterDriver?: ClusterDriverFactory;
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
  /** The leader's Dispatcher and ResourceManager, wherever it runs (NO_LEADER during an election). */
  readonly dispatcher: DispatcherGateway;
  readonly resourceManager: ResourceManagerGateway;
  readonly ha: HighAvailabilityServices;
  /** The term this entrypoint leads in, or undefined while it stands by. */
  readonly leadership: { token: LeaderToken; driver: TermClusterDriver } | undefined;
  /** The leader as published in the store (this entrypoint or another). */
  readonly leader: LeaderInfo | undefined;
  /**
   * Stops serving and every process it started. Without HA it cancels running jobs first; with
   * HA it leaves them in the store for a standby (or the next start) to resume. Idempotent.
   */
  close(): Promise<void>;
}

export { ensureClusterRestToken, ensureClusterSecret, isProcessAlive, readEntrypointInfo, type EntrypointInfo };

export async function startClusterEntrypoint(options: ClusterEntrypointOptions): Promise<ClusterEntrypoint> {
  const logger = options.logger ?? createLogger();
  const { clusterDir } = options;
  const zk = options.highAvailability;
  // Without HA the cluster directory is the store; with it the local one keeps only this entrypoint's files.
  preparePrivateDirectory(clusterDir, 'the cluster directory', 'choose another with --cluster-dir DIR');
  const haOptions: HighAvailabilityOptions = zk === undefined ? { mode: 'none', directory: clusterDir } : withoutStorageDir(zk);
  const sharedDir = zk === undefined ? clusterDir : join(zk.storageDir, zk.clusterId ?? 'default');
  const secretFile = ensureClusterSecret(sharedDir, zk === undefined ? undefined : 'choose another shared directory with --ha-storage-dir DIR');
  const restToken = options.restToken === undefined ? ensureClusterRestToken(sharedDir) : { token: options.restToken };
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
  const tls = options.tlsFiles;
  const termOptions = (ha: HighAvailabilityServices, rpcAddress: string): LeaderTermOptions => ({
    rpc,
    rpcAddress,
    ha,
    haOptions,
    clusterDir,
    secretFile,
    hostArgs: [
      '--bind-host',
      bindHost,
      ...(options.advertisedHost === undefined ? [] : ['--advertised-host', options.advertisedHost]),
      ...(tls === undefined ? [] : ['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-file', tls.caFile]),
    ],
    heartbeatArgs: [
      ...(options.heartbeatIntervalMs === undefined ? [] : ['--heartbeat-interval', String(options.heartbeatIntervalMs)]),
      ...(options.heartbeatTimeoutMs === undefined ? [] : ['--heartbeat-timeout', String(options.heartbeatTimeoutMs)]),
    ],
    heartbeat: {
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    },
    taskManagers: options.taskManagers ?? 1,
    slotsPerTaskManager: options.slotsPerTaskManager ?? 1,
    ...(options.maxTaskManagers === undefined ? {} : { maxTaskManagers: options.maxTaskManagers }),
    idleTaskManagerTimeoutMs: options.idleTaskManagerTimeoutMs ?? 30_000,
    ...(options.clusterDriver === undefined ? {} : { clusterDriver: options.clusterDriver }),
    ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
    logger,
  });

  let ha: HighAvailabilityServices | undefined;
  let rest: RestServer | undefined;
  let leadership: Leadership | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await rest?.close().catch((err: unknown) => logger.warn('closing the REST API failed', { error: describeError(err) }));
      await leadership?.close(zk === undefined);
      await ha?.close().catch((err: unknown) => logger.warn('closing the HA store failed', { error: describeError(err) }));
      await rpc.stop();
      if (readEntrypointInfo(clusterDir)?.pid === process.pid) rmSync(join(clusterDir, 'entrypoint.json'), { force: true });
    })());

  try {
    await rpc.start();
    const rpcAddress = rpc.addressOf('resourcemanager').replace(/\/resourcemanager$/, '');
    ha = await createHighAvailabilityServices(haOptions, logger);
    // Suspended restarts nothing (the session may live on); only a lost session ends a term.
    ha.onConnectionState((state) => (state === 'connected' ? logger.info('HA store connected', { ha: ha!.description }) : logger.warn(`HA store connection ${state}`, { ha: ha!.description })));
    const store = new ArtifactStore(join(sharedDir, 'artifacts'));
    rpc.register('artifacts', artifactGateway(store));
    const l = new Leadership(ha, termOptions(ha, rpcAddress), logger);
    leadership = l;
    const dispatcher = leaderGateway<DispatcherGateway>(rpc, rpcAddress, 'dispatcher', () => l.leader);
    const resourceManager = leaderGateway<ResourceManagerGateway>(rpc, rpcAddress, 'resourcemanager', () => l.leader);
    const r = await createRestServer({
      dispatcher,
      resourceManager,
      artifacts: store,
      port: options.restPort ?? 8081,
      host: options.restHost ?? '127.0.0.1',
      ...(options.restAllowedHosts === undefined ? {} : { allowedHosts: options.restAllowedHosts }),
      token: restToken.token,
      ...(options.jobDefaults === undefined ? {} : { jobDefaults: options.jobDefaults }),
      metrics: createEntrypointMetricsRegistry({
        jobs: { snapshot: () => l.term?.dispatcher.metricsSnapshot() ?? [] },
        leading: () => l.term !== undefined,
        refresh: async () => l.term?.dispatcher.requestJobMetrics(),
      }),
      logger,
    });
    rest = r;
    await l.start(r.url);
    // Alone, it leads at once: callers may use it as soon as this resolves.
    if (zk === undefined) await l.leading();
    const info: EntrypointInfo = { pid: process.pid, rpcAddress, restUrl: r.url };
    writePrivateFile(join(clusterDir, 'entrypoint.json'), `${JSON.stringify(info)}\n`, 'the entrypoint address');
    logger.info(zk === undefined ? 'cluster entrypoint running' : 'cluster entrypoint running; leader election joined', { rpc: rpcAddress, rest: r.url, ha: ha.description });
    const services = ha;
    return {
      rpcAddress,
      restUrl: r.url,
      restToken: r.token,
      ...(restToken.created === undefined ? {} : { restTokenCreated: restToken.created }),
      secretFile,
      dispatcher,
      resourceManager,
      ha: services,
      get leadership() {
        const term = l.term;
        return term === undefined ? undefined : { token: term.token, driver: term.driver };
      },
      get leader() {
        return l.leader;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function withoutStorageDir(zk: ClusterHighAvailability): HighAvailabilityOptions {
  const { storageDir: _storageDir, ...store } = zk;
  return store;
}

/**
 * The entrypoint's part in the election: a leadership term started on every grant and stopped
 * on its revocation, one change at a time, and the leader as published in the store.
 */
class Leadership {
  term: LeaderTerm | undefined;
  leader: LeaderInfo | undefined;
  private election;
  private readonly retrieval;
  private rejoinTimer: NodeJS.Timeout | undefined;
  private changes: Promise<void> = Promise.resolve();
  private closed = false;
  private restUrl = '';
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly ha: HighAvailabilityServices,
    private readonly termOptions: LeaderTermOptions,
    private readonly logger: Logger,
  ) {
    this.election = ha.leaderElection('dispatcher');
    this.retrieval = ha.leaderRetrieval('dispatcher');
  }

  async start(restUrl: string): Promise<void> {
    this.restUrl = restUrl;
    await this.retrieval.start((leader) => {
      this.leader = leader;
      this.logger.info(leader === undefined ? 'no leader known (election in progress)' : `the cluster's leader is ${leader.address}`, leader === undefined ? {} : { token: leader.token });
    });
    await this.join();
  }

  private join(): Promise<void> {
    return this.election.start({
      grantLeadership: (token) => this.enqueue(() => this.grant(token)),
      revokeLeadership: (token, reason) => this.enqueue(() => this.revoke(token, reason)),
    });
  }

  /** A term that could not start: leave the election (another entrypoint may lead) and join again later. */
  private async rejoin(reason: string): Promise<void> {
    this.logger.error(`giving leadership up: ${reason}; joining the election again in 5 s`);
    await this.election.stop().catch(() => undefined);
    this.election = this.ha.leaderElection('dispatcher');
    this.rejoinTimer = setTimeout(() => {
      if (!this.closed) void this.join().catch((err: unknown) => this.logger.error(`joining the leader election failed: ${describeError(err)}`));
    }, 5_000);
  }

  /** Resolves once a term runs here. */
  leading(): Promise<void> {
    return this.term !== undefined ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(cancelJobs: boolean): Promise<void> {
    clearTimeout(this.rejoinTimer);
    this.enqueue(async () => {
      this.closed = true;
      await this.term?.stop({ cancelJobs, reason: 'the entrypoint is stopping' });
      this.term = undefined;
    });
    await this.changes;
    await this.election.stop().catch((err: unknown) => this.logger.warn('leaving the leader election failed', { error: describeError(err) }));
    await this.retrieval.stop().catch(() => undefined);
  }

  private enqueue(change: () => Promise<void>): void {
    this.changes = this.changes.then(change).catch((err: unknown) => this.logger.error(`a leadership change failed: ${describeError(err)}`));
  }

  private async grant(token: LeaderToken): Promise<void> {
    if (this.closed) return;
    this.logger.info('this entrypoint leads the cluster now', { token });
    const o = this.termOptions;
    const publish = async (): Promise<void> => {
      const info: LeaderInfo = { token, address: o.rpcAddress, restUrl: this.restUrl };
      await this.election.confirmLeadership(info);
      // Known here before the store's watchers tell the retrieval.
      this.leader = info;
    };
    try {
      this.term = await startLeaderTerm(o, token, publish);
    } catch (err) {
      if (this.leader?.token === token) this.leader = undefined;
      await this.rejoin(`the leadership term ${token} could not start: ${describeError(err)}`);
      return;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private async revoke(token: LeaderToken, reason: string): Promise<void> {
    const term = this.term;
    if (term === undefined || term.token !== token) return;
    this.logger.warn(`this entrypoint no longer leads the cluster: ${reason}; its jobs stay in the store for the next leader`, { token });
    this.term = undefined;
    if (this.leader?.token === token) this.leader = undefined;
    await term.stop({ cancelJobs: false, reason });
  }
}
