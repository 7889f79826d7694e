/**
 * @sluice/metrics — how Sluice is observed from Prometheus. The TaskManager hands over a
 * TaskManagerMetricsSource (plain-number snapshots of its subtasks and worker pool), the
 * Dispatcher a JobMetricsSource (checkpoint statistics and restarts of its jobs); this package
 * turns those into Prometheus series at scrape time and serves them at /metrics. It talks to no
 * other component: callers pass the sources in and put the server's URL into their registration.
 * `@sluice/metrics/custom` is the prom-client-free part worker threads import: the rules and
 * snapshot shape of custom metrics (series defined by sources, sinks and user functions).
 */
export * from './snapshot.js';
export * from './custom-metrics.js';
export * from './job-snapshot.js';
export {
  JOB_COUNTERS,
  JOB_GAUGES,
  JOB_LABELS,
  OPERATOR_COUNTERS,
  OPERATOR_LABELS,
  TASK_COUNTERS,
  TASK_LABELS,
  TASK_WATERMARK_LAG,
  TASKMANAGER_SLOTS,
  WORKER_POOL,
  type MetricDefinition,
} from './names.js';
export {
  createMetricsRegistry,
  resolveMetricsRegistryOptions,
  DEFAULT_METRICS_REGISTRY_OPTIONS,
  type MetricsRegistryOptions,
} from './registry.js';
export {
  createJobMetricsRegistry,
  resolveJobMetricsRegistryOptions,
  DEFAULT_JOB_METRICS_REGISTRY_OPTIONS,
  type JobMetricsRegistryOptions,
} from './job-registry.js';
export { createEntrypointMetricsRegistry, ENTRYPOINT_LEADER, type EntrypointMetricsOptions } from './entrypoint-registry.js';
export {
  combineRegistries,
  createMetricsServer,
  DEFAULT_METRICS_HOST,
  type MetricsServer,
  type MetricsServerOptions,
  type ScrapableRegistry,
} from './server.js';
