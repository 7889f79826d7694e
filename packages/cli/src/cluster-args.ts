/**
 * Flags of `sluice cluster start`, `sluice cluster stop` and `sluice mesos-session` (cluster start's
 * flags plus mesos-args.ts's). Pure, like the other parsers.
 */
import { allowedHostProblem } from '@sluice/jobmanager/rest-security';
import { HA_FLAGS, zooKeeperFromFlags, type ZooKeeperFlags } from '@sluice/ha';
import { DEFAULT_HEARTBEAT_OPTIONS, resolveHeartbeatOptions } from '@sluice/protocol';
import { strictParse, UsageError, noMorePositionals, nonEmpty, type StrictParseResult } from './arg-parsing.js';
import type { JobDefaults } from '@sluice/jobmanager';
import { JOB_DEFAULTS_OPTIONS, jobDefaultsFromFlags } from './job-defaults-args.js';
import { MESOS_OPTIONS, mesosFlags, type MesosFlags } from './mesos-args.js';
import type { CommandName } from './usage.js';

export interface ClusterStartOptions {
  /** Default $SLUICE_HOME/cluster (resolved by the command). */
  clusterDir?: string;
  taskManagers: number;
  slots: number;
  maxTaskManagers?: number;
  /** TaskManagers beyond `taskManagers` idle this long are released (the entrypoint's default: 30 s). */
  idleTaskManagerTimeoutMs?: number;
  bindHost?: string;
  advertisedHost?: string;
  rpcPort: number;
  restPort: number;
  restHost?: string;
  /** Where to write the REST token; default the file client commands look in for the port. */
  restTokenFile?: string;
  /** A file holding the REST token to use (a mounted secret) instead of the cluster's own. */
  restTokenFrom?: string;
  /** Host names (a DNS name, a load balancer's, a VIP) the REST API answers besides its own addresses. */
  restAllowedHosts?: string[];
  /** TLS on every connection between the cluster's processes. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Standby entrypoints with ZooKeeper (--high-availability zookeeper). */
  highAvailability?: ZooKeeperFlags & { storageDir: string };
  /** Heartbeats between the cluster's processes: how often, and how long a silent peer counts as alive (ms). */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  detach: boolean;
  quiet: boolean;
  /** Served at GET /config for `sluice submit` (not taken by mesos-job); checkpointDir as given. */
  jobDefaults?: JobDefaults;
}

export interface ClusterStopOptions {
  clusterDir?: string;
}

/** `mesos-session`: a session cluster whose TaskManagers Mesos runs. */
export type MesosSessionOptions = ClusterStartOptions & { mesos: MesosFlags };
export type MesosSessionCommand = { kind: 'mesos-session'; options: MesosSessionOptions } | { kind: 'help'; text: string };

export type ClusterCommand = { kind: 'cluster-start'; options: ClusterStartOptions } | { kind: 'cluster-stop'; options: ClusterStopOptions } | { kind: 'help'; text: string };

export const DEFAULT_RPC_PORT = 6123;

/** Flags of `cluster start`; `mesos-session` and `mesos-job` take them too. */
export const START_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'cluster-dir': { type: 'string' },
  taskmanagers: { type: 'string' },
  slots: { type: 'string' },
  'max-taskmanagers': { type: 'string' },
  'idle-taskmanager-timeout': { type: 'string' },
  'bind-host': { type: 'string' },
  'advertised-host': { type: 'string' },
  'rpc-port': { type: 'string' },
  'rest-port': { type: 'string' },
  'rest-host': { type: 'string' },
  'rest-token-file': { type: 'string' },
  'rest-token-from': { type: 'string' },
  'rest-allowed-host': { type: 'string', multiple: true },
  'tls-cert-file': { type: 'string' },
  'tls-key-file': { type: 'string' },
  'tls-ca-file': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  ...HA_FLAGS,
  'ha-storage-dir': { type: 'string' },
  ...JOB_DEFAULTS_OPTIONS,
  detach: { type: 'boolean', short: 'd' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

const STOP_OPTIONS = { help: { type: 'boolean', short: 'h' }, 'cluster-dir': { type: 'string' } } as const;

function count(raw: string | undefined, flag: string, fallback: number, min: number, command: CommandName): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`invalid value '${raw}' for ${flag}: expected an integer ≥ ${min}`, command);
  return n;
}

function port(raw: string | undefined, flag: string, fallback: number, command: CommandName): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new UsageError(`invalid value '${raw}' for ${flag}: expected a port number 0..65535 (0 picks a free port)`, command);
  return n;
}

type StartValues = StrictParseResult<typeof START_OPTIONS>['values'];

/** Defaults that differ by command: Mesos starts no TaskManager before a job needs one; a per-job cluster takes free ports. */
export interface StartDefaults {
  taskManagers: number;
  rpcPort: number;
  restPort: number;
}

const CLUSTER_DEFAULTS: StartDefaults = { taskManagers: 1, rpcPort: DEFAULT_RPC_PORT, restPort: 8081 };

/** The options `cluster start`, `mesos-session` and `mesos-job` share. */
export function clusterStartOptions(values: StartValues, command: CommandName, defaults: StartDefaults): ClusterStartOptions {
  const options: ClusterStartOptions = {
    taskManagers: count(values.taskmanagers, '--taskmanagers', defaults.taskManagers, 0, command),
    slots: count(values.slots, '--slots', 1, 1, command),
    rpcPort: port(values['rpc-port'], '--rpc-port', defaults.rpcPort, command),
    restPort: port(values['rest-port'], '--rest-port', defaults.restPort, command),
    detach: values.detach === true,
    quiet: values.quiet === true,
  };
  const max = values['max-taskmanagers'];
  if (max !== undefined) {
    options.maxTaskManagers = count(max, '--max-taskmanagers', 0, 1, command);
    if (options.maxTaskManagers < options.taskManagers) throw new UsageError(`--max-taskmanagers ${max} is below --taskmanagers ${options.taskManagers}`, command);
  }
  const idle = values['idle-taskmanager-timeout'];
  if (idle !== undefined) {
    if (!/^\d+$/.test(idle) || !(Number(idle) >= 1) || !Number.isSafeInteger(Number(idle))) {
      throw new UsageError(`invalid value '${idle}' for --idle-taskmanager-timeout: expected a whole number of milliseconds above 0`, command);
    }
    options.idleTaskManagerTimeoutMs = Number(idle);
  }
  const strings = [
    ['cluster-dir', 'clusterDir', 'a directory'],
    ['bind-host', 'bindHost', 'an interface address'],
    ['advertised-host', 'advertisedHost', 'a host name or IP'],
    ['rest-host', 'restHost', 'an interface address'],
    ['rest-token-file', 'restTokenFile', 'a file path'],
    ['rest-token-from', 'restTokenFrom', 'a file path'],
  ] as const;
  for (const [flag, key, what] of strings) {
    const v = values[flag];
    if (v !== undefined) options[key] = nonEmpty(v, `--${flag}`, what, command);
  }
  const allowed = values['rest-allowed-host'];
  if (allowed !== undefined) {
    options.restAllowedHosts = allowed.map((raw) => {
      const problem = allowedHostProblem(raw);
      if (problem !== undefined) throw new UsageError(`invalid value '${raw}' for --rest-allowed-host: ${problem}`, command);
      return raw.trim();
    });
  }
  const certFile = values['tls-cert-file'];
  const keyFile = values['tls-key-file'];
  const caFile = values['tls-ca-file'];
  const given = [certFile, keyFile, caFile].filter((v) => v !== undefined).length;
  if (given > 0 && given < 3) throw new UsageError('TLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file', command);
  if (certFile !== undefined && keyFile !== undefined && caFile !== undefined) {
    options.tls = {
      certFile: nonEmpty(certFile, '--tls-cert-file', 'a PEM file', command),
      keyFile: nonEmpty(keyFile, '--tls-key-file', 'a PEM file', command),
      caFile: nonEmpty(caFile, '--tls-ca-file', 'a PEM file', command),
    };
  }
  const interval = values['heartbeat-interval'];
  const timeout = values['heartbeat-timeout'];
  if (interval !== undefined) options.heartbeatIntervalMs = count(interval, '--heartbeat-interval', 0, 1, command);
  if (timeout !== undefined) options.heartbeatTimeoutMs = count(timeout, '--heartbeat-timeout', 0, 1, command);
  try {
    resolveHeartbeatOptions(options, 'heartbeats');
  } catch {
    const { heartbeatIntervalMs: i, heartbeatTimeoutMs: t } = { ...DEFAULT_HEARTBEAT_OPTIONS, ...options };
    throw new UsageError(`--heartbeat-timeout (${t} ms) must be larger than --heartbeat-interval (${i} ms); 3 to 5 intervals is usual`, command);
  }
  const zk = zooKeeperFromFlags(values, (message) => new UsageError(message, command));
  const storageDir = values['ha-storage-dir'];
  if (zk === undefined && storageDir !== undefined) throw new UsageError('--ha-storage-dir needs --high-availability zookeeper', command);
  if (zk !== undefined) {
    if (storageDir === undefined) throw new UsageError('--high-availability zookeeper needs --ha-storage-dir DIR: a directory every entrypoint of the cluster reaches (the cluster secret, REST token and uploaded bundles live there)', command);
    options.highAvailability = { ...zk, storageDir: nonEmpty(storageDir, '--ha-storage-dir', 'a directory', command) };
  }
  return options;
}

/** A session cluster's job defaults (mesos-job refuses them: its -D are its job's). */
function withJobDefaults(options: ClusterStartOptions, values: StartValues, command: CommandName): ClusterStartOptions {
  const jobDefaults = jobDefaultsFromFlags(values, command);
  return jobDefaults === undefined ? options : { ...options, jobDefaults };
}

const MESOS_SESSION_OPTIONS = { ...START_OPTIONS, ...MESOS_OPTIONS } as const;

/** `sluice mesos-session`: `cluster start` whose TaskManagers are Mesos tasks. */
export function parseMesosSession(args: string[], help: string): MesosSessionCommand {
  const { values, positionals } = strictParse('mesos-session', args, MESOS_SESSION_OPTIONS);
  if (values.help === true) return { kind: 'help', text: help };
  noMorePositionals(positionals, 0, 'mesos-session');
  const options = withJobDefaults(clusterStartOptions(values, 'mesos-session', { ...CLUSTER_DEFAULTS, taskManagers: 0 }), values, 'mesos-session');
  if (options.detach) throw new UsageError('--detach is not supported by mesos-session: run it under Marathon or a service manager, which restarts it', 'mesos-session');
  return { kind: 'mesos-session', options: { ...options, mesos: mesosFlags(values, 'mesos-session') } };
}

export function parseCluster(args: string[], help: { cluster: string }): ClusterCommand {
  const [action, ...rest] = args;
  if (action === undefined || action === '-h' || action === '--help') return { kind: 'help', text: help.cluster };
  if (action === 'start') {
    const { values, positionals } = strictParse('cluster', rest, START_OPTIONS);
    if (values.help === true) return { kind: 'help', text: help.cluster };
    noMorePositionals(positionals, 0, 'cluster');
    return { kind: 'cluster-start', options: withJobDefaults(clusterStartOptions(values, 'cluster', CLUSTER_DEFAULTS), values, 'cluster') };
  }
  if (action === 'stop') {
    const { values, positionals } = strictParse('cluster', rest, STOP_OPTIONS);
    if (values.help === true) return { kind: 'help', text: help.cluster };
    noMorePositionals(positionals, 0, 'cluster');
    const dir = values['cluster-dir'];
    return { kind: 'cluster-stop', options: dir === undefined ? {} : { clusterDir: nonEmpty(dir, '--cluster-dir', 'a directory', 'cluster') } };
  }
  throw new UsageError(`unknown cluster action '${action}': use 'start' or 'stop'`, 'cluster');
}
