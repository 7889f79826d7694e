/**
 * The executor's configuration, read from the environment a Mesos agent gives a custom executor
 * (`MESOS_*`, see the v1 executor API) plus a few `SLUICE_EXECUTOR_*` settings of Sluice's own.
 * Pure apart from one side effect the C++ executor library has too: the authentication token is
 * removed from the environment once read, so the TaskManager process does not inherit it.
 */
import { ConfigurationError } from '@sluice/common';
import type { MesosEncoding } from '@sluice/mesos-proto';

export interface ExecutorConfig {
  frameworkId: string;
  executorId: string;
  /** `host:port` of the agent; the executor API is `http://<it>/api/v1/executor`. */
  agentEndpoint: string;
  /** The agent's executor API on a Unix socket (`--http_executor_domain_sockets`), used instead of TCP. */
  domainSocket?: string;
  /** Where the executor may write (the secret file): MESOS_SANDBOX, else MESOS_DIRECTORY. */
  sandbox: string;
  /** The framework checkpoints: survive an agent restart by re-subscribing. */
  checkpoint: boolean;
  shutdownGracePeriodMs: number;
  /** How long to keep trying to re-subscribe after losing the agent (checkpointing only). */
  recoveryTimeoutMs: number;
  /** Upper bound of the random delay before each re-subscription attempt (checkpointing only). */
  subscriptionBackoffMaxMs: number;
  /** A JWT sent as `Authorization: Bearer` when the agent authenticates executors. */
  authenticationToken?: string;
  /** Encoding of calls and events (SLUICE_EXECUTOR_ENCODING; default protobuf). */
  encoding: MesosEncoding;
  /** Framework messages with the TaskManager's slots and metrics, at least this often (SLUICE_EXECUTOR_REPORT_INTERVAL). */
  reportIntervalMs: number;
  /** How often the TaskManager's /metrics is read to notice a change of free slots (SLUICE_EXECUTOR_SLOT_POLL_INTERVAL). */
  slotPollIntervalMs: number;
  /** A TaskManager not registered at the ResourceManager by then is stopped and its task failed (SLUICE_TASKMANAGER_REGISTRATION_TIMEOUT). */
  registrationTimeoutMs: number;
}

/** What Mesos documents as the defaults of the agent flags behind these variables. */
export const MESOS_DEFAULTS = Object.freeze({
  shutdownGracePeriodMs: 5_000,
  recoveryTimeoutMs: 15 * 60_000,
  subscriptionBackoffMaxMs: 2_000,
});

export const SLUICE_EXECUTOR_DEFAULTS = Object.freeze({
  encoding: 'protobuf' as MesosEncoding,
  reportIntervalMs: 10_000,
  slotPollIntervalMs: 1_000,
  registrationTimeoutMs: 5 * 60_000,
});

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1_000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

export const DURATION_FORM = 'a number followed by ns, us, ms, secs, mins, hrs, days or weeks (e.g. 5secs, 2.5mins)';

/** Milliseconds of a Mesos duration (`5secs`, `0.5mins`, `100ms`); undefined when malformed. */
export function parseMesosDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ns|us|ms|secs|mins|hrs|days|weeks)$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isFinite(ms) ? ms : undefined;
}

export const EXECUTOR_ENVIRONMENT_HELP = `  MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID   ids sent in every call (required)
  MESOS_AGENT_ENDPOINT                    the agent's ip:port (required)
  MESOS_DOMAIN_SOCKET                     the agent's executor API on a Unix socket (optional)
  MESOS_SANDBOX or MESOS_DIRECTORY        the sandbox; the TaskManager's secret file goes there
  MESOS_CHECKPOINT                        "1": survive agent restarts by re-subscribing
  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD    time to stop everything on SHUTDOWN (default 5secs)
  MESOS_RECOVERY_TIMEOUT                  how long to re-subscribe after losing the agent
                                          (required when checkpointing)
  MESOS_SUBSCRIPTION_BACKOFF_MAX          the longest random wait between attempts (required
                                          when checkpointing)
  MESOS_EXECUTOR_AUTHENTICATION_TOKEN     sent as Authorization: Bearer (removed from the
                                          environment once read)
  SLUICE_EXECUTOR_ENCODING                protobuf (default) or json
  SLUICE_EXECUTOR_REPORT_INTERVAL         slot/metric reports at least this often (default 10secs)
  SLUICE_EXECUTOR_SLOT_POLL_INTERVAL      how often /metrics is read for slot changes (default 1secs)
  SLUICE_TASKMANAGER_REGISTRATION_TIMEOUT the TaskManager must register within this (default 5mins)
Durations are Mesos durations: ${DURATION_FORM}.
`;

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, form: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`${name} is not set: expected ${form}. The Mesos agent sets it when it starts an executor; run sluice-mesos-executor through Mesos, not by hand`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: number | 'required'): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    if (fallback === 'required') return durationOf(name, required(env, name, DURATION_FORM));
    return fallback;
  }
  return durationOf(name, raw);
}

function durationOf(name: string, raw: string): number {
  const ms = parseMesosDuration(raw);
  if (ms === undefined) throw new ConfigurationError(`${name} is '${raw}', not a duration: expected ${DURATION_FORM}`);
  return ms;
}

function positiveDuration(env: Env, name: string, fallback: number): number {
  const ms = duration(env, name, fallback);
  if (ms <= 0) throw new ConfigurationError(`${name} must be above zero, got '${env[name] ?? ''}': expected ${DURATION_FORM}`);
  return ms;
}

/** `host:port` or `[ipv6]:port` with a port in 1–65535. */
function endpoint(env: Env, name: string): string {
  const value = required(env, name, 'the agent address as ip:port (e.g. 10.0.0.7:5051)').trim();
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new ConfigurationError(`${name} is '${value}': expected the agent address as ip:port (e.g. 10.0.0.7:5051)`);
  return value;
}

/**
 * Reads the configuration from `env` (default: this process's environment) and deletes
 * MESOS_EXECUTOR_AUTHENTICATION_TOKEN from it. Throws a ConfigurationError naming the variable
 * and the form it should have.
 */
export function loadExecutorConfig(env: Env = process.env): ExecutorConfig {
  // Removed first, so that not even a configuration error leaves it for a child to inherit.
  const token = env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN;
  delete env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN;
  const checkpoint = env.MESOS_CHECKPOINT === '1';
  const frameworkId = required(env, 'MESOS_FRAMEWORK_ID', 'the framework id the agent started this executor for');
  const executorId = required(env, 'MESOS_EXECUTOR_ID', 'the executor id from the ExecutorInfo');
  const agentEndpoint = endpoint(env, 'MESOS_AGENT_ENDPOINT');
  const sandbox = env.MESOS_SANDBOX?.trim() || env.MESOS_DIRECTORY?.trim();
  if (sandbox === undefined || sandbox === '') {
    throw new ConfigurationError('MESOS_SANDBOX and MESOS_DIRECTORY are both unset: expected the path of the executor\'s sandbox directory, which the Mesos agent sets');
  }
  const encoding = env.SLUICE_EXECUTOR_ENCODING?.trim() || SLUICE_EXECUTOR_DEFAULTS.encoding;
  if (encoding !== 'protobuf' && encoding !== 'json') {
    throw new ConfigurationError(`SLUICE_EXECUTOR_ENCODING is '${encoding}': expected protobuf or json`);
  }
  const config: ExecutorConfig = {
    frameworkId,
    executorId,
    agentEndpoint,
    sandbox,
    checkpoint,
    shutdownGracePeriodMs: positiveDuration(env, 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', MESOS_DEFAULTS.shutdownGracePeriodMs),
    // The agent sets these two only for checkpointing frameworks; only those re-subscribe.
    recoveryTimeoutMs: duration(env, 'MESOS_RECOVERY_TIMEOUT', checkpoint ? 'required' : MESOS_DEFAULTS.recoveryTimeoutMs),
    subscriptionBackoffMaxMs: duration(env, 'MESOS_SUBSCRIPTION_BACKOFF_MAX', checkpoint ? 'required' : MESOS_DEFAULTS.subscriptionBackoffMaxMs),
    encoding,
    reportIntervalMs: positiveDuration(env, 'SLUICE_EXECUTOR_REPORT_INTERVAL', SLUICE_EXECUTOR_DEFAULTS.reportIntervalMs),
    slotPollIntervalMs: positiveDuration(env, 'SLUICE_EXECUTOR_SLOT_POLL_INTERVAL', SLUICE_EXECUTOR_DEFAULTS.slotPollIntervalMs),
    registrationTimeoutMs: positiveDuration(env, 'SLUICE_TASKMANAGER_REGISTRATION_TIMEOUT', SLUICE_EXECUTOR_DEFAULTS.registrationTimeoutMs),
  };
  const socket = env.MESOS_DOMAIN_SOCKET?.trim();
  if (socket !== undefined && socket !== '') config.domainSocket = socket;
  if (token !== undefined && token.trim() !== '') config.authenticationToken = token.trim();
  return config;
}
