/**
 * Loads a job module and builds its graphs. The same function runs on the client (to plan and
 * submit), in the JobMaster (to enumerate source splits) and in every worker thread (to find the
 * functions of its operators by node id) — which is why job building must be deterministic and
 * free of I/O. It lives here, beside the graph it builds, so a JobMaster can load a job without
 * the runtime; importing the module is the only I/O in this package.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { JobDefinitionError, describeError } from '@sluice/common';
import { StreamExecutionEnvironment } from './environment.js';
import { createJobGraph } from './jobgraph.js';
import type { StreamGraph } from './streamgraph.js';
import type { JobArtifact, JobGraph } from '@sluice/protocol';

export interface LoadedJob {
  env: StreamExecutionEnvironment;
  streamGraph: StreamGraph;
  jobGraph: JobGraph;
}

export type JobBuilder = (env: StreamExecutionEnvironment) => void | Promise<void>;

function moduleUrl(entry: string): string {
  if (entry.startsWith('file:')) return entry;
  return pathToFileURL(isAbsolute(entry) ? entry : resolve(entry)).href;
}

/** `label` names the module in errors: the user's source file when `entry` was compiled from it. */
export async function importJobBuilder(entry: string, label = entry): Promise<JobBuilder> {
  let mod: { default?: unknown };
  try {
    mod = (await import(moduleUrl(entry))) as { default?: unknown };
  } catch (err) {
    throw new JobDefinitionError(`cannot load job module ${label}: ${describeError(err)}`, { cause: err });
  }
  if (typeof mod.default !== 'function') {
    throw new JobDefinitionError(
      `job module ${label} has no default export function; export \`default (env: StreamExecutionEnvironment) => { ... }\` that builds the pipeline`,
    );
  }
  return mod.default as JobBuilder;
}

export async function buildJob(builder: JobBuilder, artifact: JobArtifact, label = artifact.source ?? artifact.entry): Promise<LoadedJob> {
  const env = new StreamExecutionEnvironment({
    params: artifact.params,
    ...(artifact.parallelism === undefined ? {} : { parallelism: artifact.parallelism }),
    ...(artifact.config === undefined ? {} : { config: artifact.config }),
  });
  try {
    await builder(env);
  } catch (err) {
    if (err instanceof JobDefinitionError) throw err;
    throw new JobDefinitionError(`building the job in ${label} threw: ${describeError(err)}`, { cause: err });
  }
  const streamGraph = env.getStreamGraph();
  const jobGraph = createJobGraph(streamGraph);
  return { env, streamGraph, jobGraph };
}

export async function loadJob(artifact: JobArtifact): Promise<LoadedJob> {
  return buildJob(await importJobBuilder(artifact.entry, artifact.source ?? artifact.entry), artifact);
}
