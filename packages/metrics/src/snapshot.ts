/**
 * What the TaskManager's main thread knows about its subtasks, as plain numbers. Worker threads
 * count locally into shared memory; the TaskManager turns those counters into these snapshots;
 * the registry turns snapshots into Prometheus series at scrape time. prom-client never runs on
 * a worker thread and never runs per record.
 */
import type { SubtaskCustomMetricsSnapshot } from './custom-metrics.js';

export interface OperatorMetricsSnapshot {
  nodeId: number;
  operator: string;
  recordsIn: number;
  recordsOut: number;
  lateRecordsDropped: number;
}

export interface SubtaskMetricsSnapshot {
  /** The subtask's execution (one attempt of it), when the runner tells; labels never use it. */
  executionId?: string;
  jobId: string;
  jobName: string;
  vertexId: string;
  vertexName: string;
  subtask: number;
  operators: OperatorMetricsSnapshot[];
  /** Cumulative ms spent processing, blocked on full output channels, and waiting for input. */
  busyMs: number;
  backpressuredMs: number;
  idleMs: number;
  /** Latest watermark seen at the chain head, −Infinity before the first. */
  currentWatermark: number;
  bytesIn: number;
  bytesOut: number;
  buffersOut: number;
}

export interface WorkerPoolSnapshot {
  threads: number;
  /** Piscina's utilization: fraction of pool capacity in use, 0..1. */
  utilization: number;
  queueSize: number;
  completedTasks: number;
}

export interface TaskManagerMetricsSnapshot {
  resourceId: string;
  slotsTotal: number;
  slotsFree: number;
  subtasks: SubtaskMetricsSnapshot[];
  pool: WorkerPoolSnapshot;
  /**
   * Series defined by sources, sinks and user functions, per subtask; running subtasks and, for a
   * while, ended ones (their final counter and histogram values).
   */
  custom?: readonly SubtaskCustomMetricsSnapshot[];
}

export interface TaskManagerMetricsSource {
  snapshot(): TaskManagerMetricsSnapshot;
}
