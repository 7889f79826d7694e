/**
 * The JobArtifact a job command describes: the module to load, the user's file, `-D` parameters,
 * `-p`, and the configuration flags as overrides (directories resolved against the caller's
 * working directory, because whoever reads them runs elsewhere). Pure.
 */
import { resolve } from 'node:path';
import type { JobArtifact, JobConfig } from '@sluice/protocol';
import type { JobCommandOptions } from './job-args.js';

export function jobArtifact(options: JobCommandOptions, entry: string, cwd: string): JobArtifact {
  const artifact: JobArtifact = { entry, source: options.jobFile, params: options.params };
  if (options.parallelism !== undefined) artifact.parallelism = options.parallelism;
  const config: Partial<JobConfig> = {};
  if (options.bufferTimeoutMs !== undefined) config.bufferTimeoutMs = options.bufferTimeoutMs;
  if (options.checkpointIntervalMs !== undefined) config.checkpointIntervalMs = options.checkpointIntervalMs;
  if (options.checkpointDir !== undefined) config.checkpointDir = resolve(cwd, options.checkpointDir);
  if (options.restartStrategy !== undefined) config.restartStrategy = options.restartStrategy;
  if (options.tolerableFailedCheckpoints !== undefined) config.tolerableFailedCheckpoints = options.tolerableFailedCheckpoints;
  if (Object.keys(config).length > 0) artifact.config = config;
  return artifact;
}
