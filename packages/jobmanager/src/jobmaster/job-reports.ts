/**
 * What a JobMaster reports about its job over its gateway: checkpoint statistics and job details
 * (REST), the metrics snapshot (/metrics) and the checkpoint part of the final JobResult. Pure
 * reads of the coordinator's counters, the execution graph and the exceptions history, so they
 * answer the same while the job runs and after it ended.
 */
import { isSinkKind, type OperatorKind } from '@sluice/api';
import type { CheckpointStatistics, ExecutionCounts, JobDetails, JobEdge, JobMetrics, JobResult, JobStatus, JobVertex, JobVertexDetails } from '@sluice/protocol';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import type { ExceptionHistory } from './exception-history.js';
import type { Execution, ExecutionGraph } from './execution-graph.js';
import type { CountsSample } from './live-counts.js';

export function checkpointStatistics(checkpoints: CheckpointCoordinator): CheckpointStatistics {
  const st = checkpoints.stats;
  const out: CheckpointStatistics = { counts: { completed: st.completed, failed: st.failed, inProgress: st.inProgress } };
  if (checkpoints.lastFailure !== undefined) out.lastFailure = { ...checkpoints.lastFailure };
  const last = checkpoints.latestCompleted();
  if (last !== undefined) {
    const own = st.completed > 0 && st.lastCompletedId === last.id;
    out.latest = own
      ? { id: last.id, path: last.location, restored: false, durationMs: st.lastDurationMs, sizeBytes: st.lastSizeBytes, alignmentMs: st.lastAlignmentMs, syncMs: st.lastSyncMs, maxPauseMs: st.lastMaxPauseMs }
      : { id: last.id, path: last.location, restored: true };
  }
  return out;
}

export function jobMetrics(input: { jobId: string; jobName: string; status: JobStatus; restarts: number; runningSince: number | undefined; endTime: number | undefined; checkpoints: CheckpointCoordinator }): JobMetrics {
  const s: JobMetrics = { jobId: input.jobId, jobName: input.jobName, status: input.status, restarts: input.restarts, checkpoints: { ...input.checkpoints.stats } };
  if (input.runningSince !== undefined) s.runningSince = input.runningSince;
  if (input.endTime !== undefined) s.endTime = input.endTime;
  return s;
}

/** Adds restarts and checkpoint figures to a JobResult, when there are any. */
export function addCheckpointFigures(result: JobResult, restarts: number, stats: CheckpointStatistics): void {
  if (restarts > 0) result.restarts = restarts;
  if (stats.counts.completed + stats.counts.failed > 0) {
    result.checkpoints = { completed: stats.counts.completed, failed: stats.counts.failed, ...(stats.lastFailure === undefined ? {} : { lastFailure: stats.lastFailure }) };
  }
  const last = stats.latest;
  if (last !== undefined) {
    result.lastCheckpoint = { id: last.id, path: last.path, durationMs: last.durationMs ?? 0, bytes: last.sizeBytes ?? 0, maxPauseMs: last.maxPauseMs ?? 0 };
  }
}

/**
 * Per-vertex states and counts of the current attempt, and the exceptions history. A subtask's
 * counts are the final ones it reported when it ended, else the latest live ones.
 */
export function jobDetails(graph: ExecutionGraph, live: (executionId: string) => CountsSample | undefined, exceptions: ExceptionHistory): JobDetails {
  const byVertex = new Map<string, Execution[]>();
  for (const e of graph.executions) {
    const list = byVertex.get(e.vertex.id);
    if (list === undefined) byVertex.set(e.vertex.id, [e]);
    else list.push(e);
  }
  const vertices = graph.graph.vertices.map((v) => vertexDetails(v, graph.graph.edges, byVertex.get(v.id) ?? [], live));
  return { vertices, ...exceptions.snapshot() };
}

function vertexDetails(vertex: JobVertex, edges: readonly JobEdge[], executions: readonly Execution[], live: (executionId: string) => CountsSample | undefined): JobVertexDetails {
  const subtasks: Record<string, number> = {};
  const counts: ExecutionCounts['operators'] = [];
  let backpressure: number | undefined;
  for (const e of executions) {
    subtasks[e.state] = (subtasks[e.state] ?? 0) + 1;
    const sample = live(e.executionId);
    // A subtask whose worker died reports no final counts: its last live ones are the best left.
    counts.push(...(e.operators !== undefined && e.operators.length > 0 ? e.operators : (sample?.operators ?? [])));
    if (e.state === 'RUNNING' && sample?.backpressure !== undefined) backpressure = Math.max(backpressure ?? 0, sample.backpressure);
  }
  const out: JobVertexDetails = { id: vertex.id, name: vertex.name, parallelism: vertex.parallelism, subtasks, ...vertexRecords(vertex, edges, counts) };
  if (backpressure !== undefined) out.backpressure = backpressure;
  return out;
}

/**
 * A vertex's records in and out from its operators' counts, after FLIP-33: a source operator's
 * records in are the records it read (it emits them), a sink's records out those it wrote (it
 * received them); otherwise what the operators at the vertex's network inputs took in and what
 * those at its network outputs gave out.
 */
export function vertexRecords(vertex: JobVertex, edges: readonly JobEdge[], counts: readonly ExecutionCounts['operators'][number][]): { recordsIn: number; recordsOut: number } {
  const inputs = new Set(edges.filter((e) => e.targetVertex === vertex.id).map((e) => e.targetNodeId));
  const outputs = new Set(edges.filter((e) => e.sourceVertex === vertex.id).map((e) => e.sourceNodeId));
  const kinds = new Map(vertex.operators.map((o) => [o.nodeId, o.kind]));
  let recordsIn = 0;
  let recordsOut = 0;
  for (const c of counts) {
    const kind = kinds.get(c.nodeId);
    if (kind === undefined) continue;
    if (kind === 'source') recordsIn += c.recordsOut;
    else if (inputs.has(c.nodeId)) recordsIn += c.recordsIn;
    if (isSinkKind(kind as OperatorKind)) recordsOut += c.recordsIn;
    else if (outputs.has(c.nodeId)) recordsOut += c.recordsOut;
  }
  return { recordsIn, recordsOut };
}
