/**
 * @sluice/cli — the `sluice` command: parses flags, compiles job files, and hands jobs to an
 * Engine (the embedded cluster by default) to plan or run, reporting the outcome; `submit`
 * uploads a job to a cluster and follows it, and list, info, savepoint, stop, cancel,
 * taskmanagers and overview act on a cluster (or a `sluice run`) through its REST API.
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
  type InfoCommandOptions,
  type SubmitCommandOptions,
} from './args.js';
export { createRestClient, RestClientError, DEFAULT_REST_CLIENT_OPTIONS, type RestClient, type RestClientOptions, type UploadProgress } from './rest-client.js';
export { formatJobList, formatJobInfo, formatTaskManagers, formatOverview } from './views.js';
export { compileJob, bundleJob, type CompileJobOptions, type JobBundle } from './compile-job.js';
export { summarizeResult, formatDuration } from './summary.js';
export { IMAGE_EXECUTOR_COMMAND } from './mesos-args.js';
export type { Engine, EngineLoader, EngineRunOptions, EngineRunResult, JobStartedInfo } from './engine.js';
