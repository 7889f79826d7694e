/**
 * What a JobMaster knows about its job for monitoring, as plain numbers: status, restarts and
 * checkpoint statistics. The JobMaster (through the Dispatcher) hands these over as a
 * JobMetricsSource; the job registry turns them into Prometheus series at scrape time.
 */
import type { CheckpointCounters, JobMetrics } from '@sluice/protocol';

/** The JobMaster reports these over its gateway (protocol's JobMetrics); one shape, defined there. */
export type CheckpointMetricsSnapshot = CheckpointCounters;
export type JobMetricsSnapshot = JobMetrics;

export interface JobMetricsSource {
  /** Every job the source knows, running and ended alike; the registry bounds what it exports. */
  snapshot(): JobMetricsSnapshot[];
}
