import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createEntrypointMetricsRegistry } from './entrypoint-registry.js';
import { collectNodeMetrics, DROPPED_DEFAULT_METRICS } from './node-metrics.js';
import { createMetricsRegistry } from './registry.js';

/** Names of the families whose `# TYPE` is not counter but which end in `_total`: promtool's lint refuses them. */
function misnamedGauges(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter((m) => m[2] !== 'counter' && m[1]!.endsWith('_total')).map((m) => m[1]!);
}

describe("Node's process metrics", () => {
  it('keep the usual names and leave out the gauges prom-client names like counters', async () => {
    const registry = new Registry();
    collectNodeMetrics(registry);
    const text = await registry.metrics();
    expect(misnamedGauges(text)).toEqual([]);
    for (const name of DROPPED_DEFAULT_METRICS) expect(text).not.toContain(name);
    // The per-type gauges they summed stay, and so does the rest of the set.
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE nodejs_heap_size_used_bytes gauge$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m);
  });

  it('are what the TaskManager and the entrypoint registries serve', async () => {
    const taskManager = createMetricsRegistry({
      source: { snapshot: () => ({ resourceId: 'tm-1', slotsTotal: 1, slotsFree: 1, subtasks: [], pool: { threads: 1, utilization: 0, queueSize: 0, completedTasks: 0 } }) },
      defaultMetrics: true,
    });
    const entrypoint = createEntrypointMetricsRegistry({ jobs: { snapshot: () => [] }, leading: () => true });
    for (const text of [await taskManager.metrics(), await entrypoint.metrics()]) {
      expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
      expect(misnamedGauges(text)).toEqual([]);
    }
  });
});
