/**
 * The seam between the `sluice` command and whatever runs jobs. The CLI parses flags, compiles the
 * job file and reports results; an Engine builds the graph and executes it. The embedded engine
 * (an in-process cluster) is loaded from `./embedded-engine.js`; tests inject their own.
 */
import type { RestSecurityOptions } from '@sluice/jobmanager';
import type { EmbeddedJobStarted, JobProgress } from '@sluice/minicluster';
import type { JobArtifact, JobConfig, JobResult } from '@sluice/protocol';

/**
 * What the engine announces once the job is submitted: id, name, where it serves metrics and
 * REST, the configuration it runs with, and a progress reading for the status line (which a
 * testing engine may leave out).
 */
export type JobStartedInfo = Omit<EmbeddedJobStarted, 'progress'> & Partial<Pick<EmbeddedJobStarted, 'progress'>>;

export type { JobProgress };

/** What `sluice plan` prints, and the configuration behind it. */
export interface EnginePlan {
  text: string;
  config: JobConfig;
}

export interface EngineRunOptions {
  /** Serve Prometheus metrics on this port while the job runs (0 = any free port). */
  metricsPort?: number;
  /** Serve the REST API on this port while the job runs (0 = any free port). */
  restPort?: number;
  /** Token hint, allowed host names and savepoint roots of the REST API. */
  rest?: RestSecurityOptions;
  /** Start the job from a savepoint or retained checkpoint (an absolute path). */
  restoreFrom?: { path: string; allowNonRestoredState?: boolean };
  /** Aborted on Ctrl-C: the engine cancels the job and resolves with status CANCELED. */
  signal: AbortSignal;
  /** Called once the job is submitted and has an id. */
  onStarted?(info: JobStartedInfo): void;
}

/**
 * A JobResult plus what the CLI needs to summarise it. The engine knows the JobGraph, so it
 * names the source operators (the operator of kind 'source' at the head of each source vertex);
 * the CLI sums their `recordsOut` from `operators` for the "records from sources" figure.
 */
export interface EngineRunResult extends JobResult {
  sourceNodeIds: number[];
}

export interface Engine {
  /** A human-readable execution plan (vertices, parallelism, exchanges) for `sluice plan`. */
  plan(artifact: JobArtifact): Promise<EnginePlan>;
  /**
   * Runs the job to a terminal state. Resolves with FINISHED, FAILED (with `error`) or CANCELED;
   * rejects only when the job could not be started at all (e.g. building the graph threw).
   */
  run(artifact: JobArtifact, options: EngineRunOptions): Promise<EngineRunResult>;
}

/** How the CLI obtains its engine; lazily, so `--help` never loads the runtime. */
export type EngineLoader = () => Promise<Engine>;
