/**
 * The cluster's job defaults on the submitting side: `sluice submit` asks GET /config before it
 * builds the job's graph and lays the defaults under its own flags, so the graph, the bundle's
 * parameters and the configuration overrides it submits all carry them. A cluster older than
 * GET /config (404 NOT_FOUND) has none.
 */
import type { JobDefaults } from '@sluice/jobmanager';
import type { JobCommandOptions } from './job-args.js';
import { RestClientError, type RestClient } from './rest-client.js';

const KNOWN: ReadonlySet<string> = new Set(['parallelism', 'checkpointDir', 'checkpointIntervalMs', 'params']);

export interface FetchedJobDefaults {
  defaults: JobDefaults;
  /** Defaults the cluster has that this client does not know (a newer cluster): not applied. */
  unknown: string[];
}

/** The cluster's job defaults, checked; REST_BAD_RESPONSE for an answer that is not what GET /config serves. */
export async function fetchJobDefaults(client: RestClient): Promise<FetchedJobDefaults> {
  let answer: unknown;
  try {
    answer = await client.config();
  } catch (err) {
    if (err instanceof RestClientError && err.status === 404 && err.code === 'NOT_FOUND') return { defaults: {}, unknown: [] };
    throw err;
  }
  const bad = (what: string): RestClientError =>
    new RestClientError('REST_BAD_RESPONSE', `the cluster at ${client.address} answered GET /config with ${what}; is it a Sluice REST API of a matching version?`);
  const raw = (answer as { jobDefaults?: unknown } | null)?.jobDefaults;
  if (!isRecord(raw)) throw bad('no jobDefaults object');
  const defaults: JobDefaults = {};
  const { parallelism, checkpointDir, checkpointIntervalMs, params } = raw;
  if (parallelism !== undefined) {
    if (!Number.isSafeInteger(parallelism) || (parallelism as number) < 1) throw bad(`a parallelism of ${JSON.stringify(parallelism)}`);
    defaults.parallelism = parallelism as number;
  }
  if (checkpointDir !== undefined) {
    if (typeof checkpointDir !== 'string' || !checkpointDir.startsWith('/')) throw bad(`a checkpoint directory of ${JSON.stringify(checkpointDir)}`);
    defaults.checkpointDir = checkpointDir;
  }
  if (checkpointIntervalMs !== undefined) {
    if (!Number.isSafeInteger(checkpointIntervalMs) || (checkpointIntervalMs as number) < 0) throw bad(`a checkpoint interval of ${JSON.stringify(checkpointIntervalMs)}`);
    defaults.checkpointIntervalMs = checkpointIntervalMs as number;
  }
  if (params !== undefined) {
    if (!isRecord(params) || Object.values(params).some((v) => typeof v !== 'string')) throw bad('parameters that are not strings');
    if (Object.keys(params).length > 0) defaults.params = params as Record<string, string>;
  }
  return { defaults, unknown: Object.keys(raw).filter((k) => !KNOWN.has(k)) };
}

export interface AppliedJobDefaults {
  /** The job's options with the defaults under the flags. */
  options: JobCommandOptions;
  /** The defaults that took effect (no flag of the same setting, no -D of the same key). */
  applied: JobDefaults;
}

/** The defaults under the flags: -p, --checkpoint-dir and --checkpoint-interval win, -D wins key by key. */
export function applyJobDefaults(options: JobCommandOptions, defaults: JobDefaults): AppliedJobDefaults {
  const merged: JobCommandOptions = { ...options };
  const applied: JobDefaults = {};
  if (options.parallelism === undefined && defaults.parallelism !== undefined) merged.parallelism = applied.parallelism = defaults.parallelism;
  if (options.checkpointDir === undefined && defaults.checkpointDir !== undefined) merged.checkpointDir = applied.checkpointDir = defaults.checkpointDir;
  if (options.checkpointIntervalMs === undefined && defaults.checkpointIntervalMs !== undefined) merged.checkpointIntervalMs = applied.checkpointIntervalMs = defaults.checkpointIntervalMs;
  const params = Object.fromEntries(Object.entries(defaults.params ?? {}).filter(([k]) => !Object.hasOwn(options.params, k)));
  if (Object.keys(params).length > 0) {
    applied.params = params;
    merged.params = { ...params, ...options.params };
  }
  return { options: merged, applied };
}

/** The flags (as overrides.ts names them) whose value came from the cluster's defaults. */
export function flagsFromDefaults(applied: JobDefaults): ReadonlySet<string> {
  const flags = new Set<string>();
  if (applied.parallelism !== undefined) flags.add('-p');
  if (applied.checkpointDir !== undefined) flags.add('--checkpoint-dir');
  if (applied.checkpointIntervalMs !== undefined) flags.add('--checkpoint-interval');
  return flags;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
