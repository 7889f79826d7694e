/**
 * Turns argv into a validated command, or a UsageError that names the offending input and
 * points at the right `--help`. Pure: no I/O, no process state, so it is table-tested.
 * All user-facing validation of flags happens here, at the edge.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SluiceError } from '@sluice/common';
import { COMMAND_HELP, TOP_LEVEL_HELP, type CommandName } from './usage.js';

/** Bad command-line usage; the CLI exits with code 2. */
export class UsageError extends SluiceError {
  constructor(problem: string, command?: CommandName) {
    super('USAGE', `${problem}. Run 'sluice ${command === undefined ? '' : `${command} `}--help'`);
    this.name = 'UsageError';
  }
}

export interface JobCommandOptions {
  /** As given on the command line; resolved against the working directory later. */
  jobFile: string;
  params: Record<string, string>;
  parallelism?: number;
  verbose: boolean;
}

export interface RunCommandOptions extends JobCommandOptions {
  bufferTimeoutMs?: number;
  metricsPort?: number;
}

export type ParsedCommand =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; options: RunCommandOptions }
  | { kind: 'plan'; options: JobCommandOptions };

const COMMON_OPTIONS = {
  parallelism: { type: 'string', short: 'p' },
  D: { type: 'string', short: 'D', multiple: true },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const RUN_OPTIONS = {
  ...COMMON_OPTIONS,
  'buffer-timeout': { type: 'string' },
  'metrics-port': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '-h' || first === '--help') return { kind: 'help', text: TOP_LEVEL_HELP };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') return helpFor(rest);
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  if (first === 'run') return parseRun(rest);
  if (first === 'plan') return parsePlan(rest);
  throw new UsageError(`unknown command '${first}'`);
}

function helpFor(rest: string[]): ParsedCommand {
  const [topic, extra] = rest;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (topic === undefined) return { kind: 'help', text: TOP_LEVEL_HELP };
  if (topic === 'run' || topic === 'plan') return { kind: 'help', text: COMMAND_HELP[topic] };
  throw new UsageError(`unknown command '${topic}'`);
}

function parseRun(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('run', args, RUN_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.run };
  const options: RunCommandOptions = jobOptions('run', values, positionals);
  const bufferTimeout = values['buffer-timeout'];
  if (bufferTimeout !== undefined) options.bufferTimeoutMs = parseBufferTimeout(bufferTimeout);
  const metricsPort = values['metrics-port'];
  if (metricsPort !== undefined) options.metricsPort = parsePort(metricsPort);
  return { kind: 'run', options };
}

function parsePlan(args: string[]): ParsedCommand {
  const { values, positionals } = strictParse('plan', args, COMMON_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.plan };
  return { kind: 'plan', options: jobOptions('plan', values, positionals) };
}

interface CommonValues {
  parallelism?: string | undefined;
  D?: string[] | undefined;
  verbose?: boolean | undefined;
}

function jobOptions(command: CommandName, values: CommonValues, positionals: string[]): JobCommandOptions {
  const [jobFile, extra] = positionals;
  if (jobFile === undefined) throw new UsageError(`missing job file: sluice ${command} <job.ts|job.js>`, command);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, command);
  const options: JobCommandOptions = { jobFile, params: parseParams(values.D ?? [], command), verbose: values.verbose === true };
  if (values.parallelism !== undefined) options.parallelism = parseParallelism(values.parallelism, command);
  return options;
}

function parseParallelism(raw: string, command: CommandName): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`invalid value '${raw}' for -p/--parallelism: expected a positive integer`, command);
  }
  return n;
}

function parseBufferTimeout(raw: string): number {
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) {
    throw new UsageError(`invalid value '${raw}' for --buffer-timeout: expected a non-negative number of milliseconds`, 'run');
  }
  return n;
}

function parsePort(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 65535)) {
    throw new UsageError(`invalid value '${raw}' for --metrics-port: expected a port number 0..65535 (0 picks a free port)`, 'run');
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
