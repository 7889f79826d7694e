/**
 * The one place the bench harness touches the engine: run a compiled job file on a fresh
 * embedded cluster and wait for its JobResult. Everything else in bench/ is engine-agnostic.
 */
import { runEmbedded } from '@sluice/jobmanager';
import type { JobArtifact, JobResult } from '@sluice/protocol';

export interface RunJobOptions {
  parallelism: number;
  /** The job's -D parameters. */
  params: Record<string, string>;
  /** Output buffer timeout (ms); 0 flushes every record. Engine default when absent. */
  bufferTimeoutMs?: number;
  /** Checkpoint every this many ms into `checkpointDir`. */
  checkpointIntervalMs?: number;
  checkpointDir?: string;
}

/** What the CLI would submit for `sluice run <jobFile> -p N -D k=v --buffer-timeout ms`. */
export function benchArtifact(jobFile: string, opts: RunJobOptions): JobArtifact {
  return {
    entry: jobFile,
    params: opts.params,
    parallelism: opts.parallelism,
    config: {
      ...(opts.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: opts.bufferTimeoutMs }),
      ...(opts.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: opts.checkpointIntervalMs, checkpointDir: opts.checkpointDir ?? '' }),
    },
  };
}

/**
 * Runs one job on a fresh embedded cluster (no shared heaps or JIT state between runs), then
 * closes it. Aborting `signal` cancels the job (an unbounded job's only way to end).
 */
export async function runJob(jobFile: string, opts: RunJobOptions, signal?: AbortSignal): Promise<JobResult> {
  return runEmbedded(benchArtifact(jobFile, opts), signal === undefined ? {} : { signal });
}
