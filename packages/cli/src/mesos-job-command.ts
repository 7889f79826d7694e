/**
 * `sluice mesos-job`: per-job mode on Mesos. The job is bundled and its graph built first (a job
 * that cannot be built never registers a framework); then a cluster entrypoint with the `mesos`
 * driver starts in this process as a framework of its own, the job is uploaded and submitted to
 * it over its REST API exactly as `sluice submit` does, and followed as an attached submit
 * follows it. When the job ends the entrypoint stops: the TaskManagers are killed and the
 * framework is torn down (the driver's terminate without HA), and the exit code is the job's.
 *
 * Ctrl-C cancels the job (before the submission: abandons it), then stops the same way; a second
 * Ctrl-C ends the process at once and says what it leaves behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger, describeError, type Logger } from '@sluice/common';
import { TERMINAL_JOB_STATUSES, type JobArtifact, type JobGraph } from '@sluice/protocol';
import type { CliSignal } from './cli.js';
import { advertisedHostOf, announceNewToken, openEntrypoint, type ClusterCommandDeps, type OpenEntrypoint } from './cluster-command.js';
import type { JobBundle } from './compile-job.js';
import { EXIT_CANCELED, followJob } from './follow-job.js';
import type { MesosJobOptions } from './mesos-job-args.js';
import type { MesosRuntime } from './mesos-runtime.js';
import { RestClientError, type RestClient } from './rest-client.js';
import type { ClientToken } from './rest-token.js';
import type { StatusTerminal } from './status-line.js';
import { formatBytes, prepareJob, uploadAndSubmit, type PreparedJob } from './submit.js';

export interface MesosJobContext extends ClusterCommandDeps {
  /** An interactive stderr for upload progress and the live status line. */
  statusTerminal?: StatusTerminal;
  bundleJob(path: string): Promise<JobBundle>;
  buildGraph(artifact: JobArtifact): Promise<JobGraph>;
  /** The REST client of the job's own entrypoint. */
  restClient(address: string, token: () => ClientToken): RestClient;
  now(): number;
  pollIntervalMs: number;
  lostContactTimeoutMs: number;
}

/** preparing: bundling and building; starting: framework, entrypoint, upload; running: the job was submitted; stopping: it ended. */
type Phase = 'preparing' | 'starting' | 'running' | 'stopping';

/** The job's cluster as far as it got, for what Ctrl-C says and does. */
interface Progress {
  phase: Phase;
  frameworkName?: string;
  failoverTimeoutSeconds: number;
  clusterDir?: string;
  open?: OpenEntrypoint;
  /** Known once the framework subscribed (read on the first Ctrl-C). */
  frameworkId?: string;
  /** The first Ctrl-C after the submission: cancel the job. */
  cancel?: () => void;
}

export async function mesosJobCommand(options: MesosJobOptions, ctx: MesosJobContext): Promise<number> {
  const terminal = options.quiet ? undefined : ctx.statusTerminal;
  const interrupted = new AbortController();
  const progress: Progress = { phase: 'preparing', failoverTimeoutSeconds: options.mesos.failoverTimeoutSeconds };
  let signals = 0;
  const onSignal = (signal: CliSignal): void => {
    signals++;
    if (signals > 1) {
      terminal?.clear();
      ctx.stderr(`sluice: ${signal} received again, exiting at once${leftBehind(progress)}\n`);
      ctx.terminate(signal);
      return;
    }
    interrupted.abort();
    void progress.open?.entry.ha.mesos.frameworkId().then(
      (id) => {
        if (id !== undefined) progress.frameworkId = id;
      },
      () => undefined,
    );
    ctx.stderr(`sluice: ${signal} received, ${firstInterrupt(progress.phase)} (press Ctrl-C again to exit immediately)\n`);
    progress.cancel?.();
  };
  ctx.signals?.on('SIGINT', onSignal);
  ctx.signals?.on('SIGTERM', onSignal);
  try {
    const prepared = await prepareJob(options, ctx, interrupted.signal);
    if (prepared === undefined) return notSubmitted(ctx);
    progress.phase = 'starting';
    return await onOwnFramework(options, prepared, ctx, { terminal, interrupted: interrupted.signal, progress });
  } finally {
    terminal?.clear();
    ctx.signals?.off('SIGINT', onSignal);
    ctx.signals?.off('SIGTERM', onSignal);
  }
}

function firstInterrupt(phase: Phase): string {
  switch (phase) {
    case 'preparing':
      return 'not submitting the job';
    case 'starting':
      return "not submitting the job; stopping the job's cluster and removing its framework from Mesos";
    case 'running':
      return 'cancelling the job; then its TaskManagers stop and its framework is removed from Mesos';
    case 'stopping':
      return "the job's cluster is already stopping";
  }
}

/** What an immediate exit leaves: the framework until its failover timeout, and the directory that can resume it. */
function leftBehind(p: Progress): string {
  if (p.frameworkName === undefined || p.phase === 'preparing') return '';
  const id = p.frameworkId === undefined ? '' : ` (${p.frameworkId})`;
  const teardown = p.frameworkId === undefined ? '' : `, or an operator can POST frameworkId=${p.frameworkId} to the master's /master/teardown`;
  const dir = p.clusterDir === undefined ? '' : `; its cluster directory ${p.clusterDir} is kept ('--cluster-dir ${p.clusterDir}' resumes the job)`;
  return `: framework '${p.frameworkName}'${id} keeps its TaskManagers until Mesos removes it ${p.failoverTimeoutSeconds} s after this process is gone${teardown}${dir}`;
}

function notSubmitted(ctx: MesosJobContext): number {
  ctx.stderr('sluice: interrupted; nothing was submitted\n');
  return EXIT_CANCELED;
}

interface Run {
  terminal: StatusTerminal | undefined;
  interrupted: AbortSignal;
  progress: Progress;
}

/** Starts the framework and the entrypoint, runs the job on them, and stops both whatever happens. */
async function onOwnFramework(options: MesosJobOptions, job: PreparedJob, ctx: MesosJobContext, run: Run): Promise<number> {
  const { progress } = run;
  const logger = createLogger(options.quiet ? 'warn' : undefined, 'sluice');
  const frameworkName = options.mesos.frameworkName ?? `Sluice job ${job.graph.jobName}`;
  progress.frameworkName = frameworkName;
  const given = options.cluster.clusterDir;
  const clusterDir = given === undefined ? mkdtempSync(join(tmpdir(), 'sluice-mesos-job-')) : resolve(ctx.cwd, given);
  progress.clusterDir = clusterDir;
  let runtime: MesosRuntime | undefined;
  try {
    const { startMesosRuntime } = await import('./mesos-runtime.js');
    runtime = await startMesosRuntime({ ...options.mesos, frameworkName }, { cwd: ctx.cwd, advertisedHost: advertisedHostOf(options.cluster), logger });
    const open = await openEntrypoint(options.cluster, clusterDir, ctx, logger, runtime);
    progress.open = open;
    // A temporary directory's token ends with it; the token file printed below has it meanwhile.
    if (given !== undefined) announceNewToken(open.entry, ctx);
    try {
      printBanner(job, frameworkName, options, runtime, open, given === undefined ? `${clusterDir} (temporary; removed at the end)` : clusterDir, ctx);
      return await submitAndFollow(options, job, { open, clusterDir }, ctx, run, logger);
    } finally {
      progress.phase = 'stopping';
      run.terminal?.clear();
      ctx.stderr(`Stopping the job's cluster: its TaskManagers are killed and framework '${frameworkName}' is removed from Mesos\n`);
      await open.close().catch((err: unknown) => ctx.stderr(`sluice: stopping the job's cluster failed: ${describeError(err)}\n`));
    }
  } finally {
    await runtime?.close().catch((err: unknown) => logger.warn(`closing the scheduler's HTTP server failed: ${describeError(err)}`));
    if (given === undefined) rmSync(clusterDir, { recursive: true, force: true });
  }
}

function printBanner(job: PreparedJob, frameworkName: string, options: MesosJobOptions, runtime: MesosRuntime, open: OpenEntrypoint, directory: string, ctx: MesosJobContext): void {
  const { entry, tokenFile } = open;
  ctx.stderr(
    `Per-job cluster for job '${job.graph.jobName}' running as Mesos framework '${frameworkName}' (master ${options.mesos.master})\n` +
      `  REST API      ${entry.restUrl} (token in ${tokenFile})\n` +
      `  Scheduler     ${runtime.schedulerUrl}/metrics, Prometheus service discovery at ${runtime.schedulerUrl}/http_sd\n` +
      `  Directory     ${directory}\n`,
  );
}

/** Submits the job (or takes over the one an earlier run with this directory left unfinished) and follows it to its end. */
async function submitAndFollow(options: MesosJobOptions, job: PreparedJob, cluster: { open: OpenEntrypoint; clusterDir: string }, ctx: MesosJobContext, run: Run, logger: Logger): Promise<number> {
  const { open: { entry, tokenFile }, clusterDir } = cluster;
  const client = ctx.restClient(entry.restUrl, () => ({ token: entry.restToken, source: tokenFile }));
  if (run.interrupted.aborted) return notSubmitted(ctx);
  let jobId = await unfinishedJob(client, job.graph.jobName, clusterDir, ctx, logger);
  if (jobId !== undefined) {
    ctx.stderr(`Job '${job.graph.jobName}' (${jobId}) was left unfinished in ${clusterDir} by an earlier run and resumes from its latest checkpoint; ${options.jobFile} is not submitted again. Following it, Ctrl-C cancels it\n`);
  } else {
    const submitted = await uploadAndSubmit(job, options, { client, cwd: ctx.cwd, terminal: run.terminal, signal: run.interrupted });
    if (submitted === undefined) return notSubmitted(ctx);
    jobId = submitted.jobId;
    ctx.stderr(`Job '${job.graph.jobName}' (${jobId}) submitted (bundle ${formatBytes(submitted.bundleBytes)}); following it, Ctrl-C cancels it\n`);
  }
  const id = jobId;
  run.progress.phase = 'running';
  run.progress.cancel = () => void cancelQuietly(client, id, ctx);
  // A Ctrl-C during the submission could not take it back: cancel now.
  if (run.interrupted.aborted) run.progress.cancel();
  return followJob({
    client,
    jobId: id,
    graph: job.graph,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    terminal: run.terminal,
    now: ctx.now,
    // Ctrl-C cancels here instead of detaching: the job cannot outlive this process.
    detach: new AbortController().signal,
    detachHint: '',
    pollIntervalMs: ctx.pollIntervalMs,
    lostContactTimeoutMs: ctx.lostContactTimeoutMs,
    verbose: options.verbose,
  });
}

async function cancelQuietly(client: RestClient, jobId: string, ctx: MesosJobContext): Promise<void> {
  try {
    await client.cancelJob(jobId);
  } catch (err) {
    // Ended meanwhile: following it shows how.
    if (err instanceof RestClientError && err.code === 'JOB_NOT_RUNNING') return;
    ctx.stderr(`sluice: warning: cancelling job ${jobId} failed: ${describeError(err)}; it is cancelled when the job's cluster stops\n`);
  }
}

/**
 * Jobs the entrypoint recovered from a given cluster directory (an earlier run was killed before
 * its job ended): this job's is taken over instead of submitted again, as a Flink per-job cluster
 * recovers its job; any other is cancelled, since this cluster exists for one job.
 */
async function unfinishedJob(client: RestClient, jobName: string, clusterDir: string, ctx: MesosJobContext, logger: Logger): Promise<string | undefined> {
  const unfinished = (await client.listJobs()).filter((j) => !TERMINAL_JOB_STATUSES.has(j.status));
  const own = unfinished.find((j) => j.jobName === jobName);
  for (const other of unfinished) {
    if (other === own) continue;
    ctx.stderr(`sluice: warning: cancelling job '${other.jobName}' (${other.jobId}), left unfinished in ${clusterDir} by an earlier cluster: a per-job cluster runs only its own job\n`);
    await cancelQuietly(client, other.jobId, ctx);
  }
  if (own !== undefined) logger.info('taking over the job an earlier run left unfinished', { jobId: own.jobId });
  return own?.jobId;
}
