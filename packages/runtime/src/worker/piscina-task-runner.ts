/**
 * The production TaskRunner: subtasks run on a Piscina pool of worker threads, one subtask per
 * thread for its whole life (a subtask is a long-running loop, not a short task). Channels and
 * control blocks come from the TaskManager's ShuffleService; only control messages, custom
 * metric updates (a few a second) and final outcomes cross the thread boundary through postMessage.
 */
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ConfigurationError, SluiceError, deserializeError, serializeError, type Logger, silentLogger } from '@sluice/common';
import type { SubtaskCustomMetricsSnapshot, SubtaskMetricsSnapshot, WorkerPoolSnapshot } from '@sluice/metrics';
import type { TaskDeploymentDescriptor } from '@sluice/protocol';
import type { ShuffleService } from '../shuffle/shuffle-service.js';
import type { RunningTask, TaskListener, TaskRunner } from '../taskmanager/task-runner.js';
import type { SubtaskOutcome, SubtaskStart, TaskControlMessage, WorkerMessage } from '../task/messages.js';
import { TaskControl } from '../io/task-control.js';
import { TaskMetricSlot, readOperatorCounters } from '../task/task-metrics.js';
import { CustomMetricsStore, type CustomMetricsStoreOptions } from '../metrics/custom-metrics-store.js';

export interface PiscinaTaskRunnerOptions {
  shuffle: ShuffleService;
  /** Upper bound on concurrently running subtasks (= worker threads). */
  maxThreads: number;
  /**
   * After a cancel, how long a subtask may take to stop before its thread is terminated
   * (default 5 s: shorter than the JobMaster's 10 s, so the kill lands before it gives up).
   */
  cancelTimeoutMs?: number;
  /** How long ended subtasks' custom counters and histograms stay in snapshots, and how many at most. */
  customMetrics?: Partial<CustomMetricsStoreOptions>;
  /** Each worker thread's young generation in MB (default DEFAULT_WORKER_YOUNG_GENERATION_MB). */
  youngGenerationMb?: number;
  logger?: Logger;
}

interface Live {
  tdd: TaskDeploymentDescriptor;
  operators: { nodeId: number; name: string }[];
  metrics: Float64Array | undefined;
  abort: AbortController;
  killTimer: NodeJS.Timeout | undefined;
}

export const DEFAULT_CANCEL_TIMEOUT_MS = 5_000;

/**
 * A worker thread's young generation: two 4 MB semi-spaces and a large-object space. Left to
 * itself V8 grows each semi-space to 16 MB, so a chain that allocates a few hundred bytes per
 * record streams its nursery through memory; at 4 MB it stays near the core's second-level cache
 * and Nexmark q1 at parallelism 2 ran 10–15% faster, q5's windows (state that outlives a
 * scavenge) neither faster nor slower (bench/CHAIN-FINDINGS.md §9; 6 and 8 MB were as fast on
 * q1 and slower on q5, 16 and 24 MB slower on q1).
 */
export const DEFAULT_WORKER_YOUNG_GENERATION_MB = 12;

const WORKER_URL = new URL('./entry.js', import.meta.url).href;

export class PiscinaTaskRunner implements TaskRunner {
  private readonly pool: Piscina;
  private readonly live = new Map<string, Live>();
  private readonly customMetrics: CustomMetricsStore;
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: PiscinaTaskRunnerOptions) {
    const young = options.youngGenerationMb ?? DEFAULT_WORKER_YOUNG_GENERATION_MB;
    if (!Number.isInteger(young) || young < 3) {
      throw new ConfigurationError(`the worker young generation must be a whole number of MB, at least 3 (its two semi-spaces and a large-object space), got ${young}`);
    }
    this.logger = options.logger ?? silentLogger;
    this.customMetrics = new CustomMetricsStore(options.customMetrics);
    this.pool = new Piscina({
      filename: WORKER_URL,
      minThreads: 0,
      maxThreads: options.maxThreads,
      idleTimeout: 30_000,
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxYoungGenerationSizeMb: young },
      // Piscina loads the handler with require() first and falls back to import(). On Node 20
      // require() of an ES module is enabled and can race that import ("module imported again
      // after being required"); with it off, workers take the plain import() path.
      // Source maps: stack traces of a failing user function point at the job's .ts lines.
      execArgv: [...process.execArgv.filter((a) => a !== '--experimental-require-module'), '--no-experimental-require-module', '--enable-source-maps'],
    });
  }

  start(tdd: TaskDeploymentDescriptor, listener: TaskListener): RunningTask {
    const executionId = tdd.executionId;
    if (this.closed) {
      queueMicrotask(() => listener.onFailed(serializeError(new SluiceError('RUNNER_CLOSED', 'the TaskManager is shutting down')), []));
      return { executionId, cancel: () => {}, triggerCheckpoint: () => {}, notifyCheckpoint: () => {} };
    }
    if (this.live.size >= this.options.maxThreads) {
      const err = new SluiceError(
        'NOT_ENOUGH_THREADS',
        `subtask ${tdd.vertexName} (${tdd.subtaskIndex + 1}/${tdd.parallelism}) needs a worker thread but all ${this.options.maxThreads} are running subtasks; raise the TaskManager's worker thread limit`,
      );
      queueMicrotask(() => listener.onFailed(serializeError(err), []));
      return { executionId, cancel: () => {}, triggerCheckpoint: () => {}, notifyCheckpoint: () => {} };
    }
    const shuffle = this.options.shuffle;
    // A restarted job's earlier attempts have ended everywhere before it is redeployed.
    if (tdd.attempt > 0) shuffle.releaseAttemptsBefore(tdd.jobId, tdd.attempt);
    const control = shuffle.taskControl(tdd.jobId, tdd.attempt, tdd.vertexId, tdd.subtaskIndex);
    const sizes = { bufferSizeBytes: tdd.config.bufferSizeBytes, buffers: tdd.config.buffersPerChannel };
    const start: Omit<SubtaskStart, 'port'> = {
      tdd,
      control,
      inputs: tdd.inputs.map((i) => ({
        edgeId: i.edgeId,
        inputIndex: i.inputIndex,
        channels: Array.from({ length: i.producerParallelism }, (_, p) => {
          const partition = { jobId: tdd.jobId, attempt: tdd.attempt, edgeId: i.edgeId, producerVertexId: i.producerVertexId, producerSubtask: p };
          const producerLocation = i.producerLocations?.[p];
          return shuffle.inputChannel({ partition, consumerVertexId: tdd.vertexId, consumerSubtask: tdd.subtaskIndex, ...sizes, ...(producerLocation === undefined ? {} : { producerLocation }) });
        }),
      })),
      outputs: tdd.outputs.map((o) => ({
        edgeId: o.edgeId,
        channels: Array.from({ length: o.consumerParallelism }, (_, c) => {
          const partition = { jobId: tdd.jobId, attempt: tdd.attempt, edgeId: o.edgeId, producerVertexId: tdd.vertexId, producerSubtask: tdd.subtaskIndex };
          const consumerLocation = o.consumerLocations?.[c];
          return shuffle.outputChannel({ partition, consumerVertexId: o.consumerVertexId, consumerSubtask: c, ...sizes, ...(consumerLocation === undefined ? {} : { consumerLocation }) });
        }),
      })),
    };
    const { port1, port2 } = new MessageChannel();
    const live: Live = { tdd, operators: [], metrics: undefined, abort: new AbortController(), killTimer: undefined };
    this.live.set(executionId, live);
    this.customMetrics.start(tdd);
    let done = false;
    const finish = (outcome: SubtaskOutcome): void => {
      if (done) return;
      done = true;
      if (live.killTimer !== undefined) clearTimeout(live.killTimer);
      this.live.delete(executionId);
      this.customMetrics.end(executionId, Date.now());
      port1.close();
      if (outcome.state === 'FINISHED') listener.onFinished(outcome.operators, outcome.finalSourceState);
      else if (outcome.state === 'CANCELED') listener.onCanceled(outcome.operators);
      else listener.onFailed(outcome.error ?? serializeError(new Error('subtask failed')), outcome.operators);
    };
    port1.on('message', (msg: WorkerMessage) => {
      switch (msg.type) {
        case 'running':
          live.operators = msg.operators;
          live.metrics = new Float64Array(msg.metrics);
          listener.onRunning();
          break;
        case 'collected':
          listener.onCollected(msg.sinkName, msg.records);
          break;
        case 'custom-metrics':
          this.customMetrics.apply(executionId, msg.update);
          for (const warning of msg.update.warnings) this.logger.warn(warning, { job: tdd.jobName, task: tdd.vertexName, subtask: tdd.subtaskIndex });
          break;
        case 'checkpoint-ack':
          listener.onCheckpointAck(msg.checkpointId, msg.operators, msg.stats);
          break;
        case 'checkpoint-decline':
          listener.onCheckpointDecline(msg.checkpointId, msg.error);
          break;
        case 'done':
          finish(msg.outcome);
          break;
      }
    });
    this.pool.run({ ...start, port: port2 } satisfies SubtaskStart, { transferList: [port2], signal: live.abort.signal }).then(
      (outcome: SubtaskOutcome) => {
        // Normally the 'done' message has arrived or is about to; this only covers a lost port.
        const fallback = setTimeout(() => finish(outcome), 1_000);
        fallback.unref();
      },
      (err: unknown) => {
        const cancelled = shuffle.isCancelled(tdd.jobId, tdd.attempt, tdd.vertexId, tdd.subtaskIndex);
        if (cancelled) finish({ state: 'CANCELED', operators: [] });
        else
          finish({
            state: 'FAILED',
            error: serializeError(new SluiceError('WORKER_DIED', `the worker thread running ${tdd.vertexName} (${tdd.subtaskIndex + 1}/${tdd.parallelism}) died: ${deserializeError(serializeError(err)).message}`, { cause: err })),
            operators: [],
          });
      },
    );
    return {
      executionId,
      triggerCheckpoint: (checkpointId, stop) => {
        new TaskControl(control).requestCheckpoint(checkpointId, stop);
      },
      notifyCheckpoint: (outcome, checkpointId) => {
        if (done) return;
        port1.postMessage({ type: outcome === 'complete' ? 'checkpoint-complete' : 'checkpoint-aborted', checkpointId } satisfies TaskControlMessage);
      },
      cancel: () => {
        shuffle.cancel(tdd.jobId, tdd.attempt, tdd.vertexId, tdd.subtaskIndex);
        if (live.killTimer === undefined) {
          // A user function stuck in a loop never sees the cancel flag: terminate its thread.
          live.killTimer = setTimeout(() => {
            this.logger.warn('subtask did not stop after cancel; terminating its worker thread', { task: tdd.vertexName, subtask: tdd.subtaskIndex });
            live.abort.abort();
          }, this.options.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS);
          live.killTimer.unref();
        }
      },
    };
  }

  metrics(): { subtasks: SubtaskMetricsSnapshot[]; pool: WorkerPoolSnapshot; custom: SubtaskCustomMetricsSnapshot[] } {
    const subtasks: SubtaskMetricsSnapshot[] = [];
    for (const l of this.live.values()) {
      const v = l.metrics;
      if (v === undefined) continue;
      subtasks.push({
        executionId: l.tdd.executionId,
        jobId: l.tdd.jobId,
        jobName: l.tdd.jobName,
        vertexId: l.tdd.vertexId,
        vertexName: l.tdd.vertexName,
        subtask: l.tdd.subtaskIndex,
        operators: readOperatorCounters(v, l.operators),
        busyMs: v[TaskMetricSlot.BusyMs]!,
        backpressuredMs: v[TaskMetricSlot.BackpressuredMs]!,
        idleMs: v[TaskMetricSlot.IdleMs]!,
        currentWatermark: v[TaskMetricSlot.CurrentWatermark]!,
        bytesIn: v[TaskMetricSlot.BytesIn]!,
        bytesOut: v[TaskMetricSlot.BytesOut]!,
        buffersOut: v[TaskMetricSlot.BuffersOut]!,
      });
    }
    return {
      subtasks,
      pool: { threads: this.pool.threads.length, utilization: this.pool.utilization, queueSize: this.pool.queueSize, completedTasks: this.pool.completed },
      custom: this.customMetrics.snapshot(Date.now()),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.live.values()) this.options.shuffle.cancel(l.tdd.jobId, l.tdd.attempt, l.tdd.vertexId, l.tdd.subtaskIndex);
    const deadline = Date.now() + (this.options.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS);
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const l of this.live.values()) l.abort.abort();
    await this.pool.destroy();
  }
}
