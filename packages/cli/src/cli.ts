/**
 * The `sluice` command as a function: argv in, exit code out. Everything with side effects
 * (output streams, the engine, signals, exiting) comes in through CliDependencies, so tests run
 * commands in-process with fakes and main.ts only wires in the real process.
 *
 * Exit codes: 0 success, 1 runtime failure (job failed, job file broken, REST call refused or
 * unreachable), 2 bad usage, 130 cancelled (Ctrl-C or `sluice cancel`; an attached `submit`
 * detached with Ctrl-C), as shells expect.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError, describeError, SluiceError } from '@sluice/common';
import { formatDuration as formatFlagDuration, type JobArtifact, type JobConfig, type JobGraph } from '@sluice/protocol';
import { parseCommandLine, UsageError, type JobCommandOptions, type RunCommandOptions } from './args.js';
import { resolveAddress, runClientCommand, type ClientCommand } from './client-commands.js';
import { clusterStart, clusterStop, mesosSession, type ClusterCommandDeps } from './cluster-command.js';
import { bundleJob as defaultBundleJob, compileJob as defaultCompileJob, type JobBundle } from './compile-job.js';
import { jobArtifact } from './job-artifact.js';
import type { Engine, EngineLoader, EngineRunOptions } from './engine.js';
import { overriddenFlagWarnings } from './overrides.js';
import { createRestClient, type RestClient } from './rest-client.js';
import { StatusLine, type StatusTerminal } from './status-line.js';
import { findClientToken, type ClientToken } from './rest-token.js';
import { runRest, type RunRest } from './run-rest.js';
import type { MesosJobOptions } from './mesos-job-args.js';
import type { SubmitCommandOptions } from './submit-args.js';
import { submitCommand } from './submit.js';
import { formatDuration, summarizeResult } from './summary.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_CANCELLED = 130;

export type CliSignal = 'SIGINT' | 'SIGTERM';

/** Where interrupts come from; `process` fits. */
export interface SignalSource {
  on(signal: CliSignal, listener: (signal: CliSignal) => void): unknown;
  off(signal: CliSignal, listener: (signal: CliSignal) => void): unknown;
}

export interface CliDependencies {
  /** Writes text to stdout / stderr; lines come with their newline. */
  stdout(text: string): void;
  stderr(text: string): void;
  loadEngine: EngineLoader;
  compileJob?: (path: string) => Promise<string>;
  signals?: SignalSource;
  /**
   * Ends the process at once, as the signal's default action would (a second Ctrl-C, or a job
   * that does not stop within the shutdown timeout): no waiting for threads stuck in the kernel.
   */
  terminate?: (signal: CliSignal) => void;
  /** An interactive stderr for the live status line; undefined when stderr is not a terminal. */
  statusTerminal?: StatusTerminal;
  /** Environment variables (SLUICE_ADDRESS); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against; default process.cwd(). */
  cwd?: () => string;
  /** The REST client of submit and the client commands; default createRestClient. */
  restClient?: (address: string, token: () => ClientToken) => RestClient;
  /** Bundles a job for `submit`; default compile-job's bundleJob. */
  bundleJob?: (path: string) => Promise<JobBundle>;
  /** Builds a job's graph for `submit`; default @sluice/api's loadJob. */
  buildGraph?: (artifact: JobArtifact) => Promise<JobGraph>;
  /** The clock of submit, list and info (durations, rates); default Date.now. */
  now?: () => number;
  /** How often an attached `submit` asks for the job's status; default 1 s. */
  pollIntervalMs?: number;
  /** How long an attached `submit` keeps trying to reach a cluster that stopped answering; default 30 s. */
  lostContactTimeoutMs?: number;
}

export async function runCli(argv: readonly string[], deps: CliDependencies): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    deps.stderr(`sluice: error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  switch (command.kind) {
    case 'help':
      deps.stdout(command.text);
      return EXIT_OK;
    case 'version':
      deps.stdout(`sluice ${cliVersion()}\n`);
      return EXIT_OK;
    case 'plan':
      return guarded(deps, command.options.verbose, () => planCommand(command.options, deps));
    case 'run':
      return guarded(deps, command.options.verbose, () => runCommand(command.options, deps));
    case 'submit':
      return guarded(deps, command.options.verbose, () => submit(command.options, deps));
    case 'cluster-start':
      return guarded(deps, false, () => clusterStart(command.options, clusterDeps(deps)));
    case 'cluster-stop':
      return guarded(deps, false, () => clusterStop(command.options, clusterDeps(deps)));
    case 'mesos-session':
      return guarded(deps, false, () => mesosSession(command.options, clusterDeps(deps)));
    case 'mesos-job':
      return guarded(deps, command.options.verbose, () => mesosJob(command.options, deps));
    case 'savepoint':
    case 'stop':
    case 'list':
    case 'cancel':
    case 'info':
    case 'taskmanagers':
    case 'overview':
      return guarded(deps, command.options.verbose, () => clientCommand(command, deps));
  }
}

/** The REST client for a command's `--address` (else $SLUICE_ADDRESS, else the default) and token. */
function restClientFor(command: ClientCommand | { kind: 'submit'; options: SubmitCommandOptions }, deps: CliDependencies): RestClient {
  const env = deps.env ?? process.env;
  const address = resolveAddress(command, env);
  const token = (): ClientToken => findClientToken(address, command.options.restTokenFile, env, cwdOf(deps));
  return (deps.restClient ?? ((a, t) => createRestClient({ address: a, token: t })))(address, token);
}

async function clientCommand(command: ClientCommand, deps: CliDependencies): Promise<number> {
  await runClientCommand(command, { client: restClientFor(command, deps), cwd: cwdOf(deps), stdout: deps.stdout, now: deps.now ?? (() => Date.now()) });
  return EXIT_OK;
}

function submit(options: SubmitCommandOptions, deps: CliDependencies): Promise<number> {
  return submitCommand(options, {
    client: restClientFor({ kind: 'submit', options }, deps),
    cwd: cwdOf(deps),
    stdout: deps.stdout,
    stderr: deps.stderr,
    ...(deps.signals === undefined ? {} : { signals: deps.signals }),
    terminate: deps.terminate ?? terminateProcess,
    ...submittingDeps(deps),
  });
}

/** `sluice mesos-job`: submits and follows as `submit` does, to a cluster of its own. */
async function mesosJob(options: MesosJobOptions, deps: CliDependencies): Promise<number> {
  const { mesosJobCommand } = await import('./mesos-job-command.js');
  return mesosJobCommand(options, {
    ...clusterDeps(deps),
    ...submittingDeps(deps),
    restClient: deps.restClient ?? ((address, token) => createRestClient({ address, token })),
  });
}

/** What bundling, submitting and following a job take, for `submit` and `mesos-job`. */
function submittingDeps(deps: CliDependencies) {
  return {
    ...(deps.statusTerminal === undefined ? {} : { statusTerminal: deps.statusTerminal }),
    bundleJob: deps.bundleJob ?? ((path: string) => defaultBundleJob(path)),
    buildGraph: deps.buildGraph ?? (async (artifact: JobArtifact) => (await (await import('@sluice/api')).loadJob(artifact)).jobGraph),
    now: deps.now ?? (() => Date.now()),
    pollIntervalMs: deps.pollIntervalMs ?? 1000,
    lostContactTimeoutMs: deps.lostContactTimeoutMs ?? 30_000,
  };
}

function clusterDeps(deps: CliDependencies): ClusterCommandDeps {
  return {
    stdout: deps.stdout,
    stderr: deps.stderr,
    env: deps.env ?? process.env,
    cwd: cwdOf(deps),
    ...(deps.signals === undefined ? {} : { signals: deps.signals }),
    terminate: deps.terminate ?? terminateProcess,
  };
}

function cwdOf(deps: CliDependencies): string {
  return (deps.cwd ?? (() => process.cwd()))();
}

async function planCommand(options: JobCommandOptions, deps: CliDependencies): Promise<number> {
  const artifact = await artifactFor(options, deps);
  const engine = await deps.loadEngine();
  const plan = await engine.plan(artifact);
  warnAboutOverriddenFlags(options, plan.config, deps);
  deps.stdout(plan.text.endsWith('\n') ? plan.text : `${plan.text}\n`);
  return EXIT_OK;
}

function warnAboutOverriddenFlags(options: JobCommandOptions & Partial<RunCommandOptions>, config: JobConfig, deps: CliDependencies): void {
  for (const w of overriddenFlagWarnings(options, config, cwdOf(deps))) deps.stderr(`sluice: warning: ${w}\n`);
}

/** The default `terminate`: no handler left for the signal, then the signal itself. */
function terminateProcess(signal: CliSignal): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

async function runCommand(options: RunCommandOptions, deps: CliDependencies): Promise<number> {
  const controller = new AbortController();
  const terminate = deps.terminate ?? terminateProcess;
  let interrupts = 0;
  let shutdownTimer: NodeJS.Timeout | undefined;
  let status: StatusLine | undefined;
  let restSetup: RunRest | undefined;
  const onSignal = (signal: CliSignal): void => {
    interrupts++;
    if (interrupts === 1) {
      deps.stderr(`sluice: ${signal} received, cancelling the job (press Ctrl-C again to exit immediately)\n`);
      controller.abort();
      // Whatever the job or its storage does, the process ends within the shutdown timeout.
      shutdownTimer = setTimeout(() => {
        status?.stop();
        restSetup?.cleanUp();
        deps.stderr(`sluice: the job did not stop within ${formatFlagDuration(options.shutdownTimeoutMs)} of ${signal} (--shutdown-timeout); ending the process without waiting for it\n`);
        terminate(signal);
      }, options.shutdownTimeoutMs);
    } else {
      status?.stop();
      restSetup?.cleanUp();
      terminate(signal);
    }
  };
  deps.signals?.on('SIGINT', onSignal);
  deps.signals?.on('SIGTERM', onSignal);
  try {
    const artifact = await artifactFor(options, deps);
    const engine: Engine = await deps.loadEngine();
    if (controller.signal.aborted) return EXIT_CANCELLED;
    const restApi = runRest(options, deps.env ?? process.env, cwdOf(deps));
    restSetup = restApi;
    restApi.prepare();

    const runOptions: EngineRunOptions = {
      signal: controller.signal,
      restPort: options.restPort,
      rest: restApi.options,
      onStarted(info) {
        const rest = info.restUrl === undefined ? '' : `; REST API at ${info.restUrl}`;
        const metrics = info.metricsUrl === undefined ? '' : `; metrics at ${info.metricsUrl}`;
        deps.stderr(`Job '${info.jobName}' (${info.jobId}) submitted${rest}${metrics}\n`);
        warnAboutOverriddenFlags(options, info.config, deps);
        if (deps.statusTerminal !== undefined && !options.quiet && info.progress !== undefined) {
          status = new StatusLine({ terminal: deps.statusTerminal, progress: info.progress, now: () => Date.now() });
          status.start();
        }
        if (info.restUrl !== undefined && info.restToken !== undefined) deps.stderr(restApi.publish(info.restUrl, info.restToken));
      },
    };
    if (options.metricsPort !== undefined) runOptions.metricsPort = options.metricsPort;
    if (options.fromSavepoint !== undefined) {
      runOptions.restoreFrom = { path: resolve(cwdOf(deps), options.fromSavepoint), ...(options.allowNonRestoredState === true ? { allowNonRestoredState: true } : {}) };
    }
    let result;
    try {
      result = await engine.run(artifact, runOptions);
      status?.stop();
    } catch (err) {
      status?.stop();
      if (err instanceof SluiceError && err.code === 'REST_PORT_IN_USE') {
        throw new ConfigurationError(
          `cannot serve the REST API on 127.0.0.1:${options.restPort}: the port is already in use (another 'sluice run'?); pass --rest-port 0 for any free port, or --rest-port <N>`,
          { cause: err },
        );
      }
      throw err;
    }

    switch (result.status) {
      case 'FINISHED':
        deps.stdout(`${summarizeResult(result)}\n`);
        return EXIT_OK;
      case 'CANCELED':
        deps.stderr(`${summarizeResult(result)}\n`);
        return EXIT_CANCELLED;
      case 'FAILED':
        break;
    }
    const why = result.error?.message ?? 'no error was reported';
    deps.stderr(`sluice: error: job '${result.jobName}' failed after ${formatDuration(result.durationMs)}: ${why}\n`);
    if (options.verbose && result.error?.stack !== undefined) deps.stderr(`${result.error.stack}\n`);
    return EXIT_FAILURE;
  } finally {
    clearTimeout(shutdownTimer);
    restSetup?.cleanUp();
    deps.signals?.off('SIGINT', onSignal);
    deps.signals?.off('SIGTERM', onSignal);
  }
}

async function artifactFor(options: JobCommandOptions & Partial<RunCommandOptions>, deps: CliDependencies): Promise<JobArtifact> {
  const entry = await (deps.compileJob ?? defaultCompileJob)(options.jobFile);
  return jobArtifact(options, entry, cwdOf(deps));
}

/** Runs a command; anything it throws becomes one `sluice: error:` line (plus stacks if verbose). */
async function guarded(deps: CliDependencies, verbose: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      deps.stderr(`sluice: error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // A directory the job cannot write is a setting to change, like a bad flag; nothing ran.
    if (err instanceof SluiceError && err.code === 'STORAGE_DIRECTORY') {
      deps.stderr(`sluice: error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    deps.stderr(`sluice: error: ${describeError(err)}\n`);
    if (verbose) deps.stderr(stackChain(err));
    return EXIT_FAILURE;
  }
}

function stackChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? (e.stack ?? e.message) : describeError(e));
  }
  return `${parts.join('\nCaused by: ')}\n`;
}

function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
