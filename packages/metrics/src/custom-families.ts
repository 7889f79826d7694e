/**
 * Custom metric families as prom-client metrics. prom-client's own Histogram can only observe,
 * not take bucket counts that were counted elsewhere, so each family is a small object with the
 * shape prom-client's Registry reads (`name`, `help`, `type`, `get()`): the registry formats it
 * (escaping, default labels) like any other metric. Families are registered anew before each
 * scrape, so a family whose last series expired disappears from the output.
 */
import type { Metric, Registry } from 'prom-client';
import type { CustomFamilyView } from './custom-scrape-view.js';

interface Sample {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric; see the file comment. */
class CustomFamilyMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';

  constructor(private readonly view: CustomFamilyView) {
    this.name = view.name;
    this.help = view.help;
    this.type = view.type;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() });
  }

  /** Called by `registry.resetMetrics()`; values live in the snapshot, so there is nothing to reset. */
  reset(): void {}

  private samples(): Sample[] {
    const v = this.view;
    if (v.type !== 'histogram') return v.series.map((s) => ({ labels: s.labels, value: s.values[0] ?? 0 }));
    const out: Sample[] = [];
    for (const s of v.series) {
      const n = s.buckets.length;
      for (let i = 0; i < n; i++) out.push({ labels: { ...s.labels, le: String(s.buckets[i]) }, value: s.values[i] ?? 0, metricName: `${v.name}_bucket` });
      const count = s.values[n + 1] ?? 0;
      out.push({ labels: { ...s.labels, le: '+Inf' }, value: count, metricName: `${v.name}_bucket` });
      out.push({ labels: s.labels, value: s.values[n] ?? 0, metricName: `${v.name}_sum` });
      out.push({ labels: s.labels, value: count, metricName: `${v.name}_count` });
    }
    return out;
  }
}

export class CustomFamilies {
  private registered: string[] = [];

  constructor(private readonly warn: (message: string) => void) {}

  /** Replaces the registry's custom families with `families`. */
  refresh(registry: Registry, families: readonly CustomFamilyView[]): void {
    for (const name of this.registered) registry.removeSingleMetric(name);
    this.registered = [];
    for (const f of families) {
      try {
        registry.registerMetric(new CustomFamilyMetric(f) as unknown as Metric);
        this.registered.push(f.name);
      } catch (err) {
        // Only a name taken by a built-in series gets here, which the naming rules prevent.
        this.warn(`custom metric ${f.name} is left out: ${(err as Error).message}`);
      }
    }
  }
}
