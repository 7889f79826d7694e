/**
 * Flags that the job's own code overrides. A flag of `sluice run` sets the submitter's layer of
 * the job's configuration and whatever the job's code sets wins (as in Flink), so a flag can be
 * silently ignored; each such flag gets one warning saying what is used instead. Pure.
 */
import { resolve } from 'node:path';
import { formatDuration, formatRestartStrategy, type JobConfig } from '@sluice/protocol';
import type { JobCommandOptions, RunCommandOptions } from './args.js';

interface FlagRule {
  flag: string;
  /** The setting, as the warning names it. */
  setting: string;
  /** The flag's value, comparable with `used`; undefined when the flag was not given. */
  given(o: JobCommandOptions & Partial<RunCommandOptions>, cwd: string): string | undefined;
  used(c: JobConfig, cwd: string): string;
}

const ms = (v: number): string => `${v} ms`;

const RULES: readonly FlagRule[] = [
  { flag: '-p', setting: 'the default parallelism', given: (o) => o.parallelism?.toString(), used: (c) => String(c.defaultParallelism) },
  { flag: '--buffer-timeout', setting: 'the buffer timeout', given: (o) => (o.bufferTimeoutMs === undefined ? undefined : ms(o.bufferTimeoutMs)), used: (c) => ms(c.bufferTimeoutMs) },
  {
    flag: '--checkpoint-interval',
    setting: 'the checkpoint interval',
    given: (o) => (o.checkpointIntervalMs === undefined ? undefined : formatDuration(o.checkpointIntervalMs)),
    used: (c) => formatDuration(c.checkpointIntervalMs),
  },
  {
    flag: '--checkpoint-dir',
    setting: 'the checkpoint directory',
    given: (o, cwd) => (o.checkpointDir === undefined ? undefined : resolve(cwd, o.checkpointDir)),
    used: (c, cwd) => (c.checkpointDir === '' ? '(the default)' : resolve(cwd, c.checkpointDir)),
  },
  {
    flag: '--restart-strategy',
    setting: 'the restart strategy',
    given: (o) => (o.restartStrategy === undefined ? undefined : formatRestartStrategy(o.restartStrategy)),
    used: (c) => formatRestartStrategy(c.restartStrategy),
  },
  {
    flag: '--tolerable-failed-checkpoints',
    setting: 'the tolerable failed checkpoints',
    given: (o) => o.tolerableFailedCheckpoints?.toString(),
    used: (c) => String(c.tolerableFailedCheckpoints),
  },
];

/**
 * One warning (without prefix or newline) per flag whose value the job's code replaced.
 * `fromCluster`: flags whose value is the cluster's default (submit), named as such.
 */
export function overriddenFlagWarnings(options: JobCommandOptions & Partial<RunCommandOptions>, config: JobConfig, cwd: string, fromCluster: ReadonlySet<string> = new Set()): string[] {
  const warnings: string[] = [];
  for (const rule of RULES) {
    const given = rule.given(options, cwd);
    if (given === undefined) continue;
    const used = rule.used(config, cwd);
    const over = `${fromCluster.has(rule.flag) ? "the cluster's default " : ''}${rule.flag} ${given}`;
    if (used !== given) warnings.push(`the job's code sets ${rule.setting} to ${used}, which wins over ${over}`);
  }
  return warnings;
}
