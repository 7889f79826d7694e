/**
 * What `sluice mesos-session` adds to a cluster entrypoint: for every leadership term a `mesos`
 * ClusterDriver (a connection to the Mesos master and the driver over the term's HA store and
 * token), and, for the life of the process, the scheduler's HTTP server (`/metrics`, Prometheus
 * `/http_sd`, `/healthz`) answering for whichever term's driver is current.
 *
 * Stopping: a term that ends without cancelling its jobs (HA hand-over, lost leadership) leaves
 * the TaskManagers running for the next leader (`suspend`); an intentional stop of a cluster
 * without HA kills them and removes the framework from Mesos (`terminate`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ConfigurationError, readSecretFile, type Logger } from '@sluice/common';
import type { ClusterDriverFactory, TermClusterDriver } from '@sluice/cluster';
import { isLoopback, isWildcard } from '@sluice/jobmanager/rest-security';
import { EXECUTOR_MAIN } from '@sluice/mesos-executor';
import {
  createMasterConnection,
  createSchedulerHttpServer,
  matchOffers,
  MesosClusterDriver,
  MesosDriverMetrics,
  TASKMANAGER_PORTS,
  type ExecutorLaunchSpec,
  type SchedulerHttpServer,
  type WorkerProfile,
} from '@sluice/mesos-scheduler';
import type { MesosFlags } from './mesos-args.js';

export interface MesosRuntime {
  readonly clusterDriver: ClusterDriverFactory;
  /** The scheduler's HTTP server, e.g. `http://127.0.0.1:9250`. */
  readonly schedulerUrl: string;
  /**
   * The cluster's REST token, once the entrypoint has it: bound beyond loopback, the scheduler's
   * /metrics and /http_sd want it as a bearer token (and answer 503 until it is set).
   */
  setHttpToken(token: string): void;
  close(): Promise<void>;
}

export interface MesosRuntimeContext {
  cwd: string;
  /** With HA the TaskManagers find the leader through ZooKeeper: these `--ha-*` flags (names without dashes). */
  haFlags?: Readonly<Record<string, string>>;
  /** The host agents reach this process at (the entrypoint's advertised or bind host), for artifact URIs. */
  advertisedHost: string;
  logger: Logger;
}

/** Reads a whole file that must hold a non-empty secret; names the flag when it cannot. */
/** The package under a name that changes with its content, so an agent's fetcher cache never serves a stale one. */
function packageArtifact(file: string): { name: string; file: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigurationError(`--sluice-package ${file} cannot be read (${(err as Error).message}); make it with 'npm run package'`);
  }
  if (!/\.(tar\.gz|tgz)$/.test(file)) throw new ConfigurationError(`--sluice-package ${file} is not a .tar.gz archive; make one with 'npm run package'`);
  return { name: `sluice-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.tar.gz`, file };
}

/** The host in the artifact URI: the scheduler's HTTP interface, or the advertised host when it listens on every interface. */
function uriHost(bindHost: string | undefined, advertisedHost: string): string {
  const host = bindHost === undefined ? '127.0.0.1' : isWildcard(bindHost) ? advertisedHost : bindHost;
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** Where a `--sluice-package` archive unpacks in the sandbox, and the executor in it. */
export const PACKAGED_EXECUTOR = 'sluice/packages/mesos-executor/dist/executor-main.js';

/**
 * The executor's command: the flag's, the image's (on its PATH), the served package's (run by
 * the agent's `node`, from the sandbox the fetcher unpacked it in), or this installation's.
 */
export function executorSpec(flags: MesosFlags, packageUri?: string): ExecutorLaunchSpec {
  const command =
    flags.executorCommand ??
    // `exec`: the executor replaces the shell Mesos starts the command with, so it is the process the agent signals.
    (flags.containerImage !== undefined
      ? 'exec sluice-mesos-executor'
      : packageUri !== undefined
        ? `exec node ${PACKAGED_EXECUTOR}`
        : `exec ${shellQuote(process.execPath)} ${shellQuote(EXECUTOR_MAIN)}`);
  const uris = [...(packageUri === undefined ? [] : [packageUri]), ...flags.executorUris];
  return {
    command,
    ...(uris.length === 0 ? {} : { uris: uris.map((value) => ({ value })) }),
    ...(flags.containerImage === undefined
      ? {}
      : { container: { type: flags.containerizer === 'docker' ? 'DOCKER' : 'MESOS', image: flags.containerImage, ...(flags.volumes.length === 0 ? {} : { volumes: flags.volumes }) } }),
  };
}

export function workerProfile(flags: MesosFlags): WorkerProfile {
  return { name: 'taskmanager', ...flags.taskManager, ports: TASKMANAGER_PORTS, executor: flags.executor };
}

export async function startMesosRuntime(flags: MesosFlags, ctx: MesosRuntimeContext): Promise<MesosRuntime> {
  const credentials = flags.principal === undefined || flags.secretFile === undefined ? undefined : { principal: flags.principal, secret: readSecretFile(resolve(ctx.cwd, flags.secretFile), '--mesos-secret-file') };
  const tls = flags.tlsCaFile === undefined ? undefined : { caFile: resolve(ctx.cwd, flags.tlsCaFile) };
  const user = flags.user ?? userInfo().username;
  const metrics = new MesosDriverMetrics();
  let current: MesosClusterDriver | undefined;
  let httpToken: string | undefined;
  const served = flags.sluicePackage === undefined ? undefined : packageArtifact(resolve(ctx.cwd, flags.sluicePackage));
  const http: SchedulerHttpServer = await createSchedulerHttpServer({
    port: flags.metricsPort,
    ...(flags.metricsHost === undefined ? {} : { host: flags.metricsHost }),
    ...(isLoopback(flags.metricsHost ?? '127.0.0.1') ? {} : { token: () => httpToken }),
    registry: metrics.registry,
    ...(served === undefined ? {} : { artifacts: new Map([[served.name, served.file]]) }),
    driver: {
      httpSdTargets: () => current?.httpSdTargets() ?? [],
      health: () => current?.health() ?? { state: 'standby', subscribed: false },
    },
  });
  const packageUri = served === undefined ? undefined : `http://${uriHost(flags.metricsHost, ctx.advertisedHost)}:${http.port}/artifacts/${served.name}`;
  const clusterDriver: ClusterDriverFactory = (term) => {
    const logger = term.logger.child('mesos');
    const connection = createMasterConnection({
      master: flags.master,
      encoding: flags.encoding,
      ...(credentials === undefined ? {} : { credentials }),
      ...(tls === undefined ? {} : { tls }),
      logger,
    });
    const driver = new MesosClusterDriver({
      connection,
      store: term.ha.mesos,
      leaderToken: term.token,
      profile: workerProfile(flags),
      constraints: flags.constraints,
      framework: {
        name: flags.frameworkName,
        user,
        roles: flags.roles,
        failoverTimeoutSeconds: flags.failoverTimeoutSeconds,
        ...(flags.principal === undefined ? {} : { principal: flags.principal }),
      },
      executor: executorSpec(flags, packageUri),
      taskManager: {
        ...(ctx.haFlags === undefined ? { cluster: term.rpcAddress } : { ha: ctx.haFlags }),
        secret: readSecretFile(term.secretFile, 'the cluster secret file'),
      },
      match: matchOffers,
      metrics,
      logger,
    });
    current = driver;
    // A term that ended leaves the HTTP server to the next one: meanwhile (a standby, a deposed
    // leader) /healthz says standby and /http_sd lists nothing, so Prometheus never scrapes the
    // TaskManagers through two schedulers.
    const ended = (stopping: Promise<void>): Promise<void> =>
      stopping.finally(() => {
        if (current === driver) current = undefined;
      });
    const termDriver: TermClusterDriver = {
      initialize: (events) => driver.initialize(events),
      requestWorker: (spec) => driver.requestWorker(spec),
      releaseWorker: (id) => driver.releaseWorker(id),
      terminate: () => ended(driver.terminate({ teardown: ctx.haFlags === undefined })),
      isWorkerReportedAlive: (id) => driver.isWorkerReportedAlive(id),
      suspend: () => ended(driver.close()),
    };
    return termDriver;
  };
  return {
    clusterDriver,
    schedulerUrl: http.url,
    setHttpToken: (token) => {
      httpToken = token;
    },
    close: () => http.close(),
  };
}
