/**
 * Turns the custom metrics of one TaskManagerMetricsSnapshot into metric families to export:
 * standard labels added, counters and histograms kept monotonic (and remembered after their
 * subtask ended) by MonotonicCounters, gauges only while their subtask runs.
 *
 * Subtasks of different jobs may define the same name. One name is one family with one type: a
 * definition of another type (or one whose sample names collide with another family's, or whose
 * labels collide with the registry's default labels) is left out, with one warning. Definitions
 * of the same type may differ in help, labels or buckets (two versions of a job); the family
 * takes the first help text, and its series keep their own labels and buckets, which the
 * Prometheus text format allows.
 */
import { MonotonicCounters, type MonotonicCountersOptions } from './monotonic-counters.js';
import {
  CUSTOM_METRIC_PREFIX,
  customSampleNames,
  defineCustomMetric,
  describeCustomMetric,
  type CustomMetricDefinition,
  type CustomMetricSnapshot,
  type SubtaskCustomMetricsSnapshot,
} from './custom-metrics.js';
import type { OperatorLabel } from './names.js';

export interface CustomSeriesView {
  /** Standard labels first, then the metric's own. */
  labels: Readonly<Record<string, string>>;
  /** As in CustomSeriesSnapshot.values; histogram series carry their own bucket bounds. */
  values: readonly number[];
  /** Histograms: this series' bucket bounds. */
  buckets: readonly number[];
}

export interface CustomFamilyView {
  name: string;
  help: string;
  type: CustomMetricDefinition['type'];
  series: CustomSeriesView[];
}

interface Held {
  definition: CustomMetricDefinition;
  labels: Record<string, string>;
}

/** Distinct conflicts remembered so each is logged once; beyond this, further ones are logged again. */
const MAX_REMEMBERED_WARNINGS = 10_000;

export class CustomScrapeViewBuilder {
  private readonly held: MonotonicCounters<Held>;
  private readonly warned = new Set<string>();
  /** Definitions checked against the naming rules (snapshots may come from any TaskRunner). */
  private readonly checked = new WeakMap<CustomMetricDefinition, boolean>();

  constructor(
    options: Partial<MonotonicCountersOptions>,
    /** Labels the registry adds to every series; a metric may not define them. */
    private readonly defaultLabelNames: ReadonlySet<string>,
    private readonly warn: (message: string) => void,
  ) {
    this.held = new MonotonicCounters(options);
  }

  /** Families sorted by name, their series in a stable order. */
  update(subtasks: readonly SubtaskCustomMetricsSnapshot[], now: number): CustomFamilyView[] {
    const families = new Map<string, { family: CustomFamilyView; definition: CustomMetricDefinition }>();
    const sampleOwners = new Map<string, string>();
    const accept = (d: CustomMetricDefinition, where: string): CustomFamilyView | undefined => {
      const known = families.get(d.name);
      if (known !== undefined) {
        if (known.definition.type === d.type) return known.family;
        this.warnOnce(`type:${d.name}:${d.type}`, `custom metric ${describeCustomMetric(d)} of ${where} is left out: ${d.name} is already exported as a ${known.definition.type}; one name must have one type in all jobs of a TaskManager`);
        return undefined;
      }
      if (!this.valid(d, where)) return undefined;
      const clash = d.labelNames.find((l) => this.defaultLabelNames.has(l));
      if (clash !== undefined) {
        this.warnOnce(`label:${d.name}:${clash}`, `custom metric ${describeCustomMetric(d)} of ${where} is left out: label '${clash}' is one of the TaskManager's default labels`);
        return undefined;
      }
      const samples = customSampleNames(d);
      const taken = samples.find((s) => sampleOwners.has(s));
      if (taken !== undefined) {
        this.warnOnce(`sample:${d.name}:${taken}`, `custom metric ${describeCustomMetric(d)} of ${where} is left out: its series ${taken} collides with metric ${sampleOwners.get(taken)}`);
        return undefined;
      }
      for (const s of samples) sampleOwners.set(s, d.name);
      const family: CustomFamilyView = { name: d.name, help: d.help, type: d.type, series: [] };
      families.set(d.name, { family, definition: d });
      return family;
    };

    // Live definitions claim names before remembered ones of ended subtasks.
    const accepted = new Set<CustomMetricSnapshot>();
    for (const st of subtasks) {
      for (const m of st.metrics) if (accept(m.definition, describeOwner(st, m)) !== undefined) accepted.add(m);
    }

    this.held.beginSnapshot();
    for (const st of subtasks) {
      for (const m of st.metrics) {
        if (!accepted.has(m)) continue;
        const d = m.definition;
        const standard: Record<OperatorLabel, string> = { job_name: st.jobName, job_id: st.jobId, vertex: st.vertexName, operator: m.operator, subtask: String(st.subtask) };
        for (const s of m.series) {
          const labels: Record<string, string> = { ...standard };
          d.labelNames.forEach((l, i) => (labels[l] = s.labelValues[i] ?? ''));
          if (d.type === 'gauge') {
            if (!st.ended) families.get(d.name)!.family.series.push({ labels, values: s.values, buckets: [] });
            continue;
          }
          // Identity by ids and the full definition: names of vertices and operators need not be
          // unique, and a series whose buckets changed (a new version of the job) is another series.
          const identity = JSON.stringify([st.jobId, st.vertexId, st.subtask, m.nodeId, d.type, d.name, d.labelNames, d.buckets, s.labelValues]);
          this.held.observe(identity, { definition: d, labels }, s.values, s.values.length - 1);
        }
      }
    }
    this.held.endSnapshot(now);

    for (const s of this.held.samples()) {
      const d = s.labels.definition;
      const family = accept(d, `an ended subtask (${s.labels.labels.vertex ?? '?'}, subtask ${s.labels.labels.subtask ?? '?'})`);
      if (family !== undefined) family.series.push({ labels: s.labels.labels, values: s.values, buckets: d.buckets });
    }
    return [...families.values()].map((f) => f.family).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private valid(d: CustomMetricDefinition, where: string): boolean {
    let ok = this.checked.get(d);
    if (ok === undefined) {
      try {
        if (!d.name.startsWith(CUSTOM_METRIC_PREFIX)) throw new Error(`its name does not start with '${CUSTOM_METRIC_PREFIX}'`);
        defineCustomMetric(d.type, d.name.slice(CUSTOM_METRIC_PREFIX.length), d.help, d.labelNames, d.buckets);
        ok = true;
      } catch (err) {
        this.warnOnce(`invalid:${d.name}`, `custom metric ${d.name} of ${where} is left out: ${(err as Error).message}`);
        ok = false;
      }
      this.checked.set(d, ok);
    }
    return ok;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED_WARNINGS) this.warned.clear();
    this.warned.add(key);
    this.warn(message);
  }
}

function describeOwner(st: SubtaskCustomMetricsSnapshot, m: CustomMetricSnapshot): string {
  return `operator '${m.operator}' of job '${st.jobName}' (${st.jobId}), subtask ${st.subtask}`;
}
