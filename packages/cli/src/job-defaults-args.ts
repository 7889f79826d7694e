/**
 * The job defaults of a session cluster (`cluster start`, `mesos-session`): `--default-*` and
 * `-D key=value`, which the cluster serves at GET /config and `sluice submit` applies under its
 * own flags. Parsed as submit parses `-p`, `--checkpoint-interval` and `-D`; how a set of
 * defaults reads in one line (the startup banner, submit's note); and the same defaults as flags
 * again (for a detached cluster's process). Pure.
 */
import { formatDuration } from '@sluice/protocol';
import type { JobDefaults } from '@sluice/jobmanager';
import { nonEmpty, UsageError } from './arg-parsing.js';
import { parseCheckpointInterval, parseParallelism, parseParams } from './job-args.js';
import type { CommandName } from './usage.js';

export const JOB_DEFAULTS_OPTIONS = {
  'default-parallelism': { type: 'string' },
  'default-checkpoint-dir': { type: 'string' },
  'default-checkpoint-interval': { type: 'string' },
  D: { type: 'string', short: 'D', multiple: true },
} as const;

type DefaultsValues = { [K in keyof typeof JOB_DEFAULTS_OPTIONS]?: (typeof JOB_DEFAULTS_OPTIONS)[K] extends { multiple: true } ? string[] : string };

/** The defaults the flags give (checkpointDir as given: the command resolves it); undefined for none. */
export function jobDefaultsFromFlags(values: DefaultsValues, command: CommandName): JobDefaults | undefined {
  const defaults: JobDefaults = {};
  const p = values['default-parallelism'];
  if (p !== undefined) defaults.parallelism = parseParallelism(p, command, '--default-parallelism');
  const dir = values['default-checkpoint-dir'];
  if (dir !== undefined) defaults.checkpointDir = nonEmpty(dir, '--default-checkpoint-dir', 'a directory', command);
  const interval = values['default-checkpoint-interval'];
  if (interval !== undefined) defaults.checkpointIntervalMs = parseCheckpointInterval(interval, command, '--default-checkpoint-interval');
  const params = parseParams(values.D ?? [], command);
  if (Object.keys(params).length > 0) defaults.params = params;
  return Object.keys(defaults).length === 0 ? undefined : defaults;
}

/** `mesos-job` shares cluster start's flags, but its cluster runs one job whose own flags are the settings. */
export function refuseJobDefaults(values: DefaultsValues, command: CommandName): void {
  const given = (['default-parallelism', 'default-checkpoint-dir', 'default-checkpoint-interval'] as const).find((k) => values[k] !== undefined);
  if (given === undefined) return;
  const own = { 'default-parallelism': '-p', 'default-checkpoint-dir': '--checkpoint-dir', 'default-checkpoint-interval': '--checkpoint-interval' }[given];
  throw new UsageError(`--${given} is not supported by ${command}: its cluster runs this one job, whose own flags set it; use ${own}`, command);
}

/**
 * One line: `-p 4, checkpoints every 10s to /mnt/ck, -D bootstrap=…`. Parameter values are left
 * out: they may be credentials, and the line goes to terminals and CI logs.
 */
export function describeJobDefaults(d: JobDefaults): string {
  const parts: string[] = [];
  if (d.parallelism !== undefined) parts.push(`-p ${d.parallelism}`);
  const every = d.checkpointIntervalMs;
  const dir = d.checkpointDir === undefined ? '' : ` to ${d.checkpointDir}`;
  if (every === 0) parts.push(`no checkpoints${dir === '' ? '' : ` (directory ${d.checkpointDir})`}`);
  else if (every !== undefined) parts.push(`checkpoints every ${formatDuration(every)}${dir}`);
  else if (d.checkpointDir !== undefined) parts.push(`checkpoints${dir}`);
  for (const key of Object.keys(d.params ?? {})) parts.push(`-D ${key}=…`);
  return parts.join(', ');
}

/** The same defaults again as flags, for the detached process. */
export function jobDefaultsArgs(d: JobDefaults): string[] {
  return [
    ...(d.parallelism === undefined ? [] : ['--default-parallelism', String(d.parallelism)]),
    ...(d.checkpointDir === undefined ? [] : ['--default-checkpoint-dir', d.checkpointDir]),
    ...(d.checkpointIntervalMs === undefined ? [] : ['--default-checkpoint-interval', d.checkpointIntervalMs === 0 ? '0' : `${d.checkpointIntervalMs}ms`]),
    ...Object.entries(d.params ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
  ];
}
