/**
 * @sluice/cli — the `sluice` command: parses flags, compiles job files, and hands jobs to an
 * Engine (the embedded cluster by default) to plan or run, reporting the outcome. It sits on top
 * of every other package and is imported by none.
 */
export { runCli, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_CANCELLED, type CliDependencies, type SignalSource, type CliSignal } from './cli.js';
export { parseCommandLine, UsageError, type ParsedCommand, type JobCommandOptions, type RunCommandOptions } from './args.js';
export { compileJob, type CompileJobOptions } from './compile-job.js';
export { summarizeResult, formatDuration } from './summary.js';
export type { Engine, EngineLoader, EngineRunOptions, EngineRunResult, JobStartedInfo } from './engine.js';
