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
  /**
   * Brings the job figures up to date before a scrape (the Dispatcher asks its JobMasters); a
   * scrape waits for it at most `refreshTimeoutMs` (default 2 s), then serves what it has.
   */
  refresh?: () => Promise<unknown>;
  refreshTimeoutMs?: number;
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
  const combined = combineRegistries(own, createJobMetricsRegistry({ source: options.jobs }));
  const { refresh } = options;
  if (refresh === undefined) return combined;
  const timeoutMs = options.refreshTimeoutMs ?? 2_000;
  return {
    contentType: combined.contentType,
    async metrics() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      // A refresh that fails or hangs (a JobMaster unreachable) leaves the last figures in place.
      await Promise.race([refresh().catch(() => undefined), late]);
      clearTimeout(timer);
      return combined.metrics();
    },
  };
}
