/**
 * What the `mesos` ClusterDriver is configured with, its defaults, and the one function that
 * checks a configuration before anything talks to Mesos (a bad option is a ConfigurationError
 * naming the option, never a rejected SUBSCRIBE or a TASK_ERROR later).
 */
import { ConfigurationError, type Logger } from '@sluice/common';
import type { LeaderToken, MesosStore } from '@sluice/ha';
import { DEFAULT_WORKER_FAILURE_RATE, type WorkerFailureRateOptions } from '@sluice/jobmanager';
import type { MasterConnection } from '../master/types.js';
import type { MatchInput, MatchResult, PlacementConstraint, WorkerProfile } from '../offers/types.js';
import type { MesosDriverMetrics } from './metrics.js';
import type { DriverTimers } from './timers.js';

/** The FrameworkInfo Sluice subscribes with (id, capabilities and roles are the driver's). */
export interface FrameworkOptions {
  /** Default 'Sluice'. */
  name?: string;
  /** The user tasks run as unless the executor says otherwise; required by the HTTP API. */
  user: string;
  principal?: string;
  /** Default ['*']. Offers of other roles are declined. */
  roles?: readonly string[];
  /** How long Mesos keeps the tasks while the scheduler is away; default one week. */
  failoverTimeoutSeconds?: number;
  /** Default true: agents checkpoint the tasks, so an agent restart does not kill TaskManagers. */
  checkpoint?: boolean;
  hostname?: string;
  webuiUrl?: string;
  labels?: Readonly<Record<string, string>>;
}

/** A file the Mesos fetcher puts into the sandbox (the Sluice package, the job bundle). */
export interface ExecutorUri {
  value: string;
  executable?: boolean;
  /** Default true (Mesos's): archives are unpacked. */
  extract?: boolean;
  cache?: boolean;
  outputFile?: string;
}

/**
 * Where the executor runs: on the agent's host (no container), in the Mesos containerizer from
 * a Docker image, or in Docker. TaskManagers bind ports taken from the offer, so Docker uses the
 * host's network.
 */
export type ExecutorContainer =
  | { type: 'MESOS'; image: string; forcePull?: boolean; volumes?: readonly ContainerVolume[] }
  | { type: 'DOCKER'; image: string; forcePull?: boolean; privileged?: boolean; parameters?: Readonly<Record<string, string>>; volumes?: readonly ContainerVolume[] };

/** A directory of the agent mounted into the container (checkpoints and savepoints on shared storage). */
export interface ContainerVolume {
  hostPath: string;
  containerPath: string;
  mode: 'RW' | 'RO';
}

export interface ExecutorLaunchSpec {
  /** The executor's command line through `/bin/sh -c`, or, with `arguments`, the executable run without a shell. */
  command: string;
  arguments?: readonly string[];
  environment?: Readonly<Record<string, string>>;
  uris?: readonly ExecutorUri[];
  container?: ExecutorContainer;
  /** Default 'Sluice executor'. */
  name?: string;
  /** ExecutorInfo.shutdown_grace_period: how long SHUTDOWN waits for the TaskManager. Default 20 s. */
  shutdownGracePeriodMs?: number;
  /** TaskInfo.kill_policy: how long a KILL waits before the executor ends the TaskManager hard. Default 15 s. */
  killGracePeriodMs?: number;
}

/** The TaskManager fields of `TaskInfo.data` that are the same for every worker. */
export interface TaskManagerLaunchOptions {
  /** `sluice://host:port` of the entrypoint; or `ha` (the TaskManager finds the leader). */
  cluster?: string;
  ha?: Readonly<Record<string, string>>;
  secret: string;
  /**
   * Interface the TaskManager binds on the agent (RPC, data and /metrics); default the agent's
   * hostname as Mesos reports it, which is also what other hosts dial. `0.0.0.0` for all.
   */
  bindHost?: string;
  workerThreads?: number;
  extraArgs?: readonly string[];
}

export interface ReconciliationOptions {
  /** First wait before explicit reconciliation asks again for tasks that have not answered. Default 5 s. */
  initialBackoffMs?: number;
  /** The backoff doubles up to this. Default 60 s. */
  maxBackoffMs?: number;
  /** Implicit reconciliation (all tasks) every this long once explicit reconciliation is done. Default 10 min. */
  implicitIntervalMs?: number;
}

export interface MesosClusterDriverOptions {
  connection: MasterConnection;
  /** The HA services' Mesos store, written with `leaderToken` (a fenced write ends the driver's calls). */
  store: MesosStore;
  leaderToken: LeaderToken;
  profile: WorkerProfile;
  constraints?: readonly PlacementConstraint[];
  framework: FrameworkOptions;
  executor: ExecutorLaunchSpec;
  taskManager: TaskManagerLaunchOptions;
  /** The offer matcher (offers/match.ts `matchOffers`). */
  match: (input: MatchInput) => MatchResult;
  /** Offers nothing could use are declined after this long at most. Default 10 s. */
  offerHoldTimeoutMs?: number;
  /** Refuse filter of ACCEPTs and of DECLINEs while workers are wanted. Default 5 s. */
  refuseSeconds?: number;
  /** Refuse filter of DECLINEs when no worker is wanted (the driver SUPPRESSes then too). Default 120 s. */
  idleRefuseSeconds?: number;
  /** How many workers may fail before the driver holds back new launches (see WorkerFailureRate). */
  failureRate?: WorkerFailureRateOptions;
  reconciliation?: ReconciliationOptions;
  /** How long terminate() waits for the killed TaskManagers' terminal updates. Default 60 s. */
  terminateTimeoutMs?: number;
  /**
   * An executor's report that its TaskManager is registered counts as evidence it runs for this
   * long (isWorkerReportedAlive). Default 30 s: three of the executor's report intervals.
   */
  reportFreshnessMs?: number;
  timers?: DriverTimers;
  logger?: Logger;
  /** Where the driver counts; default a registry of its own (driver.metrics). */
  metrics?: MesosDriverMetrics;
}

export const DEFAULT_MESOS_DRIVER_OPTIONS = Object.freeze({
  frameworkName: 'Sluice',
  roles: Object.freeze(['*']) as readonly string[],
  failoverTimeoutSeconds: 7 * 24 * 3600,
  checkpoint: true,
  executorName: 'Sluice executor',
  shutdownGracePeriodMs: 20_000,
  killGracePeriodMs: 15_000,
  offerHoldTimeoutMs: 10_000,
  refuseSeconds: 5,
  idleRefuseSeconds: 120,
  failureRate: DEFAULT_WORKER_FAILURE_RATE,
  reconcileInitialBackoffMs: 5_000,
  reconcileMaxBackoffMs: 60_000,
  implicitReconcileIntervalMs: 600_000,
  terminateTimeoutMs: 60_000,
  reportFreshnessMs: 30_000,
});

/** The ports a TaskManager needs from the offer (TaskManagerLaunch.ports). */
export const TASKMANAGER_PORTS = ['rpc', 'data', 'metrics'] as const;

export interface ResolvedDriverOptions {
  roles: readonly string[];
  offerHoldTimeoutMs: number;
  refuseSeconds: number;
  idleRefuseSeconds: number;
  failureRate: WorkerFailureRateOptions;
  reconcileInitialBackoffMs: number;
  reconcileMaxBackoffMs: number;
  implicitReconcileIntervalMs: number;
  terminateTimeoutMs: number;
  reportFreshnessMs: number;
}

const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

function positive(name: string, v: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new ConfigurationError(`mesos driver: ${name} must be a positive number${max < Number.MAX_SAFE_INTEGER ? ` of at most ${max}` : ''}, got ${String(v)}`);
  }
  return v;
}

function nonEmpty(name: string, v: unknown): void {
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigurationError(`mesos driver: ${name} must be a non-empty string, got ${JSON.stringify(v)}`);
}

function checkProfile(p: WorkerProfile): void {
  nonEmpty('profile.name', p.name);
  for (const [k, v] of [['cpus', p.cpus], ['memMb', p.memMb], ['executor.cpus', p.executor.cpus], ['executor.memMb', p.executor.memMb]] as const) {
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new ConfigurationError(`mesos driver: profile.${k} must be a positive number, got ${String(v)}`);
  }
  for (const [k, v] of [['diskMb', p.diskMb], ['gpus', p.gpus]] as const) {
    if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new ConfigurationError(`mesos driver: profile.${k} must be a number ≥ 0, got ${String(v)}`);
  }
  const missing = TASKMANAGER_PORTS.filter((port) => !p.ports.includes(port));
  if (missing.length > 0) {
    throw new ConfigurationError(`mesos driver: profile '${p.name}' must name the ports ${TASKMANAGER_PORTS.join(', ')} (a TaskManager binds them); it lacks ${missing.join(', ')}`);
  }
}

function checkRoles(roles: readonly string[]): void {
  if (roles.length === 0) throw new ConfigurationError("mesos driver: framework.roles must name at least one role (default ['*'])");
  const seen = new Set<string>();
  for (const r of roles) {
    nonEmpty('a role in framework.roles', r);
    if (seen.has(r)) throw new ConfigurationError(`mesos driver: framework.roles names '${r}' twice; Mesos refuses duplicate roles`);
    seen.add(r);
  }
}

/** Checks the options; throws ConfigurationError naming the first bad one. */
export function resolveMesosDriverOptions(o: MesosClusterDriverOptions): ResolvedDriverOptions {
  const d = DEFAULT_MESOS_DRIVER_OPTIONS;
  nonEmpty('framework.user', o.framework.user);
  if (o.framework.name !== undefined) nonEmpty('framework.name', o.framework.name);
  positive('framework.failoverTimeoutSeconds', o.framework.failoverTimeoutSeconds, d.failoverTimeoutSeconds);
  nonEmpty('leaderToken', o.leaderToken);
  checkProfile(o.profile);
  const roles = o.framework.roles ?? d.roles;
  checkRoles(roles);
  nonEmpty('executor.command', o.executor.command);
  for (const u of o.executor.uris ?? []) nonEmpty('executor.uris[].value', u.value);
  if (o.executor.container !== undefined) nonEmpty('executor.container.image', o.executor.container.image);
  positive('executor.shutdownGracePeriodMs', o.executor.shutdownGracePeriodMs, d.shutdownGracePeriodMs);
  positive('executor.killGracePeriodMs', o.executor.killGracePeriodMs, d.killGracePeriodMs);
  const tm = o.taskManager;
  nonEmpty('taskManager.secret', tm.secret);
  if (tm.cluster === undefined && tm.ha === undefined) {
    throw new ConfigurationError('mesos driver: taskManager needs the cluster address (sluice://host:port) or the HA flags, so TaskManagers can find the ResourceManager');
  }
  if (tm.cluster !== undefined && !/^sluice:\/\/[^/\s]+:\d{1,5}$/.test(tm.cluster)) {
    throw new ConfigurationError(`mesos driver: taskManager.cluster must be sluice://host:port, got ${JSON.stringify(tm.cluster)}`);
  }
  const fr = o.failureRate ?? d.failureRate;
  positive('failureRate.maxFailures', fr.maxFailures, 1);
  positive('failureRate.intervalMs', fr.intervalMs, 1);
  positive('failureRate.retryDelayMs', fr.retryDelayMs, 1);
  const rc = o.reconciliation ?? {};
  const initial = positive('reconciliation.initialBackoffMs', rc.initialBackoffMs, d.reconcileInitialBackoffMs);
  const max = positive('reconciliation.maxBackoffMs', rc.maxBackoffMs, Math.max(initial, d.reconcileMaxBackoffMs));
  if (max < initial) throw new ConfigurationError(`mesos driver: reconciliation.maxBackoffMs (${max}) must not be below initialBackoffMs (${initial})`);
  return {
    roles,
    offerHoldTimeoutMs: positive('offerHoldTimeoutMs', o.offerHoldTimeoutMs, d.offerHoldTimeoutMs),
    refuseSeconds: positive('refuseSeconds', o.refuseSeconds, d.refuseSeconds, MAX_REFUSE_SECONDS),
    idleRefuseSeconds: positive('idleRefuseSeconds', o.idleRefuseSeconds, d.idleRefuseSeconds, MAX_REFUSE_SECONDS),
    failureRate: fr,
    reconcileInitialBackoffMs: initial,
    reconcileMaxBackoffMs: max,
    implicitReconcileIntervalMs: positive('reconciliation.implicitIntervalMs', rc.implicitIntervalMs, d.implicitReconcileIntervalMs),
    terminateTimeoutMs: positive('terminateTimeoutMs', o.terminateTimeoutMs, d.terminateTimeoutMs),
    reportFreshnessMs: positive('reportFreshnessMs', o.reportFreshnessMs, d.reportFreshnessMs),
  };
}
