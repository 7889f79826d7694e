/**
 * Turns the JobMetricsSnapshots of one scrape into the values of every per-job series: which
 * jobs are exported (running ones, and ended ones for a bounded while), their counters kept
 * monotonic, gauges in base units. No prom-client here: the job registry only copies the result.
 */
import type { JobLabel } from './names.js';
import type { JobMetricsSnapshot } from './job-snapshot.js';
import { MonotonicCounters } from './monotonic-counters.js';

export type JobLabels = Record<JobLabel, string>;

export interface JobSeries {
  labels: JobLabels;
  /** In order: restarts, checkpoints completed, checkpoints failed. */
  counters: readonly number[];
  checkpointsInProgress: number;
  lastCheckpointId: number;
  /** Absent until the job's JobMaster completed a checkpoint. */
  lastCheckpoint?: { durationSeconds: number; sizeBytes: number; alignmentSeconds: number; syncSeconds: number; maxPauseSeconds: number };
  uptimeSeconds: number;
}

export interface JobRetention {
  /** Ended jobs exported at most; the most recently ended win. */
  maxEndedJobs: number;
  /** How long after its end a job stays exported. */
  endedJobTtlMs: number;
}

/** Which jobs a scrape exports: every job not ended, and the newest ended ones within the TTL. Source order is kept. */
export function exportedJobs(jobs: readonly JobMetricsSnapshot[], now: number, retention: JobRetention): JobMetricsSnapshot[] {
  const ended = jobs
    .filter((j) => j.endTime !== undefined && now - j.endTime < retention.endedJobTtlMs)
    .sort((a, b) => b.endTime! - a.endTime!)
    .slice(0, retention.maxEndedJobs);
  const keep = new Set(ended);
  return jobs.filter((j) => j.endTime === undefined || keep.has(j));
}

/** Holds counter history between scrapes; `update` is called once per scrape. */
export class JobScrapeViewBuilder {
  // A job's counts come from one JobMaster and only grow, but the source contract cannot promise
  // that (a JobMaster replaced after a failover starts from zero); MonotonicCounters adds the old
  // counts on top. Retention is decided by `exportedJobs`, so a job no longer exported is
  // forgotten at once (no retired entries here).
  private readonly counters = new MonotonicCounters<string>({ maxRetired: 0, retiredTtlMs: 0 });

  constructor(private readonly retention: JobRetention) {}

  /** `now` is wall-clock ms, the time base of `runningSince` and `endTime`. */
  update(jobs: readonly JobMetricsSnapshot[], now: number): JobSeries[] {
    const exported = exportedJobs(jobs, now, this.retention);
    this.counters.beginSnapshot();
    for (const j of exported) {
      this.counters.observe(j.jobId, j.jobId, [j.restarts, j.checkpoints.completed, j.checkpoints.failed]);
    }
    this.counters.endSnapshot(now);
    const totals = new Map<string, readonly number[]>();
    for (const s of this.counters.samples()) totals.set(s.labels, s.values);

    return exported.map((j) => {
      const c = j.checkpoints;
      const series: JobSeries = {
        labels: { job_name: j.jobName, job_id: j.jobId },
        counters: totals.get(j.jobId) ?? [0, 0, 0],
        checkpointsInProgress: c.inProgress,
        lastCheckpointId: c.lastCompletedId,
        uptimeSeconds: j.status === 'RUNNING' && j.runningSince !== undefined ? Math.max(0, now - j.runningSince) / 1000 : 0,
      };
      if (c.completed > 0) {
        series.lastCheckpoint = {
          durationSeconds: c.lastDurationMs / 1000,
          sizeBytes: c.lastSizeBytes,
          alignmentSeconds: c.lastAlignmentMs / 1000,
          syncSeconds: c.lastSyncMs / 1000,
          maxPauseSeconds: c.lastMaxPauseMs / 1000,
        };
      }
      return series;
    });
  }
}
