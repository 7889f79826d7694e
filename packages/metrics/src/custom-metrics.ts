/**
 * Custom metrics — series that sources, sinks and user functions define through the API's
 * MetricGroup — as the worker thread and the registry both see them: the rules a definition
 * follows (names, labels, buckets) and the plain-data snapshot a TaskManager hands to the
 * registry. Pure and free of prom-client, so worker threads import it as `@sluice/metrics/custom`.
 *
 * Exported names are `sluice_` + the name the user gave: one namespace for everything a Sluice
 * TaskManager serves, so dashboards find connector series next to the built-in ones and a user's
 * name can never shadow Node's `process_*` series. The runtime's own namespaces are reserved, so a
 * series added to the runtime later cannot collide with a job's.
 */
import { SluiceError } from '@sluice/common';
import { OPERATOR_LABELS } from './names.js';

export type CustomMetricType = 'counter' | 'gauge' | 'histogram';

export interface CustomMetricDefinition {
  readonly type: CustomMetricType;
  /** The exported name, `sluice_` + the user's name. */
  readonly name: string;
  readonly help: string;
  /** The user's label names, in the order of `CustomSeriesSnapshot.labelValues`. */
  readonly labelNames: readonly string[];
  /** Histograms: bucket upper bounds, strictly increasing, +Inf implied. Empty for other types. */
  readonly buckets: readonly number[];
}

/** A definition is invalid (name, labels, buckets) or a metric is used the wrong way. */
export class InvalidMetricError extends SluiceError {
  constructor(message: string) {
    super('INVALID_METRIC', message);
    this.name = 'InvalidMetricError';
  }
}

export const CUSTOM_METRIC_PREFIX = 'sluice_';

/**
 * Name prefixes (before `sluice_` is added) that belong to the runtime's built-in series. Every
 * built-in name starts with one of them (a test checks it).
 */
export const RESERVED_CUSTOM_NAME_PREFIXES: readonly string[] = Object.freeze(['operator_', 'task_', 'taskmanager_', 'worker_pool_', 'job_']);

/**
 * Label names a custom metric may not use: the standard labels the runtime adds, Prometheus's
 * target labels (`job`, `instance` would be renamed `exported_*`), the histogram and summary
 * labels, and the TaskManager labels Sluice deployments put on every series.
 */
export const RESERVED_CUSTOM_LABELS: readonly string[] = Object.freeze([...OPERATOR_LABELS, 'job', 'instance', 'le', 'quantile', 'taskmanager', 'tm_id']);

export const MAX_CUSTOM_NAME_LENGTH = 128;
export const MAX_CUSTOM_LABEL_NAMES = 8;
export const MAX_CUSTOM_BUCKETS = 64;

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(RESERVED_CUSTOM_LABELS);

/**
 * Validates what a user passed to `MetricGroup.counter/gauge/histogram` and returns the
 * definition with the exported name. Throws InvalidMetricError saying what to change.
 */
export function defineCustomMetric(type: CustomMetricType, userName: unknown, help: unknown, labelNames: unknown = [], buckets: unknown = []): CustomMetricDefinition {
  if (typeof userName !== 'string' || !NAME.test(userName)) {
    throw new InvalidMetricError(`metric name ${JSON.stringify(userName)} is invalid: use letters, digits and underscores, not starting with a digit (e.g. 'kafka_consumer_lag')`);
  }
  if (userName.startsWith(CUSTOM_METRIC_PREFIX)) {
    throw new InvalidMetricError(`metric name '${userName}': leave out the '${CUSTOM_METRIC_PREFIX}' prefix, the runtime adds it (use '${userName.slice(CUSTOM_METRIC_PREFIX.length)}')`);
  }
  const reserved = RESERVED_CUSTOM_NAME_PREFIXES.find((p) => userName.startsWith(p));
  if (reserved !== undefined) {
    throw new InvalidMetricError(`metric name '${userName}': names starting with '${reserved}' are reserved for Sluice's built-in series; choose another prefix, e.g. your connector's name`);
  }
  if (userName.startsWith('__')) throw new InvalidMetricError(`metric name '${userName}': names starting with '__' are reserved by Prometheus`);
  const name = CUSTOM_METRIC_PREFIX + userName;
  if (name.length > MAX_CUSTOM_NAME_LENGTH) throw new InvalidMetricError(`metric name '${userName}' is too long: at most ${MAX_CUSTOM_NAME_LENGTH - CUSTOM_METRIC_PREFIX.length} characters`);
  if (type === 'counter' && !name.endsWith('_total')) {
    throw new InvalidMetricError(`counter '${userName}' must end in '_total' (Prometheus convention), e.g. '${userName}_total'`);
  }
  if (type !== 'counter' && name.endsWith('_total')) {
    throw new InvalidMetricError(`${type} '${userName}' must not end in '_total': that suffix marks counters`);
  }
  if (typeof help !== 'string' || help.trim() === '') {
    throw new InvalidMetricError(`metric '${userName}' needs a help text saying what it measures, in which unit`);
  }
  const labels = validateLabelNames(userName, labelNames);
  const bounds = type === 'histogram' ? validateBuckets(userName, buckets) : [];
  return Object.freeze({ type, name, help, labelNames: labels, buckets: bounds });
}

function validateLabelNames(metric: string, labelNames: unknown): readonly string[] {
  if (!Array.isArray(labelNames)) throw new InvalidMetricError(`metric '${metric}': label names must be an array of strings, got ${typeof labelNames}`);
  if (labelNames.length > MAX_CUSTOM_LABEL_NAMES) throw new InvalidMetricError(`metric '${metric}' has ${labelNames.length} label names; at most ${MAX_CUSTOM_LABEL_NAMES}`);
  const seen = new Set<string>();
  for (const l of labelNames as unknown[]) {
    if (typeof l !== 'string' || !NAME.test(l) || l.startsWith('__')) {
      throw new InvalidMetricError(`metric '${metric}': label name ${JSON.stringify(l)} is invalid: use letters, digits and underscores, not starting with a digit or '__'`);
    }
    if (RESERVED_LABELS.has(l)) {
      throw new InvalidMetricError(`metric '${metric}': label '${l}' is reserved (Sluice adds ${OPERATOR_LABELS.join(', ')} itself; job, instance, le, quantile, taskmanager and tm_id belong to Prometheus or the TaskManager); rename it`);
    }
    if (seen.has(l)) throw new InvalidMetricError(`metric '${metric}': label '${l}' is listed twice`);
    seen.add(l);
  }
  return Object.freeze([...seen]);
}

function validateBuckets(metric: string, buckets: unknown): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0 || buckets.length > MAX_CUSTOM_BUCKETS) {
    throw new InvalidMetricError(`histogram '${metric}': buckets must be an array of 1 to ${MAX_CUSTOM_BUCKETS} upper bounds`);
  }
  let previous = -Infinity;
  for (const b of buckets as unknown[]) {
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= previous) {
      throw new InvalidMetricError(`histogram '${metric}': buckets must be finite and strictly increasing (+Inf is added), got [${(buckets as unknown[]).join(', ')}]`);
    }
    previous = b;
  }
  return Object.freeze([...(buckets as number[])]);
}

/** Numbers per series: a counter or gauge has one; a histogram one per bucket bound, then sum and count. */
export function customMetricWidth(d: CustomMetricDefinition): number {
  return d.type === 'histogram' ? d.buckets.length + 2 : 1;
}

/** The sample names a metric writes: a histogram writes `_bucket`, `_sum` and `_count` series. */
export function customSampleNames(d: CustomMetricDefinition): string[] {
  return d.type === 'histogram' ? [d.name, `${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name];
}

export function sameCustomMetricDefinition(a: CustomMetricDefinition, b: CustomMetricDefinition): boolean {
  return (
    a.type === b.type &&
    a.name === b.name &&
    a.help === b.help &&
    a.labelNames.length === b.labelNames.length &&
    a.labelNames.every((l, i) => l === b.labelNames[i]) &&
    a.buckets.length === b.buckets.length &&
    a.buckets.every((x, i) => x === b.buckets[i])
  );
}

/** e.g. `histogram sluice_kafka_produce_latency_seconds{topic}`, for messages. */
export function describeCustomMetric(d: CustomMetricDefinition): string {
  return `${d.type} ${d.name}${d.labelNames.length > 0 ? `{${d.labelNames.join(',')}}` : ''}`;
}

// ---- the snapshot a TaskManager hands to the registry ----

export interface CustomSeriesSnapshot {
  /** In the order of the definition's `labelNames`. */
  readonly labelValues: readonly string[];
  /**
   * Counter: [total]. Gauge: [value]. Histogram: cumulative count per bucket bound, then sum,
   * then count (the +Inf bucket). Counters and histograms are cumulative over the subtask's
   * restarts on this TaskManager.
   */
  readonly values: readonly number[];
}

export interface CustomMetricSnapshot {
  /** The operator that defined the metric: its StreamNode id and name (the `operator` label). */
  readonly nodeId: number;
  readonly operator: string;
  readonly definition: CustomMetricDefinition;
  readonly series: readonly CustomSeriesSnapshot[];
}

export interface SubtaskCustomMetricsSnapshot {
  readonly jobId: string;
  readonly jobName: string;
  readonly vertexId: string;
  readonly vertexName: string;
  readonly subtask: number;
  /** The subtask has ended: counters and histograms hold their final values; it has no gauges. */
  readonly ended: boolean;
  readonly metrics: readonly CustomMetricSnapshot[];
}
