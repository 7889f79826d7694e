/**
 * The flags that name a job and configure it, the same for `run`, `plan` and `submit`: the job
 * file, `-p`, `-D`, buffer timeout, checkpointing, restart strategy, and the savepoint to start
 * from. Pure, like every parser of the CLI.
 */
import type { ParseArgsConfig } from 'node:util';
import { describeError } from '@sluice/common';
import { parseDuration, parseRestartStrategy, type RestartStrategyConfig } from '@sluice/protocol';
import { nonEmpty, UsageError } from './arg-parsing.js';
import type { CommandName } from './usage.js';

/** What `run`, `plan` and `submit` share: the job, its parameters and the flags that configure it. */
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

/** Where a job starts from, for `run` and `submit`. */
export interface RestoreOptions {
  /** As given; resolved against the working directory later. */
  fromSavepoint?: string;
  allowNonRestoredState?: true;
}

/** Flags of `run`, `plan` and `submit`: the job and its configuration. */
export const JOB_OPTIONS = {
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

export const RESTORE_OPTIONS = {
  'from-savepoint': { type: 'string' },
  'allow-non-restored-state': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

type Values<O> = { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean | undefined : O[K] extends { multiple: true } ? string[] | undefined : string | undefined };
export type JobValues = Values<typeof JOB_OPTIONS>;
type RestoreValues = Values<typeof RESTORE_OPTIONS>;

export function jobOptions(command: CommandName, values: JobValues, positionals: string[]): JobCommandOptions {
  const [jobFile, extra] = positionals;
  if (jobFile === undefined) throw new UsageError(`missing job file: sluice ${command} <job.ts|job.js>`, command);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, command);
  const options: JobCommandOptions = { jobFile, params: parseParams(values.D ?? [], command), verbose: values.verbose === true };
  if (values.parallelism !== undefined) options.parallelism = parseParallelism(values.parallelism, command);
  configureJob(options, values, command);
  return options;
}

/** `--from-savepoint` and `--allow-non-restored-state`, which needs the first. */
export function restoreOptions(values: RestoreValues, command: CommandName): RestoreOptions {
  const options: RestoreOptions = {};
  const savepoint = values['from-savepoint'];
  if (savepoint !== undefined) options.fromSavepoint = nonEmpty(savepoint, '--from-savepoint', 'the path of a savepoint or retained checkpoint', command);
  if (values['allow-non-restored-state'] === true) {
    if (savepoint === undefined) throw new UsageError('--allow-non-restored-state only applies with --from-savepoint <path>', command);
    options.allowNonRestoredState = true;
  }
  return options;
}

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

/** A checkpoint interval in ms; `flag` names it in the error (cluster start's --default-checkpoint-interval takes it too). */
export function parseCheckpointInterval(raw: string, command: CommandName, flag = '--checkpoint-interval'): number {
  let ms: number;
  try {
    ms = parseDuration(raw, flag);
  } catch {
    ms = NaN;
  }
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(`invalid value '${raw}' for ${flag}: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off)`, command);
  }
  return ms;
}

export function parseParallelism(raw: string, command: CommandName, flag = '-p/--parallelism'): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`invalid value '${raw}' for ${flag}: expected a positive integer`, command);
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

/** `-D key=value` flags as parameters; cluster start's -D (defaults for every job) are the same. */
export function parseParams(raw: readonly string[], command: CommandName): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid value '${item}' for -D: expected key=value`, command);
    // Later -D flags override earlier ones with the same key, as in Flink.
    params[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return params;
}
