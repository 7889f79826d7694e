/**
 * What a cluster entrypoint serves at its REST API's /metrics: the per-job series of the jobs its
 * Dispatcher runs (restarts, checkpoints — only while it leads, so sums over the entrypoints of an
 * HA cluster count each job once), whether it leads, and Node's process metrics. TaskManagers
 * serve their own operator and task series; the JobMasters report to the Dispatcher over RPC.
 */
import { Gauge, Registry } from 'prom-client';
import { combineRegistries, type ScrapableRegistry } from './server.js';
import { createJobMetricsRegistry } from './job-registry.js';
import { collectNodeMetrics } from './node-metrics.js';
import type { JobMetricsSource } from './job-snapshot.js';

export const ENTRYPOINT_LEADER = {
  name: 'sluice_entrypoint_leader',
  help: '1 while this entrypoint leads the cluster (runs the Dispatcher and ResourceManager), 0 while it stands by.',
} as const;

export interface EntrypointMetricsOptions {
  /** The leading Dispatcher's jobs; an empty list while standing by. */
  jobs: JobMetricsSource;
  leading(): boolean;
  /** Node's process_* and nodejs_* series (default true). */
  defaultMetrics?: boolean;
}

export function createEntrypointMetricsRegistry(options: EntrypointMetricsOptions): ScrapableRegistry {
  const own = new Registry();
  new Gauge({
    ...ENTRYPOINT_LEADER,
    registers: [own],
    collect() {
      this.set(options.leading() ? 1 : 0);
    },
  });
  if (options.defaultMetrics ?? true) collectNodeMetrics(own);
  return combineRegistries(own, createJobMetricsRegistry({ source: options.jobs }));
}
