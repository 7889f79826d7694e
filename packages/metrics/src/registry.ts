/**
 * The TaskManager's Prometheus registry. Every Sluice series is filled by a prom-client `collect`
 * callback from one TaskManagerMetricsSnapshot per scrape, so nothing happens per record and
 * prom-client never runs on a worker thread. Node's default process metrics are added under
 * their usual names (`process_*`, `nodejs_*`) so stock Node dashboards and alerts work unchanged.
 * Custom metrics (defined by sources, sinks and user functions) come and go with jobs, so their
 * families are registered anew at the start of every scrape (see custom-families.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { ConfigurationError, createLogger, type Logger } from '@sluice/common';
import { CustomFamilies } from './custom-families.js';
import {
  OPERATOR_COUNTERS,
  OPERATOR_LABELS,
  TASK_COUNTERS,
  TASK_LABELS,
  TASK_WATERMARK_LAG,
  TASKMANAGER_SLOTS,
  WORKER_POOL,
} from './names.js';
import { collectNodeMetrics } from './node-metrics.js';
import { OncePerScrape } from './per-scrape.js';
import { ScrapeViewBuilder, type ScrapeView } from './scrape-view.js';
import type { TaskManagerMetricsSource } from './snapshot.js';

export interface MetricsRegistryOptions {
  source: TaskManagerMetricsSource;
  /** Add prom-client's default Node metrics (`process_*`, `nodejs_*`). */
  defaultMetrics: boolean;
  /** Labels added to every series, e.g. `{ tm_id }` when several TaskManagers share a target. */
  defaultLabels: Record<string, string>;
  /** Wall clock in ms, the time base of watermarks (for watermark lag). */
  now: () => number;
  /** Ended subtasks whose final counter values are still exported, at most. */
  maxRetiredSeries: number;
  /** How long final counter values of ended subtasks stay exported. */
  retiredSeriesTtlMs: number;
  /** Where custom metrics that cannot be exported (conflicting definitions) are reported, once each. */
  logger: Logger;
}

export const DEFAULT_METRICS_REGISTRY_OPTIONS: Readonly<Omit<MetricsRegistryOptions, 'source'>> = Object.freeze({
  defaultMetrics: true,
  defaultLabels: {},
  now: () => Date.now(),
  maxRetiredSeries: 10_000,
  retiredSeriesTtlMs: 60 * 60 * 1000,
  logger: createLogger().child('metrics'),
});

export function resolveMetricsRegistryOptions(
  options: Partial<MetricsRegistryOptions> & Pick<MetricsRegistryOptions, 'source'>,
): MetricsRegistryOptions {
  const resolved: MetricsRegistryOptions = { ...DEFAULT_METRICS_REGISTRY_OPTIONS, ...options };
  if (typeof resolved.source?.snapshot !== 'function') {
    throw new ConfigurationError('metrics registry: `source` must have a snapshot() method (a TaskManagerMetricsSource)');
  }
  for (const key of ['maxRetiredSeries', 'retiredSeriesTtlMs'] as const) {
    const v = resolved[key];
    if (!Number.isFinite(v) || v < 0) {
      throw new ConfigurationError(`metrics registry: ${key} must be a non-negative number, got ${String(v)}`);
    }
  }
  return resolved;
}

/**
 * Creates a registry whose Sluice series reflect `source.snapshot()` at scrape time.
 * Serve it with `createMetricsServer({ registry })`.
 */
export function createMetricsRegistry(
  options: Partial<MetricsRegistryOptions> & Pick<MetricsRegistryOptions, 'source'>,
): Registry {
  const opts = resolveMetricsRegistryOptions(options);
  const builder = new ScrapeViewBuilder({
    maxRetired: opts.maxRetiredSeries,
    retiredTtlMs: opts.retiredSeriesTtlMs,
    defaultLabelNames: new Set(Object.keys(opts.defaultLabels)),
    warn: (message) => opts.logger.warn(message),
  });
  const views = new OncePerScrape(() => builder.update(opts.source.snapshot(), opts.now()));
  const customFamilies = new CustomFamilies((message) => opts.logger.warn(message));
  const registry = new TaskManagerRegistry((r) => customFamilies.refresh(r, views.get(CUSTOM_VIEW).custom));
  if (Object.keys(opts.defaultLabels).length > 0) registry.setDefaultLabels(opts.defaultLabels);
  const registers = [registry];

  for (const [i, def] of Object.values(OPERATOR_COUNTERS).entries()) {
    new Counter({
      ...def,
      labelNames: OPERATOR_LABELS,
      registers,
      collect() {
        this.reset();
        for (const s of views.get(def.name).operators) this.inc(s.labels, s.values[i] ?? 0);
      },
    });
  }
  for (const [i, def] of Object.values(TASK_COUNTERS).entries()) {
    new Counter({
      ...def,
      labelNames: TASK_LABELS,
      registers,
      collect() {
        this.reset();
        for (const s of views.get(def.name).tasks) this.inc(s.labels, s.values[i] ?? 0);
      },
    });
  }
  new Gauge({
    ...TASK_WATERMARK_LAG,
    labelNames: TASK_LABELS,
    registers,
    collect() {
      // Reset first so a subtask that ended stops reporting lag instead of freezing at its last value.
      this.reset();
      for (const s of views.get(TASK_WATERMARK_LAG.name).watermarkLagSeconds) this.set(s.labels, s.value);
    },
  });
  new Gauge({
    ...TASKMANAGER_SLOTS,
    labelNames: ['state'] as const,
    registers,
    collect() {
      const v = views.get(TASKMANAGER_SLOTS.name);
      this.set({ state: 'total' }, v.slotsTotal);
      this.set({ state: 'free' }, v.slotsFree);
    },
  });
  const poolGauge = (def: { name: string; help: string }, pick: (v: ScrapeView) => number): void => {
    new Gauge({
      ...def,
      registers,
      collect() {
        this.set(pick(views.get(def.name)));
      },
    });
  };
  poolGauge(WORKER_POOL.threads, (v) => v.poolThreads);
  poolGauge(WORKER_POOL.utilization, (v) => v.poolUtilization);
  poolGauge(WORKER_POOL.queueSize, (v) => v.poolQueueSize);
  new Counter({
    ...WORKER_POOL.completedTasks,
    registers,
    collect() {
      this.reset();
      this.inc(views.get(WORKER_POOL.completedTasks.name).poolCompletedTasks);
    },
  });

  if (opts.defaultMetrics) collectNodeMetrics(registry);
  return registry;
}

/** The key under which custom families take the scrape's view: before any built-in metric does. */
const CUSTOM_VIEW = '(custom metrics)';

/**
 * A registry that brings its custom families up to date before each scrape; prom-client takes
 * the list of metrics before calling any `collect`, so they cannot be added from one.
 */
class TaskManagerRegistry extends Registry {
  constructor(private readonly beforeScrape: (registry: Registry) => void) {
    super();
  }

  override metrics(): Promise<string> {
    this.beforeScrape(this);
    return super.metrics();
  }

  override getMetricsAsJSON(): ReturnType<Registry['getMetricsAsJSON']> {
    this.beforeScrape(this);
    return super.getMetricsAsJSON();
  }
}
