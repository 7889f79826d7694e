/**
 * What a JobMaster reports about its job over its gateway: checkpoint statistics (REST), the
 * metrics snapshot (/metrics) and the checkpoint part of the final JobResult. Pure reads of the
 * coordinator's counters, so they answer the same while the job runs and after it ended.
 */
import type { CheckpointStatistics, JobMetrics, JobResult, JobStatus } from '@sluice/protocol';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.js';

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
