/**
 * The JobGraph as plain data: chains (vertices) and the exchanges between them. The client (or
 * the JobMaster) produces it from a job module; it crosses process boundaries unchanged. Workers
 * rebuild the StreamGraph from the same module and find each operator's functions by node id, so
 * no closure is ever serialized.
 */
import type { StateShape } from './checkpoint.js';
import type { RestartStrategyConfig } from './restart-strategy.js';

export type PartitionerKind = 'forward' | 'rebalance' | 'rescale' | 'hash' | 'broadcast' | 'global';

export interface ChainedOperatorInfo {
  /** StreamGraph node id; stable across rebuilds of the same job module with the same params. */
  nodeId: number;
  name: string;
  uid?: string;
  /** Operator kind from the OperatorSpec ('map', 'window', 'keyedProcess', 'source', 'sink', ...). */
  kind: string;
  /**
   * The operator's own state as far as the job's definition tells it (a source's split type, a
   * window's contents); checked against a checkpoint's before its state is restored.
   */
  states?: StateShape[];
}

export interface JobVertex {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** Operators fused into this chain, in topological order; the first one is the chain head. */
  operators: ChainedOperatorInfo[];
  isSource: boolean;
  isSink: boolean;
}

export interface JobEdge {
  id: string;
  sourceVertex: string;
  targetVertex: string;
  /** The StreamGraph edge this exchange realises. */
  sourceNodeId: number;
  targetNodeId: number;
  /** 0 for one-input operators and the first input of two-input operators; 1 for the second. */
  inputIndex: 0 | 1;
  partitioner: PartitionerKind;
  /** Set when the edge carries a side output of the source operator. */
  sideOutputTag?: string;
}

export interface JobGraph {
  jobName: string;
  /** Topologically ordered. */
  vertices: JobVertex[];
  edges: JobEdge[];
  config: JobConfig;
}

/** Job-level runtime knobs, resolved (no optional fields) before the graph leaves the client. */
export interface JobConfig {
  defaultParallelism: number;
  maxParallelism: number;
  /** Output batches flush when full or this many ms after their first record; 0 = every record. */
  bufferTimeoutMs: number;
  /** Bytes per network buffer (one batch). A record larger than this is an error. */
  bufferSizeBytes: number;
  /** Buffers per channel (credits); bounds memory per channel and makes backpressure work. */
  buffersPerChannel: number;
  /** How often watermark generators are asked for a periodic watermark. */
  autoWatermarkIntervalMs: number;
  /** Time between the starts of periodic checkpoints; 0 disables checkpointing. */
  checkpointIntervalMs: number;
  /** A checkpoint not complete after this long is aborted. */
  checkpointTimeoutMs: number;
  /** At least this long between the end of one checkpoint and the start of the next. */
  minPauseBetweenCheckpointsMs: number;
  /** Completed checkpoints kept on disk; older ones are deleted. */
  retainedCheckpoints: number;
  /**
   * Periodic checkpoints that may fail in a row before the job fails over (restarts under its
   * restart strategy, or fails without one). Flink's `tolerable-failed-checkpoints`, default 0.
   */
  tolerableFailedCheckpoints: number;
  /**
   * Root directory of checkpoints (local disk or a shared mount); checkpoints of a job go to
   * `<dir>/<jobId>/chk-<id>/`. Empty: the JobMaster picks `<os tmpdir>/sluice-checkpoints`.
   */
  checkpointDir: string;
  /** What happens when a task fails: fail the job, or restart it from the latest checkpoint. */
  restartStrategy: RestartStrategyConfig;
}

export const DEFAULT_JOB_CONFIG: Readonly<JobConfig> = Object.freeze({
  defaultParallelism: 1,
  maxParallelism: 128,
  bufferTimeoutMs: 5,
  bufferSizeBytes: 32 * 1024,
  buffersPerChannel: 8,
  autoWatermarkIntervalMs: 200,
  checkpointIntervalMs: 0,
  checkpointTimeoutMs: 600_000,
  minPauseBetweenCheckpointsMs: 0,
  retainedCheckpoints: 1,
  tolerableFailedCheckpoints: 0,
  checkpointDir: '',
  restartStrategy: Object.freeze({ type: 'none' }) as RestartStrategyConfig,
});

/** The number of slots a job needs: all vertices share slots, so the widest vertex decides. */
export function requiredSlots(graph: JobGraph): number {
  return graph.vertices.reduce((m, v) => Math.max(m, v.parallelism), 0);
}
