/**
 * `sluice submit`: asks the cluster for its job defaults (cluster-defaults.ts) and lays them
 * under its flags, bundles the job, builds its graph here (as `plan` does, so a job that cannot
 * be built fails before anything is uploaded), uploads the bundle, submits the job and prints
 * its id; then, unless detached, follows it (follow-job.ts). Ctrl-C before the submission
 * abandons it (nothing is submitted); after it, Ctrl-C detaches and the job keeps running, as a
 * Flink client in attached mode leaves its job. A second Ctrl-C ends the process at once.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { SluiceError } from '@sluice/common';
import type { SubmitJobRequest } from '@sluice/jobmanager';
import type { JobArtifact, JobGraph } from '@sluice/protocol';
import { DEFAULT_REST_ADDRESS } from './client-args.js';
import { applyJobDefaults, fetchJobDefaults, flagsFromDefaults } from './cluster-defaults.js';
import type { JobBundle } from './compile-job.js';
import { EXIT_CANCELED, followJob } from './follow-job.js';
import { jobArtifact } from './job-artifact.js';
import type { JobCommandOptions, RestoreOptions } from './job-args.js';
import { describeJobDefaults } from './job-defaults-args.js';
import { overriddenFlagWarnings } from './overrides.js';
import { RestClientError, type RestClient } from './rest-client.js';
import type { StatusTerminal } from './status-line.js';
import type { SubmitCommandOptions } from './submit-args.js';

export type SubmitSignal = 'SIGINT' | 'SIGTERM';

export interface SubmitContext {
  client: RestClient;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** An interactive stderr for upload progress and the live status line. */
  statusTerminal?: StatusTerminal;
  signals?: {
    on(signal: SubmitSignal, listener: (signal: SubmitSignal) => void): unknown;
    off(signal: SubmitSignal, listener: (signal: SubmitSignal) => void): unknown;
  };
  /** Ends the process at once (a second Ctrl-C). */
  terminate(signal: SubmitSignal): void;
  bundleJob(path: string): Promise<JobBundle>;
  /** Builds the job's graph from the bundle on disk: @sluice/api's loadJob. */
  buildGraph(artifact: JobArtifact): Promise<JobGraph>;
  now(): number;
  pollIntervalMs: number;
  lostContactTimeoutMs: number;
}

export async function submitCommand(options: SubmitCommandOptions, ctx: SubmitContext): Promise<number> {
  const terminal = options.quiet ? undefined : ctx.statusTerminal;
  const address = ctx.client.address;
  const where = address === DEFAULT_REST_ADDRESS ? '' : ` --address ${address}`;
  // Aborted on the first signal: before the submission it abandons it, after it it detaches.
  const interrupted = new AbortController();
  let signals = 0;
  const onSignal = (signal: SubmitSignal): void => {
    signals++;
    if (signals > 1) {
      terminal?.clear();
      ctx.terminate(signal);
      return;
    }
    interrupted.abort();
  };
  ctx.signals?.on('SIGINT', onSignal);
  ctx.signals?.on('SIGTERM', onSignal);
  const notSubmitted = (): number => {
    terminal?.clear();
    ctx.stderr('sluice: interrupted; nothing was submitted\n');
    return EXIT_CANCELED;
  };
  try {
    const { options: job, applied } = await withClusterDefaults(options, ctx);
    if (interrupted.signal.aborted) return notSubmitted();
    const prepared = await prepareJob(job, ctx, interrupted.signal, flagsFromDefaults(applied));
    if (prepared === undefined) return notSubmitted();
    const submitted = await uploadAndSubmit(prepared, { ...options, ...job }, { client: ctx.client, cwd: ctx.cwd, terminal, signal: interrupted.signal });
    if (submitted === undefined) return notSubmitted();
    const { jobId, bundleBytes } = submitted;
    const { graph } = prepared;
    const name = `Job '${graph.jobName}'`;
    if (options.detached) {
      ctx.stderr(`${name} submitted to ${address} (bundle ${formatBytes(bundleBytes)}); 'sluice info ${jobId}${where}' shows it, 'sluice cancel ${jobId}${where}' cancels it\n`);
      ctx.stdout(`${jobId}\n`);
      return 0;
    }
    ctx.stderr(`${name} (${jobId}) submitted to ${address} (bundle ${formatBytes(bundleBytes)}); following it, Ctrl-C detaches and leaves it running\n`);
    return await followJob({
      client: ctx.client,
      jobId,
      graph,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      terminal,
      now: ctx.now,
      detach: interrupted.signal,
      detachHint: `Cancel it with: sluice cancel ${jobId}${where}`,
      pollIntervalMs: ctx.pollIntervalMs,
      lostContactTimeoutMs: ctx.lostContactTimeoutMs,
      verbose: options.verbose,
    });
  } finally {
    terminal?.clear();
    ctx.signals?.off('SIGINT', onSignal);
    ctx.signals?.off('SIGTERM', onSignal);
  }
}

/** The job's options with the cluster's defaults under its flags; says which it applied unless quiet. */
async function withClusterDefaults(options: SubmitCommandOptions, ctx: SubmitContext): Promise<ReturnType<typeof applyJobDefaults>> {
  const { defaults, unknown } = await fetchJobDefaults(ctx.client);
  if (unknown.length > 0) {
    ctx.stderr(`sluice: warning: the cluster at ${ctx.client.address} has job defaults this sluice does not know and leaves out (${unknown.join(', ')}); use the cluster's version of sluice\n`);
  }
  const result = applyJobDefaults(options, defaults);
  const line = describeJobDefaults(result.applied);
  if (!options.quiet && line !== '') ctx.stderr(`Cluster defaults applied: ${line}\n`);
  return result;
}

/** A job ready to upload: its bundle, and its graph built here as `plan` builds it. */
export interface PreparedJob {
  bundle: JobBundle;
  artifact: JobArtifact;
  graph: JobGraph;
}

/**
 * Bundles the job and builds its graph, so a job that cannot be built fails before anything
 * starts or uploads; undefined when `signal` was aborted meanwhile.
 */
export async function prepareJob(
  options: JobCommandOptions,
  ctx: Pick<SubmitContext, 'bundleJob' | 'buildGraph' | 'cwd' | 'stderr'>,
  signal: AbortSignal,
  fromCluster?: ReadonlySet<string>,
): Promise<PreparedJob | undefined> {
  const bundle = await ctx.bundleJob(options.jobFile);
  if (signal.aborted) return undefined;
  const artifact = jobArtifact(options, bundle.file, ctx.cwd);
  const graph = await ctx.buildGraph(artifact);
  for (const w of overriddenFlagWarnings(options, graph.config, ctx.cwd, fromCluster)) ctx.stderr(`sluice: warning: ${w}\n`);
  return signal.aborted ? undefined : { bundle, artifact, graph };
}

export interface UploadContext {
  client: RestClient;
  cwd: string;
  /** Where upload progress goes, if anywhere. */
  terminal: StatusTerminal | undefined;
  /** Aborted: abandon the upload; nothing is submitted. */
  signal: AbortSignal;
}

/** Uploads the bundle and submits the job: its id, or undefined when `signal` abandoned it before the submission. */
export async function uploadAndSubmit(job: PreparedJob, options: JobCommandOptions & RestoreOptions, ctx: UploadContext): Promise<{ jobId: string; bundleBytes: number } | undefined> {
  const { client, terminal, signal } = ctx;
  const address = client.address;
  const progress = terminal === undefined ? undefined : (sent: number, total: number) => terminal.draw(`Uploading ${options.jobFile}: ${formatBytes(sent)} of ${formatBytes(total)} (${total === 0 ? 100 : Math.floor((sent / total) * 100)}%)`);
  let uploaded;
  try {
    uploaded = await client.uploadArtifact(job.bundle.bytes, { ...(progress === undefined ? {} : { onProgress: progress }), signal });
  } catch (err) {
    if (err instanceof RestClientError && err.code === 'ABORTED') return undefined;
    throw refusal(err, address);
  } finally {
    terminal?.clear();
  }
  if (signal.aborted) return undefined;
  const sha256 = createHash('sha256').update(job.bundle.bytes).digest('hex');
  if (uploaded.id !== sha256) {
    throw new SluiceError('ARTIFACT_MISMATCH', `the cluster at ${address} stored the bundle of ${options.jobFile} as ${uploaded.id}, but its SHA-256 is ${sha256}: the upload was altered on the way; try again`);
  }
  // From here an interrupt cannot take the submission back.
  const jobId = await client.submitJob(submitRequest(options, job.artifact, uploaded.id, job.graph, ctx.cwd)).catch((err: unknown) => {
    throw refusal(err, address);
  });
  return { jobId, bundleBytes: uploaded.bytes };
}

function submitRequest(options: JobCommandOptions & RestoreOptions, artifact: JobArtifact, artifactId: string, jobGraph: JobGraph, cwd: string): SubmitJobRequest {
  const request: SubmitJobRequest = { artifactId, jobGraph, source: options.jobFile, params: artifact.params };
  if (artifact.parallelism !== undefined) request.parallelism = artifact.parallelism;
  if (artifact.config !== undefined) request.config = artifact.config;
  if (options.fromSavepoint !== undefined) {
    request.restoreFrom = { path: resolve(cwd, options.fromSavepoint), ...(options.allowNonRestoredState === true ? { allowNonRestoredState: true } : {}) };
  }
  return request;
}

/** A `sluice run` server answers uploads and submissions with 404 SUBMISSION_NOT_SUPPORTED: say what to do instead. */
function refusal(err: unknown, address: string): unknown {
  if (err instanceof RestClientError && err.code === 'SUBMISSION_NOT_SUPPORTED') {
    return new SluiceError(
      'SUBMISSION_NOT_SUPPORTED',
      `the REST API at ${address} belongs to a 'sluice run' (one embedded job) and takes no submissions; start a cluster with 'sluice cluster start' and submit to its address with --address`,
      { cause: err },
    );
  }
  if (err instanceof RestClientError && err.code === 'INVALID_JOB_SUBMISSION') {
    return new SluiceError(err.code, `the cluster at ${address} refused the job: ${err.message}`, { cause: err });
  }
  return err;
}

/** `812 B`, `12.3 kB`, `4.5 MB` (powers of 1000, as upload tools show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
