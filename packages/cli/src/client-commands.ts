/**
 * `sluice list | info | savepoint | stop | cancel | taskmanagers | overview`: commands that act on
 * a cluster, or on the job a `sluice run` is running, through its REST API. Paths are resolved
 * here, against the caller's working directory, because the server resolves nothing relative
 * (its directory is not the caller's).
 */
import { resolve } from 'node:path';
import type { CheckpointsResponse } from '@sluice/jobmanager';
import { ADDRESS_ENV_VAR, DEFAULT_REST_ADDRESS, DEFAULT_SAVEPOINT_DIRECTORY, parseAddress, type ClientCommand, type ClientCommandOptions } from './client-args.js';
import { RestClientError, type RestClient } from './rest-client.js';
import { formatJobInfo, formatJobList, formatOverview, formatTaskManagers } from './views.js';

export type { ClientCommand } from './client-args.js';
export { formatJobList } from './views.js';

export interface ClientCommandContext {
  client: RestClient;
  cwd: string;
  stdout(text: string): void;
  /** For `list` and `info`: the current time, for durations of running jobs. */
  now(): number;
}

/** The address to talk to: `--address`, else $SLUICE_ADDRESS, else the default. */
export function resolveAddress(command: { kind: Parameters<typeof parseAddress>[2]; options: Pick<ClientCommandOptions, 'address'> }, env: Readonly<Record<string, string | undefined>>): string {
  if (command.options.address !== undefined) return command.options.address;
  const fromEnv = env[ADDRESS_ENV_VAR];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseAddress(fromEnv.trim(), ADDRESS_ENV_VAR, command.kind);
  return DEFAULT_REST_ADDRESS;
}

export async function runClientCommand(command: ClientCommand, ctx: ClientCommandContext): Promise<void> {
  const asJson = command.options.json === true;
  const print = (value: unknown, text: () => string): void => ctx.stdout(asJson ? `${JSON.stringify(value, null, 2)}\n` : text());
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
    case 'list': {
      const jobs = await ctx.client.listJobs();
      print({ jobs }, () => formatJobList(jobs, ctx.now()));
      return;
    }
    case 'info': {
      const details = await ctx.client.jobDetails(command.options.jobId);
      const checkpoints = await latestCheckpoint(ctx.client, command.options.jobId);
      print(checkpoints === undefined ? details : { ...details, latestCheckpoint: checkpoints.latest }, () => formatJobInfo(details, checkpoints, ctx.now()));
      return;
    }
    case 'cancel':
      await ctx.client.cancelJob(command.options.jobId);
      ctx.stdout(`Cancelling job ${command.options.jobId}\n`);
      return;
    case 'taskmanagers': {
      const taskManagers = await ctx.client.taskManagers();
      print({ taskManagers }, () => formatTaskManagers(taskManagers));
      return;
    }
    case 'overview': {
      const overview = await ctx.client.overview();
      print(overview, () => formatOverview(overview));
      return;
    }
  }
}

/** The job's checkpoint statistics, or undefined when the server has none for it (it may have just gone). */
async function latestCheckpoint(client: RestClient, jobId: string): Promise<CheckpointsResponse | undefined> {
  try {
    return await client.checkpoints(jobId);
  } catch (err) {
    if (err instanceof RestClientError && err.status === 404) return undefined;
    throw err;
  }
}
