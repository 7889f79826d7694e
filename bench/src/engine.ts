/**
 * The one place the bench harness touches the engine: run a compiled job file on a fresh
 * embedded cluster and wait for its JobResult. Everything else in bench/ is engine-agnostic.
 */
import { silentLogger, type Logger } from '@sluice/common';
import { runEmbedded } from '@sluice/minicluster';
import type { JobArtifact, JobResult } from '@sluice/protocol';

/** One completed checkpoint, as the JobMaster's checkpoint coordinator logs it. */
export interface CompletedCheckpointInfo {
  checkpointId: number;
  durationMs: number;
  bytes: number;
}

export interface RunJobOptions {
  parallelism: number;
  /** The job's -D parameters. */
  params: Record<string, string>;
  /** Output buffer timeout (ms); 0 flushes every record. Engine default when absent. */
  bufferTimeoutMs?: number;
  /** Checkpoint every this many ms into `checkpointDir`. */
  checkpointIntervalMs?: number;
  checkpointDir?: string;
  /** Called for every completed checkpoint. */
  onCheckpoint?(c: CompletedCheckpointInfo): void;
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
  return runEmbedded(benchArtifact(jobFile, opts), {
    ...(signal === undefined ? {} : { signal }),
    ...(opts.onCheckpoint === undefined ? {} : { logger: checkpointListener(opts.onCheckpoint) }),
  });
}

/** A logger that prints nothing (the bench's output is its BENCH lines) and reports completed checkpoints. */
function checkpointListener(onCheckpoint: (c: CompletedCheckpointInfo) => void): Logger {
  const logger: Logger = {
    ...silentLogger,
    info(msg, fields) {
      if (msg === 'checkpoint complete' && fields !== undefined) {
        onCheckpoint({ checkpointId: Number(fields['checkpointId']), durationMs: Number(fields['durationMs']), bytes: Number(fields['bytes']) });
      }
    },
    child: () => logger,
  };
  return logger;
}
