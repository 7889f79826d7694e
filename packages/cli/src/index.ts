/**
 * @sluice/cli — the `sluice` command: parses flags, compiles job files, and hands jobs to an
 * Engine (the embedded cluster by default) to plan or run, reporting the outcome; savepoint,
 * stop, list and cancel act on a running job through the REST API that `sluice run` serves.
 * It sits on top of every other package and is imported by none.
 */
export { runCli, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_CANCELLED, type CliDependencies, type SignalSource, type CliSignal } from './cli.js';
export {
  parseCommandLine,
  UsageError,
  DEFAULT_REST_ADDRESS,
  DEFAULT_REST_PORT,
  type ParsedCommand,
  type JobCommandOptions,
  type RunCommandOptions,
  type ClientCommandOptions,
  type SavepointCommandOptions,
  type StopCommandOptions,
  type CancelCommandOptions,
} from './args.js';
export { createRestClient, RestClientError, DEFAULT_REST_CLIENT_OPTIONS, type RestClient, type RestClientOptions } from './rest-client.js';
export { formatJobList } from './client-commands.js';
export { compileJob, type CompileJobOptions } from './compile-job.js';
export { summarizeResult, formatDuration } from './summary.js';
export type { Engine, EngineLoader, EngineRunOptions, EngineRunResult, JobStartedInfo } from './engine.js';
