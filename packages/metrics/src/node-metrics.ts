/**
 * Node's process metrics (`process_*`, `nodejs_*`) under their usual prom-client names, less the
 * three gauges prom-client names like counters: `nodejs_active_{handles,requests,resources}_total`
 * are gauges (the sum of `nodejs_active_handles{type}` etc., which stay), and `promtool check
 * metrics` refuses a non-counter ending in `_total`. `sum(nodejs_active_handles)` gives the same.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

export const DROPPED_DEFAULT_METRICS: readonly string[] = Object.freeze(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

export function collectNodeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
