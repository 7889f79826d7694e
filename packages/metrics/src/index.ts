/**
 * @sluice/metrics — how Sluice is observed from Prometheus. The TaskManager hands over a
 * TaskManagerMetricsSource (plain-number snapshots of its subtasks and worker pool); this package
 * turns those into Prometheus series at scrape time and serves them at /metrics. It talks to no
 * other component: callers pass the source in and put the server's URL into their registration.
 */
export * from './snapshot.js';
export {
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
  createMetricsServer,
  DEFAULT_METRICS_HOST,
  type MetricsServer,
  type MetricsServerOptions,
  type ScrapableRegistry,
} from './server.js';
