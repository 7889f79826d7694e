/**
 * Turns argv into a validated command, or a UsageError that names the offending input and
 * points at the right `--help`. Pure: no I/O, no process state, so it is table-tested.
 * All user-facing validation of flags happens here, at the edge: `run` and `plan` below, the job
 * flags in job-args.ts, the REST client commands in client-args.ts, `submit` in submit-args.ts.
 */
import type { ParseArgsConfig } from 'node:util';
import { allowedHostProblem } from '@sluice/jobmanager/rest-security';
import { parseDuration } from '@sluice/protocol';
import { nonEmpty, strictParse, UsageError } from './arg-parsing.js';
import { CLIENT_COMMANDS, DEFAULT_REST_PORT, parseClientCommand, type ClientCommand, type ClientCommandName } from './client-args.js';
import { JOB_OPTIONS, jobOptions, RESTORE_OPTIONS, restoreOptions, type JobCommandOptions, type RestoreOptions } from './job-args.js';
import { parseCluster, parseMesosSession, type ClusterCommand, type MesosSessionCommand } from './cluster-args.js';
import { parseMesosJob, type MesosJobCommand } from './mesos-job-args.js';
import { parseSubmit, type SubmitCommandOptions } from './submit-args.js';
import { COMMAND_HELP, TOP_LEVEL_HELP, type CommandName } from './usage.js';

export { UsageError } from './arg-parsing.js';
export type { JobCommandOptions } from './job-args.js';
export type { SubmitCommandOptions } from './submit-args.js';
export {
  ADDRESS_ENV_VAR,
  DEFAULT_REST_ADDRESS,
  DEFAULT_REST_PORT,
  DEFAULT_SAVEPOINT_DIRECTORY,
  parseAddress,
  type CancelCommandOptions,
  type ClientCommand,
  type ClientCommandOptions,
  type InfoCommandOptions,
  type SavepointCommandOptions,
  type StopCommandOptions,
} from './client-args.js';

export interface RunCommandOptions extends JobCommandOptions, RestoreOptions {
  metricsPort?: number;
  /** Port of the REST API while the job runs (0 = any free port). */
  restPort: number;
  /** No live status line on stderr. */
  quiet: boolean;
  /** After Ctrl-C or SIGTERM, how long the job may take to stop before the process ends anyway. */
  shutdownTimeoutMs: number;
  /** Where to write the REST token, as given; undefined: the default file for the port. */
  restTokenFile?: string;
  /** Extra Host names the REST API answers to (`name` or `name:port`). */
  restAllowedHosts?: string[];
  /** Directories savepoints requested over REST must lie in, as given. */
  savepointRoots?: string[];
}

export type ParsedCommand =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; options: RunCommandOptions }
  | { kind: 'plan'; options: JobCommandOptions }
  | { kind: 'submit'; options: SubmitCommandOptions }
  | Exclude<ClusterCommand, { kind: 'help' }>
  | Exclude<MesosSessionCommand, { kind: 'help' }>
  | Exclude<MesosJobCommand, { kind: 'help' }>
  | ClientCommand;

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

const RUN_OPTIONS = {
  ...JOB_OPTIONS,
  ...RESTORE_OPTIONS,
  'metrics-port': { type: 'string' },
  'rest-port': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'shutdown-timeout': { type: 'string' },
  'rest-token-file': { type: 'string' },
  'rest-allowed-host': { type: 'string', multiple: true },
  'savepoint-root': { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

const isClientCommand = (name: string): name is ClientCommandName => (CLIENT_COMMANDS as readonly string[]).includes(name);

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '-h' || first === '--help') return { kind: 'help', text: TOP_LEVEL_HELP };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') return helpFor(rest);
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  if (first === 'run') return parseRun(rest);
  if (first === 'plan') return parsePlan(rest);
  if (first === 'submit') return parseSubmit(rest);
  if (first === 'cluster') return parseCluster(rest, { cluster: COMMAND_HELP.cluster });
  if (first === 'mesos-session') return parseMesosSession(rest, COMMAND_HELP['mesos-session']);
  if (first === 'mesos-job') return parseMesosJob(rest, COMMAND_HELP['mesos-job']);
  if (isClientCommand(first)) return parseClientCommand(first, rest);
  throw new UsageError(`unknown command '${first}'`);
}

function helpFor(rest: string[]): ParsedCommand {
  const [topic, extra] = rest;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (topic === undefined) return { kind: 'help', text: TOP_LEVEL_HELP };
  if (Object.hasOwn(COMMAND_HELP, topic)) return { kind: 'help', text: COMMAND_HELP[topic as CommandName] };
  throw new UsageError(`unknown command '${topic}'`);
}

function parseRun(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('run', args, RUN_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.run };
  const restPort = values['rest-port'];
  const shutdownTimeout = values['shutdown-timeout'];
  const run: RunCommandOptions = {
    ...jobOptions('run', values, positionals),
    restPort: restPort === undefined ? DEFAULT_REST_PORT : parsePort(restPort, '--rest-port'),
    quiet: values.quiet === true,
    shutdownTimeoutMs: shutdownTimeout === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : parseShutdownTimeout(shutdownTimeout),
  };
  const metricsPort = values['metrics-port'];
  if (metricsPort !== undefined) run.metricsPort = parsePort(metricsPort, '--metrics-port');
  Object.assign(run, restoreOptions(values, 'run'));
  const tokenFile = values['rest-token-file'];
  if (tokenFile !== undefined) run.restTokenFile = nonEmpty(tokenFile, '--rest-token-file', 'a file path', 'run');
  const hosts = values['rest-allowed-host'];
  if (hosts !== undefined) run.restAllowedHosts = hosts.map(parseAllowedHostFlag);
  const roots = values['savepoint-root'];
  if (roots !== undefined) run.savepointRoots = roots.map((r) => nonEmpty(r, '--savepoint-root', 'a directory', 'run'));
  return { kind: 'run', options: run };
}

function parsePlan(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('plan', args, JOB_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.plan };
  return { kind: 'plan', options: jobOptions('plan', values, positionals) };
}

function parseAllowedHostFlag(raw: string): string {
  const problem = allowedHostProblem(raw);
  if (problem !== undefined) throw new UsageError(`invalid value '${raw}' for --rest-allowed-host: ${problem}`, 'run');
  return raw.trim();
}

function parseShutdownTimeout(raw: string): number {
  let ms: number;
  try {
    ms = parseDuration(raw, '--shutdown-timeout');
  } catch {
    ms = NaN;
  }
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new UsageError(`invalid value '${raw}' for --shutdown-timeout: expected a positive duration with a unit, like 10s or 2min`, 'run');
  }
  return ms;
}

function parsePort(raw: string, flag: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) {
    throw new UsageError(`invalid value '${raw}' for ${flag}: expected a port number 0..65535 (0 picks a free port)`, 'run');
  }
  return n;
}
