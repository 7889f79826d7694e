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
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ConfigurationError, type Logger } from '@sluice/common';
import type { ClusterDriverFactory, TermClusterDriver } from '@sluice/cluster';
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
  close(): Promise<void>;
}

export interface MesosRuntimeContext {
  cwd: string;
  /** With HA the TaskManagers find the leader through ZooKeeper: these `--ha-*` flags (names without dashes). */
  haFlags?: Readonly<Record<string, string>>;
  /** The scheduler's HTTP token (the cluster's REST token): required on /metrics and /http_sd. */
  httpToken?: string;
  logger: Logger;
}

/** Reads a whole file that must hold a non-empty secret; names the flag when it cannot. */
function readSecret(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigurationError(`${flag} ${file} cannot be read (${(err as Error).message})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new ConfigurationError(`${flag} ${file} is empty`);
  return secret;
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** The executor's command: the flag's, the image's (on its PATH), or this installation's. */
export function executorSpec(flags: MesosFlags): ExecutorLaunchSpec {
  const command =
    flags.executorCommand ?? (flags.containerImage !== undefined ? 'sluice-mesos-executor' : `${shellQuote(process.execPath)} ${shellQuote(EXECUTOR_MAIN)}`);
  return {
    command,
    ...(flags.executorUris.length === 0 ? {} : { uris: flags.executorUris.map((value) => ({ value })) }),
    ...(flags.containerImage === undefined ? {} : { container: { type: flags.containerizer === 'docker' ? 'DOCKER' : 'MESOS', image: flags.containerImage } }),
  };
}

export function workerProfile(flags: MesosFlags): WorkerProfile {
  return { name: 'taskmanager', ...flags.taskManager, ports: TASKMANAGER_PORTS, executor: flags.executor };
}

export async function startMesosRuntime(flags: MesosFlags, ctx: MesosRuntimeContext): Promise<MesosRuntime> {
  const credentials = flags.principal === undefined || flags.secretFile === undefined ? undefined : { principal: flags.principal, secret: readSecret(resolve(ctx.cwd, flags.secretFile), '--mesos-secret-file') };
  const tls = flags.tlsCaFile === undefined ? undefined : { caFile: resolve(ctx.cwd, flags.tlsCaFile) };
  const user = flags.user ?? userInfo().username;
  const metrics = new MesosDriverMetrics();
  let current: MesosClusterDriver | undefined;
  const http: SchedulerHttpServer = await createSchedulerHttpServer({
    port: flags.metricsPort,
    ...(flags.metricsHost === undefined ? {} : { host: flags.metricsHost }),
    ...(ctx.httpToken === undefined ? {} : { token: ctx.httpToken }),
    registry: metrics.registry,
    driver: {
      httpSdTargets: () => current?.httpSdTargets() ?? [],
      health: () => current?.health() ?? { state: 'standby', subscribed: false },
    },
  });
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
      executor: executorSpec(flags),
      taskManager: {
        ...(ctx.haFlags === undefined ? { cluster: term.rpcAddress } : { ha: ctx.haFlags }),
        secret: readSecret(term.secretFile, 'the cluster secret file'),
      },
      match: matchOffers,
      metrics,
      logger,
    });
    current = driver;
    const termDriver: TermClusterDriver = {
      initialize: (events) => driver.initialize(events),
      requestWorker: (spec) => driver.requestWorker(spec),
      releaseWorker: (id) => driver.releaseWorker(id),
      terminate: () => driver.terminate({ teardown: ctx.haFlags === undefined }),
      suspend: () => driver.close(),
    };
    return termDriver;
  };
  return { clusterDriver, schedulerUrl: http.url, close: () => http.close() };
}
