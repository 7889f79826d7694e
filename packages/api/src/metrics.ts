/**
 * Custom metrics: how sources, sinks and user functions publish their own Prometheus series. A
 * MetricGroup belongs to one operator of one subtask (`SourceReaderContext.metrics`,
 * `SinkWriterContext.metrics`, `RuntimeContext.getMetricGroup()`); the runtime counts into plain
 * numbers on the worker thread and the TaskManager exports them at scrape time as
 * `sluice_<name>` with the labels job_name, job_id, vertex, operator and subtask, plus the
 * metric's own labels.
 *
 * Label values must come from a small, fixed set (a topic, a partition, a status), never from
 * records (keys, ids, timestamps): every distinct combination is a series that Prometheus stores
 * for weeks. A metric keeps at most 1,000 series per subtask; updates for further label values
 * are dropped, with one warning in the TaskManager's log.
 */

/** One value per label name of the metric; values are strings from a small, fixed set. */
export type MetricLabels<L extends string> = { readonly [K in L]: string };

/** A counter bound to one set of label values: the cheapest way to count on a hot path. */
export interface BoundCounter {
  /** Adds `n` (default 1; finite, ≥ 0). */
  inc(n?: number): void;
}

export interface Counter<L extends string = never> extends BoundCounter {
  /** Adds `n` (default 1; finite, ≥ 0) to the series of `labels` (required when the counter has label names). */
  inc(n?: number, labels?: MetricLabels<L>): void;
  /** The series of `labels`, looked up once: keep it (e.g. per partition) instead of passing labels per call. */
  labels(labels: MetricLabels<L>): BoundCounter;
}

export interface BoundGauge {
  set(value: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
}

export interface Gauge<L extends string = never> extends BoundGauge {
  set(value: number, labels?: MetricLabels<L>): void;
  inc(n?: number, labels?: MetricLabels<L>): void;
  dec(n?: number, labels?: MetricLabels<L>): void;
  labels(labels: MetricLabels<L>): BoundGauge;
}

export interface BoundHistogram {
  /** Records one finite observation, in the metric's base unit (seconds, bytes). */
  observe(value: number): void;
}

export interface Histogram<L extends string = never> extends BoundHistogram {
  observe(value: number, labels?: MetricLabels<L>): void;
  labels(labels: MetricLabels<L>): BoundHistogram;
}

/**
 * Defines metrics of one operator. Define them once (in `open`, or when a reader or writer is
 * created) and keep the returned objects; defining the same name again with the same definition
 * returns the same metric.
 *
 * Names: `[a-zA-Z_][a-zA-Z0-9_]*`, without the `sluice_` prefix (the runtime adds it), not in the
 * runtime's own namespaces (`operator_`, `task_`, `taskmanager_`, `worker_pool_`, `job_`).
 * Counters end in `_total`; use base units (`_seconds`, `_bytes`). Label names may not be the
 * standard ones (job_name, job_id, vertex, operator, subtask) nor job, instance, le, quantile,
 * taskmanager, tm_id. An invalid definition throws an error saying what to change.
 */
export interface MetricGroup {
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  /** `buckets`: upper bounds, strictly increasing (default DEFAULT_HISTOGRAM_BUCKETS, in seconds). */
  histogram<L extends string = never>(name: string, help: string, buckets?: readonly number[], labelNames?: readonly L[]): Histogram<L>;
}

/** Latency buckets in seconds, from 1 ms to 10 s: Sluice pipelines care about milliseconds. */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
