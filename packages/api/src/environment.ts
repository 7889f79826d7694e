/**
 * StreamExecutionEnvironment: where a job module starts. It holds job-level settings and the
 * graph under construction, creates source streams, and turns what the job code built into a
 * StreamGraph / JobGraph. Building is pure and deterministic: the same module with the same
 * params and options yields the same graph and node ids on the client and on every worker.
 */
import { ConfigurationError, JobDefinitionError } from '@sluice/common';
import { validateRestartStrategy, type JobConfig, type JobGraph, type RestartStrategyConfig } from '@sluice/protocol';
import { CollectionSource } from './collection-source.js';
import { SingleOutputStreamOperator } from './datastream.js';
import { GeneratorSource, type GeneratorSourceOptions } from './generator-source.js';
import { GraphBuilder } from './graph-builder.js';
import {
  checkMaxParallelism,
  checkNonNegativeInteger,
  checkPositiveInteger,
  resolveJobConfig,
  validateJobConfigOverrides,
} from './job-config.js';
import { createJobGraph } from './jobgraph.js';
import type { Source, SourceSplit } from './source.js';
import type { StreamGraph } from './streamgraph.js';
import { WatermarkStrategy } from './watermarks.js';

export interface StreamExecutionEnvironmentOptions {
  /** The job's `-D key=value` parameters. */
  params?: Record<string, string>;
  /** Default parallelism from the submitter (`-p`); `env.setParallelism()` in job code wins. */
  parallelism?: number;
  /** Runtime configuration overrides from the submitter; settings made in job code win. */
  config?: Partial<JobConfig>;
}

export interface CheckpointingOptions {
  /** Abort a checkpoint not complete after this long (default 10 min). */
  timeoutMs?: number;
  /** Least time between the end of one checkpoint and the start of the next (default 0). */
  minPauseMs?: number;
  /** Completed checkpoints kept on disk (default 1). */
  retained?: number;
  /** Root directory for checkpoints; default `<os tmpdir>/sluice-checkpoints`. */
  dir?: string;
  /**
   * Periodic checkpoints that may fail in a row (time out, be declined, not be written) before
   * the job fails over; a completed one resets the count. Default 0: the first failure does.
   */
  tolerableFailedCheckpoints?: number;
}

export const DEFAULT_JOB_NAME = 'Sluice job';

export class StreamExecutionEnvironment {
  readonly params: Readonly<Record<string, string>>;
  private readonly builder = new GraphBuilder();
  private readonly submitted: Partial<JobConfig>;
  /** Settings made by job code; they override the submitter's. */
  private readonly own: Partial<JobConfig> = {};
  private jobName = DEFAULT_JOB_NAME;

  constructor(options: StreamExecutionEnvironmentOptions = {}) {
    const params = options.params ?? {};
    for (const [key, value] of Object.entries(params)) {
      if (typeof value !== 'string') {
        throw new ConfigurationError(`job parameter '${key}' must be a string, got ${typeof value}; pass it as -D ${key}=value`);
      }
    }
    this.params = Object.freeze({ ...params });
    const submitted: Partial<JobConfig> = { ...(options.config ?? {}) };
    validateJobConfigOverrides(submitted);
    if (options.parallelism !== undefined) {
      submitted.defaultParallelism = checkPositiveInteger('parallelism (-p)', options.parallelism);
    }
    this.submitted = submitted;
    // Fail at the edge rather than at getJobGraph: e.g. -p 200 against max parallelism 128.
    resolveJobConfig(this.submitted);
  }

  /** Default parallelism of operators that do not set their own. */
  setParallelism(parallelism: number): this {
    this.own.defaultParallelism = checkPositiveInteger('parallelism', parallelism);
    return this;
  }

  getParallelism(): number {
    return this.own.defaultParallelism ?? this.submitted.defaultParallelism ?? resolveJobConfig().defaultParallelism;
  }

  /** Number of key groups: the upper bound for rescaling keyed state later. */
  setMaxParallelism(maxParallelism: number): this {
    this.own.maxParallelism = checkMaxParallelism('max parallelism', maxParallelism);
    return this;
  }

  getMaxParallelism(): number {
    return this.own.maxParallelism ?? this.submitted.maxParallelism ?? resolveJobConfig().maxParallelism;
  }

  /** Max ms a record waits in a partly filled output batch; 0 flushes every record (lowest latency). */
  setBufferTimeout(ms: number): this {
    this.own.bufferTimeoutMs = checkNonNegativeInteger('buffer timeout (ms)', ms);
    return this;
  }

  /** How often watermark generators emit, in ms of processing time; 0 = after every record. */
  setAutoWatermarkInterval(ms: number): this {
    this.own.autoWatermarkIntervalMs = checkNonNegativeInteger('auto watermark interval (ms)', ms);
    return this;
  }

  /**
   * Takes a checkpoint every `intervalMs`: a consistent snapshot of all state and source
   * positions from which the job restarts after a failure, losing and duplicating nothing.
   */
  enableCheckpointing(intervalMs: number, options: CheckpointingOptions = {}): this {
    this.own.checkpointIntervalMs = checkPositiveInteger('checkpoint interval (ms)', intervalMs);
    if (options.timeoutMs !== undefined) this.own.checkpointTimeoutMs = checkPositiveInteger('checkpoint timeout (ms)', options.timeoutMs);
    if (options.minPauseMs !== undefined) this.own.minPauseBetweenCheckpointsMs = checkNonNegativeInteger('min pause between checkpoints (ms)', options.minPauseMs);
    if (options.retained !== undefined) this.own.retainedCheckpoints = checkPositiveInteger('retained checkpoints', options.retained);
    if (options.tolerableFailedCheckpoints !== undefined) {
      this.own.tolerableFailedCheckpoints = checkNonNegativeInteger('tolerable failed checkpoints', options.tolerableFailedCheckpoints);
    }
    if (options.dir !== undefined) {
      if (typeof options.dir !== 'string' || options.dir.length === 0) throw new ConfigurationError('checkpoint dir must be a non-empty path');
      this.own.checkpointDir = options.dir;
    }
    return this;
  }

  /** What happens when a task fails: `{ type: 'none' }` fails the job; the others restart it from the latest checkpoint. */
  setRestartStrategy(strategy: RestartStrategyConfig): this {
    this.own.restartStrategy = validateRestartStrategy(strategy);
    return this;
  }

  setJobName(name: string): this {
    if (typeof name !== 'string' || name.trim().length === 0) throw new ConfigurationError('job name must be a non-empty string');
    this.jobName = name;
    return this;
  }

  getJobName(): string {
    return this.jobName;
  }

  /** The resolved configuration: defaults, then the submitter's overrides, then the job code's. */
  getConfig(): JobConfig {
    return resolveJobConfig(this.submitted, this.own);
  }

  /** Emits `items` once, in order, from a single subtask. */
  fromCollection<T>(items: readonly T[], name = 'Source: Collection'): SingleOutputStreamOperator<T> {
    if (!Array.isArray(items)) throw new JobDefinitionError('fromCollection needs an array of records');
    return this.addSource<T>(new CollectionSource<T>(items, name), WatermarkStrategy.noWatermarks<T>(), name, 'a collection source reads one array in order');
  }

  fromElements<T>(...items: T[]): SingleOutputStreamOperator<T> {
    return this.fromCollection<T>(items, 'Source: Elements');
  }

  /** The integers from..to (both inclusive), split over the source's subtasks. */
  fromSequence(from: number, to: number): SingleOutputStreamOperator<number> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
      throw new JobDefinitionError(`fromSequence needs integers from <= to, got ${from} and ${to}`);
    }
    const source = new GeneratorSource<number>({
      count: to - from + 1,
      generate: (index) => from + index,
      name: `Sequence(${from}..${to})`,
    });
    return this.addSource<number>(source, WatermarkStrategy.noWatermarks<number>(), `Source: Sequence(${from}..${to})`);
  }

  /** Records computed from their index (see GeneratorSource); bounded when `count` is set. */
  fromGenerator<T>(
    options: GeneratorSourceOptions<T>,
    watermarkStrategy: WatermarkStrategy<T> = WatermarkStrategy.noWatermarks<T>(),
  ): SingleOutputStreamOperator<T> {
    const source = new GeneratorSource<T>(options);
    return this.addSource<T>(source, watermarkStrategy, `Source: ${source.describe()}`);
  }

  fromSource<T>(source: Source<T, SourceSplit>, watermarkStrategy: WatermarkStrategy<T>, name: string): SingleOutputStreamOperator<T> {
    if (source === null || typeof source !== 'object' || typeof source.createReader !== 'function') {
      throw new JobDefinitionError(`fromSource('${name}') needs a Source (an object with enumerateSplits and createReader)`);
    }
    // Structural, not instanceof: a job bundle may carry its own copy of @sluice/api, and the
    // strategy the user built from it is just as good.
    if (!isWatermarkStrategy(watermarkStrategy)) {
      throw new JobDefinitionError(`fromSource('${name}') needs a WatermarkStrategy, e.g. WatermarkStrategy.noWatermarks()`);
    }
    return this.addSource<T>(source, watermarkStrategy, name);
  }

  getStreamGraph(): StreamGraph {
    return this.builder.build(this.jobName, this.getConfig());
  }

  getJobGraph(): JobGraph {
    return createJobGraph(this.getStreamGraph());
  }

  private addSource<T>(
    source: Source<T, SourceSplit>,
    watermarks: WatermarkStrategy<T>,
    name: string,
    nonParallelReason?: string,
  ): SingleOutputStreamOperator<T> {
    if (typeof name !== 'string' || name.length === 0) throw new JobDefinitionError('a source needs a non-empty name');
    const node = this.builder.addNode(
      {
        name,
        spec: { kind: 'source', source, watermarks },
        chaining: 'head',
        ...(nonParallelReason === undefined ? {} : { nonParallelReason }),
      },
      [],
    );
    return new SingleOutputStreamOperator<T>(this.builder, node);
  }
}

function isWatermarkStrategy(v: unknown): v is WatermarkStrategy<unknown> {
  const s = v as Partial<WatermarkStrategy<unknown>> | null;
  return typeof s === 'object' && s !== null && typeof s.createGenerator === 'function' && typeof s.extractTimestamp === 'function';
}
