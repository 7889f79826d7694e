/**
 * The `sluice` command as a function: argv in, exit code out. Everything with side effects
 * (output streams, the engine, signals, exiting) comes in through CliDependencies, so tests run
 * commands in-process with fakes and main.ts only wires in the real process.
 *
 * Exit codes: 0 success, 1 runtime failure (job failed, job file broken), 2 bad usage,
 * 130 cancelled (Ctrl-C), as shells expect.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '@sluice/common';
import type { JobArtifact } from '@sluice/protocol';
import { parseCommandLine, UsageError, type JobCommandOptions, type RunCommandOptions } from './args.js';
import { compileJob as defaultCompileJob } from './compile-job.js';
import type { Engine, EngineLoader, EngineRunOptions } from './engine.js';
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
  /** Exits without waiting (second Ctrl-C). */
  exitNow?: (code: number) => void;
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
  }
}

async function planCommand(options: JobCommandOptions, deps: CliDependencies): Promise<number> {
  const artifact = await artifactFor(options, deps);
  const engine = await deps.loadEngine();
  const plan = await engine.plan(artifact);
  deps.stdout(plan.endsWith('\n') ? plan : `${plan}\n`);
  return EXIT_OK;
}

async function runCommand(options: RunCommandOptions, deps: CliDependencies): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: CliSignal): void => {
    interrupts++;
    if (interrupts === 1) {
      deps.stderr(`sluice: ${signal} received, cancelling the job (press Ctrl-C again to exit immediately)\n`);
      controller.abort();
    } else {
      (deps.exitNow ?? ((code) => process.exit(code)))(EXIT_CANCELLED);
    }
  };
  deps.signals?.on('SIGINT', onSignal);
  deps.signals?.on('SIGTERM', onSignal);
  try {
    const artifact = await artifactFor(options, deps);
    const engine: Engine = await deps.loadEngine();
    if (controller.signal.aborted) return EXIT_CANCELLED;

    const runOptions: EngineRunOptions = {
      signal: controller.signal,
      onStarted(info) {
        const metrics = info.metricsUrl === undefined ? '' : `; metrics at ${info.metricsUrl}`;
        deps.stderr(`Job '${info.jobName}' (${info.jobId}) submitted${metrics}\n`);
      },
    };
    if (options.metricsPort !== undefined) runOptions.metricsPort = options.metricsPort;
    const result = await engine.run(artifact, runOptions);

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
    deps.signals?.off('SIGINT', onSignal);
    deps.signals?.off('SIGTERM', onSignal);
  }
}

async function artifactFor(options: JobCommandOptions & { bufferTimeoutMs?: number }, deps: CliDependencies): Promise<JobArtifact> {
  const entry = await (deps.compileJob ?? defaultCompileJob)(options.jobFile);
  const artifact: JobArtifact = { entry, source: options.jobFile, params: options.params };
  if (options.parallelism !== undefined) artifact.parallelism = options.parallelism;
  if (options.bufferTimeoutMs !== undefined) artifact.config = { bufferTimeoutMs: options.bufferTimeoutMs };
  return artifact;
}

/** Runs a command; anything it throws becomes one `sluice: error:` line (plus stacks if verbose). */
async function guarded(deps: CliDependencies, verbose: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
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
