/**
 * `sluice savepoint | stop | list | cancel`: commands that act on a job a `sluice run` is
 * running, through its REST API. Paths are resolved here, against the caller's working
 * directory, because the server resolves nothing relative (its directory is not the caller's).
 */
import { resolve } from 'node:path';
import type { JobOverview } from '@sluice/protocol';
import {
  ADDRESS_ENV_VAR,
  DEFAULT_REST_ADDRESS,
  DEFAULT_SAVEPOINT_DIRECTORY,
  parseAddress,
  type CancelCommandOptions,
  type ClientCommandOptions,
  type SavepointCommandOptions,
  type StopCommandOptions,
} from './args.js';
import type { RestClient } from './rest-client.js';
import { formatDuration } from './summary.js';

export type ClientCommand =
  | { kind: 'savepoint'; options: SavepointCommandOptions }
  | { kind: 'stop'; options: StopCommandOptions }
  | { kind: 'list'; options: ClientCommandOptions }
  | { kind: 'cancel'; options: CancelCommandOptions };

export interface ClientCommandContext {
  client: RestClient;
  cwd: string;
  stdout(text: string): void;
  /** For `list`: the current time, for durations of running jobs. */
  now(): number;
}

/** The address to talk to: `--address`, else $SLUICE_ADDRESS, else the default. */
export function resolveAddress(command: ClientCommand, env: Readonly<Record<string, string | undefined>>): string {
  if (command.options.address !== undefined) return command.options.address;
  const fromEnv = env[ADDRESS_ENV_VAR];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseAddress(fromEnv.trim(), ADDRESS_ENV_VAR, command.kind);
  return DEFAULT_REST_ADDRESS;
}

export async function runClientCommand(command: ClientCommand, ctx: ClientCommandContext): Promise<void> {
  switch (command.kind) {
    case 'savepoint': {
      const { jobId, targetDirectory } = command.options;
      ctx.stdout(`${await ctx.client.triggerSavepoint(jobId, resolve(ctx.cwd, targetDirectory ?? DEFAULT_SAVEPOINT_DIRECTORY))}\n`);
      return;
    }
    case 'stop': {
      const { jobId, savepointPath, drain } = command.options;
      ctx.stdout(`${await ctx.client.stopJob(jobId, resolve(ctx.cwd, savepointPath), drain)}\n`);
      return;
    }
    case 'list':
      ctx.stdout(formatJobList(await ctx.client.listJobs(), ctx.now()));
      return;
    case 'cancel':
      await ctx.client.cancelJob(command.options.jobId);
      ctx.stdout(`Cancelling job ${command.options.jobId}\n`);
      return;
  }
}

/** A table of jobs, one line each, for `sluice list`; times in UTC. */
export function formatJobList(jobs: readonly JobOverview[], now: number): string {
  if (jobs.length === 0) return 'No jobs.\n';
  const rows = [
    ['JOB ID', 'STATUS', 'STARTED (UTC)', 'DURATION', 'NAME'],
    ...jobs.map((j) => [j.jobId, j.status, new Date(j.startTime).toISOString().slice(0, 19).replace('T', ' '), formatDuration((j.endTime ?? now) - j.startTime), j.jobName]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}
