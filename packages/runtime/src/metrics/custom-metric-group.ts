/**
 * Custom metrics on a worker thread. A subtask has one SubtaskCustomMetrics; every operator of its
 * chain gets a MetricGroup from it (the `operator` label). Counting is plain arithmetic on a
 * number: a series bound with `labels(...)` costs nothing more, labels passed per call cost one
 * Map lookup per label. A series that changed joins a list once. Every few hundred ms the task
 * takes what changed as one CustomMetricsUpdate and posts it to the TaskManager's main thread:
 * definitions and label values once, then series ids and numbers in one Float64Array that is
 * transferred, not copied. Nothing crosses threads per record, and prom-client never runs here.
 */
import {
  DEFAULT_HISTOGRAM_BUCKETS,
  type BoundCounter,
  type BoundGauge,
  type BoundHistogram,
  type Counter,
  type Gauge,
  type Histogram,
  type MetricGroup,
} from '@sluice/api';
import {
  InvalidMetricError,
  customMetricWidth,
  customSampleNames,
  defineCustomMetric,
  describeCustomMetric,
  sameCustomMetricDefinition,
  type CustomMetricDefinition,
} from '@sluice/metrics/custom';

/** Series of one metric of one operator in one subtask, at most: updates for more are dropped. */
export const MAX_SERIES_PER_METRIC = 1_000;
/** Metrics one subtask may define; names are meant to be fixed in code, not made from data. */
export const MAX_METRICS_PER_SUBTASK = 256;

/** One message from a subtask to the TaskManager: what changed since the previous one. */
export interface CustomMetricsUpdate {
  /** Metrics defined since the previous update. */
  metrics: { id: number; nodeId: number; operator: string; definition: CustomMetricDefinition }[];
  /** Series created since the previous update; label values in the definition's order. */
  series: { id: number; metricId: number; labelValues: string[] }[];
  /**
   * Changed series, each as its id followed by its values (see CustomSeriesSnapshot.values:
   * counters and gauges one number, histograms buckets.length + 2).
   */
  values: Float64Array<ArrayBuffer>;
  /** Said once each: metrics that reached their series limit. */
  warnings: string[];
}

type Labels = Readonly<Record<string, string>>;

class Series {
  dirty = false;
  /** Counter total or gauge value. */
  value = 0;
  /** Histograms: observations per bucket, not cumulative; the last is the +Inf bucket. */
  readonly counts: Float64Array | undefined;
  sum = 0;

  constructor(readonly id: number, readonly metric: MetricState, readonly labelValues: string[]) {
    this.counts = metric.definition.type === 'histogram' ? new Float64Array(metric.definition.buckets.length + 1) : undefined;
  }

  changed(): void {
    this.dirty = true;
    this.metric.owner.changed(this);
  }

  /** Writes this series' values at `offset`; returns the offset after them. */
  write(out: Float64Array, offset: number): number {
    const counts = this.counts;
    if (counts === undefined) {
      out[offset] = this.value;
      return offset + 1;
    }
    let cumulative = 0;
    for (let i = 0; i < counts.length - 1; i++) {
      cumulative += counts[i]!;
      out[offset++] = cumulative;
    }
    out[offset++] = this.sum;
    out[offset++] = cumulative + counts[counts.length - 1]!;
    return offset;
  }

  values(): number[] {
    const out = new Float64Array(customMetricWidth(this.metric.definition));
    this.write(out, 0);
    return [...out];
  }
}

class MetricState {
  readonly width: number;
  /** The only series of a metric without labels. */
  private readonly single: Series | undefined;
  /** Series by label value, one Map level per label name. */
  private readonly root = new Map<unknown, unknown>();
  private seriesCount = 0;
  private warned = false;
  instrument: unknown;

  constructor(readonly owner: SubtaskCustomMetrics, readonly id: number, readonly nodeId: number, readonly operator: string, readonly definition: CustomMetricDefinition) {
    this.width = customMetricWidth(definition);
    // A metric without labels is exported (at 0) from the start, as Prometheus recommends.
    this.single = definition.labelNames.length === 0 ? owner.createSeries(this, []) : undefined;
  }

  /** The series of `labels`, created on first use; undefined once the metric is at its series limit. */
  series(labels: Labels | undefined): Series | undefined {
    const names = this.definition.labelNames;
    const n = names.length;
    if (n === 0) {
      if (labels !== undefined) for (const k in labels) throw this.error(`has no labels, but got label '${k}'`);
      return this.single;
    }
    if (labels === undefined) throw this.error(`needs the labels {${names.join(', ')}}`);
    let node = this.root;
    for (let i = 0; i < n - 1; i++) {
      const next = node.get(labels[names[i]!]) as Map<unknown, unknown> | undefined;
      if (next === undefined) return this.create(labels);
      node = next;
    }
    return (node.get(labels[names[n - 1]!]) as Series | undefined) ?? this.create(labels);
  }

  private create(labels: Labels): Series | undefined {
    const names = this.definition.labelNames;
    for (const k in labels) {
      if (!names.includes(k)) throw this.error(`has no label '${k}'; its labels are {${names.join(', ')}}`);
    }
    const values = names.map((l) => {
      const v = labels[l];
      if (v === undefined) throw this.error(`needs the labels {${names.join(', ')}}; '${l}' is missing`);
      if (typeof v !== 'string') throw this.error(`label '${l}' must be a string, got ${typeof v} ${String(v)}; convert it with String()`);
      return v;
    });
    if (this.seriesCount >= MAX_SERIES_PER_METRIC) {
      if (!this.warned) {
        this.warned = true;
        this.owner.warn(
          `custom metric ${describeCustomMetric(this.definition)} of operator '${this.operator}' reached ${MAX_SERIES_PER_METRIC} series; updates for further label values are dropped. Label values must come from a small fixed set (topic, partition, status), never from records (keys, ids)`,
        );
      }
      return undefined;
    }
    this.seriesCount++;
    let node = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = node.get(values[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i], next);
      }
      node = next;
    }
    const s = this.owner.createSeries(this, values);
    node.set(values[values.length - 1], s);
    return s;
  }

  error(problem: string): InvalidMetricError {
    return new InvalidMetricError(`custom metric ${describeCustomMetric(this.definition)} ${problem}`);
  }

  badValue(method: string, value: unknown, expected: string): InvalidMetricError {
    return new InvalidMetricError(`custom metric ${describeCustomMetric(this.definition)}: ${method}(${String(value)}) needs ${expected}`);
  }
}

// ---- instruments: what MetricGroup hands out ----

function addTo(m: MetricState, s: Series | undefined, n: number): void {
  if (!(n >= 0 && n !== Infinity)) throw m.badValue('inc', n, 'a finite number ≥ 0');
  if (s === undefined) return;
  s.value += n;
  if (!s.dirty) s.changed();
}

function setTo(s: Series | undefined, v: number): void {
  if (s === undefined) return;
  s.value = v;
  if (!s.dirty) s.changed();
}

function observeIn(m: MetricState, s: Series | undefined, v: number): void {
  if (!Number.isFinite(v)) throw m.badValue('observe', v, 'a finite number');
  if (s === undefined) return;
  const bounds = m.definition.buckets;
  let i = 0;
  while (i < bounds.length && v > bounds[i]!) i++;
  s.counts![i]!++;
  s.sum += v;
  if (!s.dirty) s.changed();
}

class BoundCounterImpl implements BoundCounter {
  constructor(private readonly m: MetricState, private readonly s: Series | undefined) {}
  inc(n = 1): void {
    addTo(this.m, this.s, n);
  }
}

class CounterImpl implements Counter<string> {
  constructor(private readonly m: MetricState) {}
  inc(n = 1, labels?: Labels): void {
    addTo(this.m, this.m.series(labels), n);
  }
  labels(labels: Labels): BoundCounter {
    return new BoundCounterImpl(this.m, this.m.series(labels));
  }
}

class BoundGaugeImpl implements BoundGauge {
  constructor(private readonly s: Series | undefined) {}
  set(value: number): void {
    setTo(this.s, value);
  }
  inc(n = 1): void {
    if (this.s !== undefined) setTo(this.s, this.s.value + n);
  }
  dec(n = 1): void {
    if (this.s !== undefined) setTo(this.s, this.s.value - n);
  }
}

class GaugeImpl implements Gauge<string> {
  constructor(private readonly m: MetricState) {}
  set(value: number, labels?: Labels): void {
    setTo(this.m.series(labels), value);
  }
  inc(n = 1, labels?: Labels): void {
    const s = this.m.series(labels);
    if (s !== undefined) setTo(s, s.value + n);
  }
  dec(n = 1, labels?: Labels): void {
    const s = this.m.series(labels);
    if (s !== undefined) setTo(s, s.value - n);
  }
  labels(labels: Labels): BoundGauge {
    return new BoundGaugeImpl(this.m.series(labels));
  }
}

class BoundHistogramImpl implements BoundHistogram {
  constructor(private readonly m: MetricState, private readonly s: Series | undefined) {}
  observe(value: number): void {
    observeIn(this.m, this.s, value);
  }
}

class HistogramImpl implements Histogram<string> {
  constructor(private readonly m: MetricState) {}
  observe(value: number, labels?: Labels): void {
    observeIn(this.m, this.m.series(labels), value);
  }
  labels(labels: Labels): BoundHistogram {
    return new BoundHistogramImpl(this.m, this.m.series(labels));
  }
}

/** The MetricGroup of one operator. */
class OperatorMetricGroup implements MetricGroup {
  constructor(private readonly owner: SubtaskCustomMetrics, private readonly nodeId: number, private readonly operator: string) {}

  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L> {
    const m = this.owner.define(this.nodeId, this.operator, defineCustomMetric('counter', name, help, labelNames ?? []));
    m.instrument ??= new CounterImpl(m);
    return m.instrument as Counter<L>;
  }

  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L> {
    const m = this.owner.define(this.nodeId, this.operator, defineCustomMetric('gauge', name, help, labelNames ?? []));
    m.instrument ??= new GaugeImpl(m);
    return m.instrument as Gauge<L>;
  }

  histogram<L extends string = never>(name: string, help: string, buckets?: readonly number[], labelNames?: readonly L[]): Histogram<L> {
    const m = this.owner.define(this.nodeId, this.operator, defineCustomMetric('histogram', name, help, labelNames ?? [], buckets ?? DEFAULT_HISTOGRAM_BUCKETS));
    m.instrument ??= new HistogramImpl(m);
    return m.instrument as Histogram<L>;
  }
}

/** All custom metrics of one subtask. */
export class SubtaskCustomMetrics {
  private readonly metrics: MetricState[] = [];
  private readonly byOperator = new Map<string, MetricState>();
  /** Sample names taken (a histogram takes `_bucket`, `_sum`, `_count` too) → the metric's definition. */
  private readonly samples = new Map<string, MetricState>();
  private readonly allSeries: Series[] = [];
  private dirty: Series[] = [];
  private newMetrics: CustomMetricsUpdate['metrics'] = [];
  private newSeries: CustomMetricsUpdate['series'] = [];
  private warnings: string[] = [];

  /** The MetricGroup of the operator with StreamNode id `nodeId`. */
  group(nodeId: number, operator: string): MetricGroup {
    return new OperatorMetricGroup(this, nodeId, operator);
  }

  /** @internal */
  define(nodeId: number, operator: string, d: CustomMetricDefinition): MetricState {
    const key = `${nodeId}\u0000${d.name}`;
    const own = this.byOperator.get(key);
    if (own !== undefined) {
      if (sameCustomMetricDefinition(own.definition, d)) return own;
      throw new InvalidMetricError(`operator '${operator}' defines ${d.name} twice, as ${describeCustomMetric(own.definition)} and as ${describeCustomMetric(d)}; define it once and keep the returned metric`);
    }
    for (const sample of customSampleNames(d)) {
      const other = this.samples.get(sample);
      if (other === undefined || (other.definition.name === d.name && sameCustomMetricDefinition(other.definition, d))) continue;
      throw new InvalidMetricError(
        `operator '${operator}' defines ${describeCustomMetric(d)}, but operator '${other.operator}' of the same subtask defines ${describeCustomMetric(other.definition)}${other.definition.name === d.name ? ' (help, labels and buckets must match too)' : `, which writes ${sample}`}; one name, one definition`,
      );
    }
    if (this.metrics.length >= MAX_METRICS_PER_SUBTASK) {
      throw new InvalidMetricError(`operator '${operator}' defines ${describeCustomMetric(d)}, but this subtask already has ${MAX_METRICS_PER_SUBTASK} custom metrics; metric names must be fixed in code, never built from data`);
    }
    const m = new MetricState(this, this.metrics.length, nodeId, operator, d);
    this.metrics.push(m);
    this.byOperator.set(key, m);
    for (const sample of customSampleNames(d)) if (!this.samples.has(sample)) this.samples.set(sample, m);
    this.newMetrics.push({ id: m.id, nodeId, operator, definition: d });
    return m;
  }

  /** @internal New series are sent (with their values) in the next update. */
  createSeries(metric: MetricState, labelValues: string[]): Series {
    const s = new Series(this.allSeries.length, metric, labelValues);
    this.allSeries.push(s);
    this.newSeries.push({ id: s.id, metricId: metric.id, labelValues });
    s.changed();
    return s;
  }

  /** @internal */
  changed(s: Series): void {
    this.dirty.push(s);
  }

  /** @internal */
  warn(message: string): void {
    this.warnings.push(message);
  }

  /** What changed since the last call, or undefined if nothing did. */
  takeUpdate(): CustomMetricsUpdate | undefined {
    if (this.dirty.length === 0 && this.newMetrics.length === 0 && this.warnings.length === 0) return undefined;
    let length = 0;
    for (const s of this.dirty) length += 1 + s.metric.width;
    const values = new Float64Array(length);
    let offset = 0;
    for (const s of this.dirty) {
      values[offset++] = s.id;
      offset = s.write(values, offset);
      s.dirty = false;
    }
    const update: CustomMetricsUpdate = { metrics: this.newMetrics, series: this.newSeries, values, warnings: this.warnings };
    this.dirty = [];
    this.newMetrics = [];
    this.newSeries = [];
    this.warnings = [];
    return update;
  }

  /** Current values of every series, for tests: `{ operator, name, labels, values }`. */
  read(): { operator: string; name: string; labels: Record<string, string>; values: number[] }[] {
    return this.allSeries.map((s) => {
      const d = s.metric.definition;
      return { operator: s.metric.operator, name: d.name, labels: Object.fromEntries(d.labelNames.map((l, i) => [l, s.labelValues[i]!])), values: s.values() };
    });
  }
}
