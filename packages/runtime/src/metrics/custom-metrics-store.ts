/**
 * The TaskManager's main-thread copy of its subtasks' custom metrics, fed by the
 * CustomMetricsUpdates their worker threads post. Kept per subtask (job, vertex, index), not per
 * execution: when a subtask restarts on this TaskManager its counters and histograms continue from
 * the previous execution's final values, so what was counted between the last scrape and a
 * failure is not lost; gauges start over. An ended subtask stays for `endedRetentionMs`, so a
 * scrape after a short job still sees its final values; the registry then keeps exporting them
 * as retired series.
 */
import { customMetricWidth, sameCustomMetricDefinition, type CustomMetricDefinition, type SubtaskCustomMetricsSnapshot } from '@sluice/metrics/custom';
import type { CustomMetricsUpdate } from './custom-metric-group.js';

export interface CustomMetricsStoreOptions {
  /** How long an ended subtask's final values stay in snapshots (several scrape intervals). */
  endedRetentionMs: number;
  /** Ended subtasks kept at most; the oldest go first. */
  maxEnded: number;
}

export const DEFAULT_CUSTOM_METRICS_STORE_OPTIONS: Readonly<CustomMetricsStoreOptions> = Object.freeze({
  endedRetentionMs: 5 * 60 * 1000,
  maxEnded: 1_000,
});

/** Which subtask an execution runs (the fields of its deployment descriptor). */
export interface CustomMetricsOwner {
  executionId: string;
  jobId: string;
  jobName: string;
  vertexId: string;
  vertexName: string;
  subtaskIndex: number;
}

interface SeriesEntry {
  readonly labelValues: readonly string[];
  /** Final values of earlier executions (counters and histograms), added to `current`. */
  base: number[] | undefined;
  current: number[];
}

interface MetricEntry {
  readonly nodeId: number;
  readonly operator: string;
  readonly definition: CustomMetricDefinition;
  readonly width: number;
  readonly series: Map<string, SeriesEntry>;
}

interface SubtaskEntry {
  owner: CustomMetricsOwner;
  ended: boolean;
  endedAt: number;
  /** By `nodeId \0 name`. */
  readonly metrics: Map<string, MetricEntry>;
  /** The current execution's ids. */
  readonly metricsById: Map<number, MetricEntry>;
  readonly seriesById: Map<number, { metric: MetricEntry; series: SeriesEntry }>;
}

export class CustomMetricsStore {
  private readonly options: CustomMetricsStoreOptions;
  /** By subtask identity; ended ones in the order they ended (re-inserted when they end). */
  private readonly subtasks = new Map<string, SubtaskEntry>();
  private readonly executions = new Map<string, SubtaskEntry>();

  constructor(options: Partial<CustomMetricsStoreOptions> = {}) {
    this.options = { ...DEFAULT_CUSTOM_METRICS_STORE_OPTIONS, ...options };
  }

  /** An execution starts: a new subtask, or the next execution of one seen before. */
  start(execution: CustomMetricsOwner): void {
    // A copy of the fields: the caller's deployment descriptor (splits and all) is not kept.
    const { executionId, jobId, jobName, vertexId, vertexName, subtaskIndex } = execution;
    const owner: CustomMetricsOwner = { executionId, jobId, jobName, vertexId, vertexName, subtaskIndex };
    const identity = identityOf(owner);
    const entry = this.subtasks.get(identity);
    if (entry === undefined) {
      const created: SubtaskEntry = { owner, ended: false, endedAt: 0, metrics: new Map(), metricsById: new Map(), seriesById: new Map() };
      this.subtasks.set(identity, created);
      this.executions.set(owner.executionId, created);
      return;
    }
    this.executions.delete(entry.owner.executionId);
    entry.owner = owner;
    entry.ended = false;
    entry.metricsById.clear();
    entry.seriesById.clear();
    for (const [key, m] of entry.metrics) {
      if (m.definition.type === 'gauge') {
        entry.metrics.delete(key);
        continue;
      }
      for (const s of m.series.values()) {
        s.base = s.current.map((v, i) => v + (s.base?.[i] ?? 0));
        s.current = s.current.map(() => 0);
      }
    }
    this.executions.set(owner.executionId, entry);
  }

  /** Applies what an execution's worker posted; updates of executions not running here are ignored. */
  apply(executionId: string, update: CustomMetricsUpdate): void {
    const entry = this.executions.get(executionId);
    if (entry === undefined || entry.ended) return;
    for (const m of update.metrics) {
      const key = `${m.nodeId}\u0000${m.definition.name}`;
      let metric = entry.metrics.get(key);
      // A changed definition (another version of the job) starts the metric afresh.
      if (metric === undefined || !sameCustomMetricDefinition(metric.definition, m.definition)) {
        metric = { nodeId: m.nodeId, operator: m.operator, definition: m.definition, width: customMetricWidth(m.definition), series: new Map() };
        entry.metrics.set(key, metric);
      }
      entry.metricsById.set(m.id, metric);
    }
    for (const s of update.series) {
      const metric = entry.metricsById.get(s.metricId);
      if (metric === undefined) continue;
      const key = JSON.stringify(s.labelValues);
      let series = metric.series.get(key);
      if (series === undefined) {
        series = { labelValues: s.labelValues, base: undefined, current: new Array<number>(metric.width).fill(0) };
        metric.series.set(key, series);
      }
      entry.seriesById.set(s.id, { metric, series });
    }
    const v = update.values;
    for (let o = 0; o < v.length; ) {
      const target = entry.seriesById.get(v[o]!);
      // Without the series its width is unknown, so the rest cannot be read; never expected.
      if (target === undefined) return;
      const width = target.metric.width;
      target.series.current = Array.from(v.subarray(o + 1, o + 1 + width));
      o += 1 + width;
    }
  }

  /** The execution ended: its gauges go, its counters and histograms stay for a while. */
  end(executionId: string, now: number): void {
    const entry = this.executions.get(executionId);
    if (entry === undefined) return;
    this.executions.delete(executionId);
    entry.ended = true;
    entry.endedAt = now;
    for (const [key, m] of entry.metrics) if (m.definition.type === 'gauge') entry.metrics.delete(key);
    // Re-inserted so that ended subtasks are in the order they ended.
    const identity = identityOf(entry.owner);
    this.subtasks.delete(identity);
    this.subtasks.set(identity, entry);
    this.prune(now);
  }

  snapshot(now: number): SubtaskCustomMetricsSnapshot[] {
    this.prune(now);
    const out: SubtaskCustomMetricsSnapshot[] = [];
    for (const e of this.subtasks.values()) {
      if (e.metrics.size === 0) continue;
      const o = e.owner;
      out.push({
        jobId: o.jobId,
        jobName: o.jobName,
        vertexId: o.vertexId,
        vertexName: o.vertexName,
        subtask: o.subtaskIndex,
        ended: e.ended,
        metrics: [...e.metrics.values()].map((m) => ({
          nodeId: m.nodeId,
          operator: m.operator,
          definition: m.definition,
          series: [...m.series.values()].map((s) => ({ labelValues: s.labelValues, values: s.base === undefined ? s.current : s.current.map((v, i) => v + (s.base![i] ?? 0)) })),
        })),
      });
    }
    return out;
  }

  private prune(now: number): void {
    let ended = 0;
    for (const e of this.subtasks.values()) if (e.ended) ended++;
    for (const [identity, e] of this.subtasks) {
      if (!e.ended) continue;
      if (ended <= this.options.maxEnded && now - e.endedAt < this.options.endedRetentionMs) break;
      this.subtasks.delete(identity);
      ended--;
    }
  }
}

function identityOf(o: CustomMetricsOwner): string {
  return JSON.stringify([o.jobId, o.vertexId, o.subtaskIndex]);
}
