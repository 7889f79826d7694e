/**
 * Turns argv into a validated command, or a UsageError that names the offending input and
 * points at the right `--help`. Pure: no I/O, no process state, so it is table-tested.
 * All user-facing validation of flags happens here, at the edge.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError, SluiceError } from '@sluice/common';
import { allowedHostProblem } from '@sluice/jobmanager/rest-security';
import { parseDuration, parseRestartStrategy, type RestartStrategyConfig } from '@sluice/protocol';
import { COMMAND_HELP, TOP_LEVEL_HELP, type CommandName } from './usage.js';

/** Bad command-line usage; the CLI exits with code 2. */
export class UsageError extends SluiceError {
  constructor(problem: string, command?: CommandName) {
    super('USAGE', `${problem}. Run 'sluice ${command === undefined ? '' : `${command} `}--help'`);
    this.name = 'UsageError';
  }
}

/** What `run` and `plan` share: the job, its parameters and the flags that configure it. */
export interface JobCommandOptions {
  /** As given on the command line; resolved against the working directory later. */
  jobFile: string;
  params: Record<string, string>;
  parallelism?: number;
  verbose: boolean;
  bufferTimeoutMs?: number;
  checkpointIntervalMs?: number;
  /** As given; resolved against the working directory later. */
  checkpointDir?: string;
  restartStrategy?: RestartStrategyConfig;
  tolerableFailedCheckpoints?: number;
}

export interface RunCommandOptions extends JobCommandOptions {
  metricsPort?: number;
  /** Port of the REST API while the job runs (0 = any free port). */
  restPort: number;
  /** As given; resolved against the working directory later. */
  fromSavepoint?: string;
  allowNonRestoredState?: true;
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

/** Options of the commands that talk to a running job through its REST API. */
export interface ClientCommandOptions {
  /** `--address`, normalised (no trailing slash); undefined: SLUICE_ADDRESS or the default. */
  address?: string;
  /** Where to read the REST token, as given; undefined: SLUICE_REST_TOKEN, else the default file. */
  restTokenFile?: string;
  verbose: boolean;
}

export interface SavepointCommandOptions extends ClientCommandOptions {
  jobId: string;
  /** As given; undefined: DEFAULT_SAVEPOINT_DIRECTORY. Resolved against the working directory later. */
  targetDirectory?: string;
}

export interface StopCommandOptions extends ClientCommandOptions {
  jobId: string;
  /** As given; resolved against the working directory later. */
  savepointPath: string;
  drain: boolean;
}

export interface CancelCommandOptions extends ClientCommandOptions {
  jobId: string;
}

export type ParsedCommand =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; options: RunCommandOptions }
  | { kind: 'plan'; options: JobCommandOptions }
  | { kind: 'savepoint'; options: SavepointCommandOptions }
  | { kind: 'stop'; options: StopCommandOptions }
  | { kind: 'list'; options: ClientCommandOptions }
  | { kind: 'cancel'; options: CancelCommandOptions };

/** Where `sluice run` serves its REST API unless told otherwise, and where the client commands look. */
export const DEFAULT_REST_PORT = 8081;
export const DEFAULT_REST_ADDRESS = `http://127.0.0.1:${DEFAULT_REST_PORT}`;
/** Environment variable naming the REST address for savepoint, stop, list and cancel. */
export const ADDRESS_ENV_VAR = 'SLUICE_ADDRESS';
export const DEFAULT_SAVEPOINT_DIRECTORY = 'savepoints';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/** Flags of `run` and `plan`: the job and its configuration. */
const JOB_OPTIONS = {
  parallelism: { type: 'string', short: 'p' },
  D: { type: 'string', short: 'D', multiple: true },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'buffer-timeout': { type: 'string' },
  'checkpoint-interval': { type: 'string' },
  'checkpoint-dir': { type: 'string' },
  'restart-strategy': { type: 'string' },
  'tolerable-failed-checkpoints': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const RUN_OPTIONS = {
  ...JOB_OPTIONS,
  'metrics-port': { type: 'string' },
  'rest-port': { type: 'string' },
  'from-savepoint': { type: 'string' },
  'allow-non-restored-state': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'shutdown-timeout': { type: 'string' },
  'rest-token-file': { type: 'string' },
  'rest-allowed-host': { type: 'string', multiple: true },
  'savepoint-root': { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

const CLIENT_OPTIONS = {
  address: { type: 'string' },
  'rest-token-file': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const STOP_OPTIONS = {
  ...CLIENT_OPTIONS,
  'savepoint-path': { type: 'string' },
  drain: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const CLIENT_COMMANDS = ['savepoint', 'stop', 'list', 'cancel'] as const;

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '-h' || first === '--help') return { kind: 'help', text: TOP_LEVEL_HELP };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') return helpFor(rest);
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  if (first === 'run') return parseRun(rest);
  if (first === 'plan') return parsePlan(rest);
  if (first === 'savepoint') return parseSavepoint(rest);
  if (first === 'stop') return parseStop(rest);
  if (first === 'list') return parseList(rest);
  if (first === 'cancel') return parseCancel(rest);
  throw new UsageError(`unknown command '${first}'`);
}

function helpFor(rest: string[]): ParsedCommand {
  const [topic, extra] = rest;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (topic === undefined) return { kind: 'help', text: TOP_LEVEL_HELP };
  if (topic === 'run' || topic === 'plan' || (CLIENT_COMMANDS as readonly string[]).includes(topic)) return { kind: 'help', text: COMMAND_HELP[topic as CommandName] };
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
  const savepoint = values['from-savepoint'];
  if (savepoint !== undefined) run.fromSavepoint = nonEmpty(savepoint, '--from-savepoint', 'the path of a savepoint or retained checkpoint', 'run');
  if (values['allow-non-restored-state'] === true) {
    if (savepoint === undefined) throw new UsageError('--allow-non-restored-state only applies with --from-savepoint <path>', 'run');
    run.allowNonRestoredState = true;
  }
  const tokenFile = values['rest-token-file'];
  if (tokenFile !== undefined) run.restTokenFile = nonEmpty(tokenFile, '--rest-token-file', 'a file path', 'run');
  const hosts = values['rest-allowed-host'];
  if (hosts !== undefined) run.restAllowedHosts = hosts.map(parseAllowedHostFlag);
  const roots = values['savepoint-root'];
  if (roots !== undefined) run.savepointRoots = roots.map((r) => nonEmpty(r, '--savepoint-root', 'a directory', 'run'));
  return { kind: 'run', options: run };
}

/** The flags that configure the job, shared by `run` and `plan`. */
function configureJob(options: JobCommandOptions, values: JobValues, command: CommandName): void {
  const bufferTimeout = values['buffer-timeout'];
  if (bufferTimeout !== undefined) options.bufferTimeoutMs = parseBufferTimeout(bufferTimeout, command);
  const interval = values['checkpoint-interval'];
  if (interval !== undefined) options.checkpointIntervalMs = parseCheckpointInterval(interval, command);
  const dir = values['checkpoint-dir'];
  if (dir !== undefined) options.checkpointDir = nonEmpty(dir, '--checkpoint-dir', 'a directory', command);
  const strategy = values['restart-strategy'];
  if (strategy !== undefined) {
    try {
      options.restartStrategy = parseRestartStrategy(strategy);
    } catch (err) {
      throw new UsageError(`invalid value '${strategy}' for --restart-strategy: ${describeError(err)}`, command);
    }
  }
  const tolerable = values['tolerable-failed-checkpoints'];
  if (tolerable !== undefined) {
    const n = /^\d+$/.test(tolerable) ? Number(tolerable) : NaN;
    if (!Number.isSafeInteger(n)) throw new UsageError(`invalid value '${tolerable}' for --tolerable-failed-checkpoints: expected a non-negative integer (0 fails over on the first failed checkpoint)`, command);
    options.tolerableFailedCheckpoints = n;
  }
}

function parseAllowedHostFlag(raw: string): string {
  const problem = allowedHostProblem(raw);
  if (problem !== undefined) throw new UsageError(`invalid value '${raw}' for --rest-allowed-host: ${problem}`, 'run');
  return raw.trim();
}

function parseCheckpointInterval(raw: string, command: CommandName): number {
  let ms: number;
  try {
    ms = parseDuration(raw, '--checkpoint-interval');
  } catch {
    ms = NaN;
  }
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(`invalid value '${raw}' for --checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off)`, command);
  }
  return ms;
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

function parseSavepoint(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('savepoint', args, CLIENT_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.savepoint };
  const [jobId, targetDirectory, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'savepoint');
  const options: SavepointCommandOptions = { ...clientOptions('savepoint', values), jobId: parseJobId(jobId, 'savepoint <jobId> [targetDirectory]', 'savepoint') };
  if (targetDirectory !== undefined) options.targetDirectory = nonEmpty(targetDirectory, 'targetDirectory', 'a directory', 'savepoint');
  return { kind: 'savepoint', options };
}

function parseStop(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('stop', args, STOP_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.stop };
  const [jobId, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'stop');
  const id = parseJobId(jobId, 'stop <jobId> --savepoint-path <dir>', 'stop');
  const path = values['savepoint-path'];
  if (path === undefined) throw new UsageError('missing --savepoint-path <dir>: stop takes a savepoint into that directory before the job ends', 'stop');
  return { kind: 'stop', options: { ...clientOptions('stop', values), jobId: id, savepointPath: nonEmpty(path, '--savepoint-path', 'a directory', 'stop'), drain: values.drain === true } };
}

function parseList(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('list', args, CLIENT_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.list };
  if (positionals[0] !== undefined) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'list');
  return { kind: 'list', options: clientOptions('list', values) };
}

function parseCancel(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('cancel', args, CLIENT_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.cancel };
  const [jobId, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'cancel');
  return { kind: 'cancel', options: { ...clientOptions('cancel', values), jobId: parseJobId(jobId, 'cancel <jobId>', 'cancel') } };
}

function clientOptions(command: CommandName, values: { address?: string | undefined; 'rest-token-file'?: string | undefined; verbose?: boolean | undefined }): ClientCommandOptions {
  const options: ClientCommandOptions = { verbose: values.verbose === true };
  if (values.address !== undefined) options.address = parseAddress(values.address, '--address', command);
  const tokenFile = values['rest-token-file'];
  if (tokenFile !== undefined) options.restTokenFile = nonEmpty(tokenFile, '--rest-token-file', 'a file path', command);
  return options;
}

function parseJobId(raw: string | undefined, synopsis: string, command: CommandName): string {
  if (raw === undefined) throw new UsageError(`missing job id: sluice ${synopsis} ('sluice list' shows the ids)`, command);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(raw)) throw new UsageError(`invalid job id '${raw}': expected letters, digits, '.', '_' or '-' as 'sluice list' shows them`, command);
  return raw;
}

/**
 * A REST address as given by `--address` or SLUICE_ADDRESS: `http://host:port[/prefix]`, or just
 * `host:port`. Returned without a trailing slash.
 */
export function parseAddress(raw: string, source: string, command: CommandName): string {
  const invalid = (why: string): UsageError => new UsageError(`invalid value '${raw}' for ${source}: ${why}`, command);
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`expected a URL like ${DEFAULT_REST_ADDRESS}`);
  }
  if (url.protocol !== 'http:') throw invalid(`expected an http:// URL like ${DEFAULT_REST_ADDRESS} (the REST API speaks plain HTTP)`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw invalid(`expected a URL like ${DEFAULT_REST_ADDRESS}, without query, fragment or credentials`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function nonEmpty(raw: string, flag: string, what: string, command: CommandName): string {
  if (raw.trim() === '') throw new UsageError(`invalid value '' for ${flag}: expected ${what}`, command);
  return raw;
}

function parsePlan(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('plan', args, JOB_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.plan };
  return { kind: 'plan', options: jobOptions('plan', values, positionals) };
}

type JobValues = { [K in keyof typeof JOB_OPTIONS]?: (typeof JOB_OPTIONS)[K] extends { type: 'boolean' } ? boolean | undefined : (typeof JOB_OPTIONS)[K] extends { multiple: true } ? string[] | undefined : string | undefined };

function jobOptions(command: CommandName, values: JobValues, positionals: string[]): JobCommandOptions {
  const [jobFile, extra] = positionals;
  if (jobFile === undefined) throw new UsageError(`missing job file: sluice ${command} <job.ts|job.js>`, command);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, command);
  const options: JobCommandOptions = { jobFile, params: parseParams(values.D ?? [], command), verbose: values.verbose === true };
  if (values.parallelism !== undefined) options.parallelism = parseParallelism(values.parallelism, command);
  configureJob(options, values, command);
  return options;
}

function parseParallelism(raw: string, command: CommandName): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`invalid value '${raw}' for -p/--parallelism: expected a positive integer`, command);
  }
  return n;
}

function parseBufferTimeout(raw: string, command: CommandName): number {
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) {
    throw new UsageError(`invalid value '${raw}' for --buffer-timeout: expected a non-negative number of milliseconds`, command);
  }
  return n;
}

function parsePort(raw: string, flag: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) {
    throw new UsageError(`invalid value '${raw}' for ${flag}: expected a port number 0..65535 (0 picks a free port)`, 'run');
  }
  return n;
}

function parseParams(raw: readonly string[], command: CommandName): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid value '${item}' for -D: expected key=value`, command);
    // Later -D flags override earlier ones with the same key, as in Flink.
    params[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return params;
}

/** parseArgs in strict mode, with its errors rewritten into one line that names the flag. */
function strictParse<O extends OptionsConfig>(command: CommandName, args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err, options), command);
  }
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

function describeParseError(err: unknown, options: OptionsConfig): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // Node quotes the flag, e.g. '--foo', '-p' or '-p, --parallelism <value>'.
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = optionName(quoted, options);
    const flag = name === undefined ? quoted : displayFlag(name, options);
    if (message.includes('does not take an argument')) return `option ${flag} takes no value`;
    if (message.includes('ambiguous') && name !== undefined) {
      const example = name.length > 1 ? `--${name}=-VALUE` : `-${name}-VALUE`;
      return `option ${flag} needs a value (for a value starting with '-', write ${example})`;
    }
    return `option ${flag} needs a value`;
  }
  return message.split('\n')[0] ?? message;
}

/** The config key of the first flag in Node's quoted text ('-p, --parallelism <value>' → 'parallelism'). */
function optionName(quoted: string, options: OptionsConfig): string | undefined {
  const token = quoted.split(/[ ,]/)[0] ?? '';
  if (token.startsWith('--')) return token.slice(2);
  const short = token.slice(1);
  return Object.keys(options).find((k) => options[k]?.short === short) ?? (short in options ? short : undefined);
}

function displayFlag(name: string, options: OptionsConfig): string {
  if (name.length === 1) return `-${name}`;
  const short = options[name]?.short;
  return short === undefined ? `--${name}` : `-${short}/--${name}`;
}
