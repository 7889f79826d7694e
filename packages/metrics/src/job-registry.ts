/**
 * The per-job Prometheus registry: checkpoint statistics, restarts and uptime of every job a
 * JobMetricsSource (the Dispatcher's JobMasters) reports, filled by prom-client `collect`
 * callbacks from one snapshot per scrape. It is separate from the TaskManager registry because
 * job series must be exported once per cluster, not once per TaskManager: the same counter on
 * two targets would be counted twice by `sum()`. Serve it alone, or next to a TaskManager's
 * registry with `combineRegistries`.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { ConfigurationError } from '@sluice/common';
import { JOB_COUNTERS, JOB_GAUGES, JOB_LABELS } from './names.js';
import { JobScrapeViewBuilder, type JobSeries } from './job-scrape-view.js';
import type { JobMetricsSource } from './job-snapshot.js';
import { OncePerScrape } from './per-scrape.js';

export interface JobMetricsRegistryOptions {
  source: JobMetricsSource;
  /** Wall clock in ms, the time base of the snapshots' `runningSince` and `endTime`. */
  now: () => number;
  /** Ended jobs whose final values are still exported, at most (the most recently ended). */
  maxEndedJobs: number;
  /** How long after its end a job's final values stay exported. */
  endedJobTtlMs: number;
  /** Labels added to every series, e.g. `{ cluster }`. */
  defaultLabels: Record<string, string>;
}

export const DEFAULT_JOB_METRICS_REGISTRY_OPTIONS: Readonly<Omit<JobMetricsRegistryOptions, 'source'>> = Object.freeze({
  now: () => Date.now(),
  maxEndedJobs: 1_000,
  endedJobTtlMs: 60 * 60 * 1000,
  defaultLabels: {},
});

export function resolveJobMetricsRegistryOptions(
  options: Partial<JobMetricsRegistryOptions> & Pick<JobMetricsRegistryOptions, 'source'>,
): JobMetricsRegistryOptions {
  const resolved: JobMetricsRegistryOptions = { ...DEFAULT_JOB_METRICS_REGISTRY_OPTIONS, ...options };
  if (typeof resolved.source?.snapshot !== 'function') {
    throw new ConfigurationError('job metrics registry: `source` must have a snapshot() method (a JobMetricsSource)');
  }
  for (const key of ['maxEndedJobs', 'endedJobTtlMs'] as const) {
    const v = resolved[key];
    if (!Number.isFinite(v) || v < 0) {
      throw new ConfigurationError(`job metrics registry: ${key} must be a non-negative number, got ${String(v)}`);
    }
  }
  return resolved;
}

/** Creates a registry whose per-job series reflect `source.snapshot()` at scrape time. */
export function createJobMetricsRegistry(
  options: Partial<JobMetricsRegistryOptions> & Pick<JobMetricsRegistryOptions, 'source'>,
): Registry {
  const opts = resolveJobMetricsRegistryOptions(options);
  const registry = new Registry();
  if (Object.keys(opts.defaultLabels).length > 0) registry.setDefaultLabels(opts.defaultLabels);
  const builder = new JobScrapeViewBuilder({ maxEndedJobs: opts.maxEndedJobs, endedJobTtlMs: opts.endedJobTtlMs });
  const views = new OncePerScrape(() => builder.update(opts.source.snapshot(), opts.now()));
  const registers = [registry];

  for (const [i, def] of Object.values(JOB_COUNTERS).entries()) {
    new Counter({
      ...def,
      labelNames: JOB_LABELS,
      registers,
      collect() {
        this.reset();
        for (const j of views.get(def.name)) this.inc(j.labels, j.counters[i] ?? 0);
      },
    });
  }
  const gauge = (def: { name: string; help: string }, pick: (j: JobSeries) => number | undefined): void => {
    new Gauge({
      ...def,
      labelNames: JOB_LABELS,
      registers,
      collect() {
        // Reset first so a job no longer exported disappears instead of freezing at its last value.
        this.reset();
        for (const j of views.get(def.name)) {
          const v = pick(j);
          if (v !== undefined) this.set(j.labels, v);
        }
      },
    });
  };
  gauge(JOB_GAUGES.checkpointsInProgress, (j) => j.checkpointsInProgress);
  gauge(JOB_GAUGES.lastCheckpointId, (j) => j.lastCheckpointId);
  gauge(JOB_GAUGES.lastCheckpointDuration, (j) => j.lastCheckpoint?.durationSeconds);
  gauge(JOB_GAUGES.lastCheckpointSize, (j) => j.lastCheckpoint?.sizeBytes);
  gauge(JOB_GAUGES.lastCheckpointAlignment, (j) => j.lastCheckpoint?.alignmentSeconds);
  gauge(JOB_GAUGES.lastCheckpointSync, (j) => j.lastCheckpoint?.syncSeconds);
  gauge(JOB_GAUGES.lastCheckpointMaxPause, (j) => j.lastCheckpoint?.maxPauseSeconds);
  gauge(JOB_GAUGES.uptime, (j) => j.uptimeSeconds);
  return registry;
}
