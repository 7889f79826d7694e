import { describe, expect, it } from 'vitest';
import { SubtaskCustomMetrics } from './custom-metric-group.js';
import { CustomMetricsStore, type CustomMetricsOwner } from './custom-metrics-store.js';

function execution(executionId: string, subtaskIndex = 0): CustomMetricsOwner {
  return { executionId, jobId: 'j1', jobName: 'fraud', vertexId: 'v1', vertexName: 'Source: tx', subtaskIndex };
}

/** One worker-side execution: its metrics, and a way to post what changed to the store. */
function worker(store: CustomMetricsStore, executionId: string) {
  const metrics = new SubtaskCustomMetrics();
  const group = metrics.group(1, 'Source: tx');
  const records = group.counter('records_in_total', 'Records read.', ['topic']);
  const lag = group.gauge('consumer_lag', 'Lag.', ['partition']);
  const fetch = group.histogram('fetch_seconds', 'Fetch time.', [1]);
  const publish = (): void => {
    const update = metrics.takeUpdate();
    if (update !== undefined) store.apply(executionId, update);
  };
  return { records, lag, fetch, publish };
}

/** `name{labels}` → values, from the store's snapshot. */
function values(store: CustomMetricsStore, now = 0): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const st of store.snapshot(now)) {
    for (const m of st.metrics) {
      for (const s of m.series) out[`${st.ended ? 'ended ' : ''}${m.definition.name}{${s.labelValues.join(',')}}`] = [...s.values];
    }
  }
  return out;
}

describe('CustomMetricsStore', () => {
  it('keeps the latest values a subtask posted', () => {
    const store = new CustomMetricsStore();
    store.start(execution('e1'));
    const w = worker(store, 'e1');
    w.records.inc(3, { topic: 'tx' });
    w.lag.set(9, { partition: '0' });
    w.publish();
    w.records.inc(2, { topic: 'tx' });
    w.fetch.observe(0.5);
    w.fetch.observe(3);
    w.publish();
    expect(values(store)).toEqual({
      'sluice_fetch_seconds{}': [1, 3.5, 2],
      'sluice_records_in_total{tx}': [5],
      'sluice_consumer_lag{0}': [9],
    });
    const [snap] = store.snapshot(0);
    expect(snap).toMatchObject({ jobId: 'j1', jobName: 'fraud', vertexId: 'v1', vertexName: 'Source: tx', subtask: 0, ended: false });
    expect(snap!.metrics.map((m) => [m.nodeId, m.operator])).toEqual([
      [1, 'Source: tx'],
      [1, 'Source: tx'],
      [1, 'Source: tx'],
    ]);
  });

  it('continues counters and histograms over a restart of the subtask, starts gauges over, and ignores the old execution', () => {
    const store = new CustomMetricsStore();
    store.start(execution('e1'));
    const first = worker(store, 'e1');
    first.records.inc(10, { topic: 'tx' });
    first.lag.set(9, { partition: '0' });
    first.fetch.observe(0.5);
    first.publish();
    store.end('e1', 100);
    expect(values(store, 100)).toEqual({ 'ended sluice_fetch_seconds{}': [1, 0.5, 1], 'ended sluice_records_in_total{tx}': [10] });

    store.start(execution('e2'));
    const second = worker(store, 'e2');
    second.records.inc(1, { topic: 'tx' });
    second.publish();
    // A late message of the ended execution changes nothing.
    first.records.inc(100, { topic: 'tx' });
    first.publish();
    expect(values(store, 200)).toEqual({ 'sluice_fetch_seconds{}': [1, 0.5, 1], 'sluice_records_in_total{tx}': [11] });
    second.lag.set(4, { partition: '0' });
    second.fetch.observe(2);
    second.publish();
    expect(values(store, 200)).toEqual({ 'sluice_fetch_seconds{}': [1, 2.5, 2], 'sluice_records_in_total{tx}': [11], 'sluice_consumer_lag{0}': [4] });
  });

  it('keeps ended subtasks for the retention time and at most maxEnded of them, oldest out first', () => {
    const store = new CustomMetricsStore({ endedRetentionMs: 1_000, maxEnded: 2 });
    for (const [id, subtask] of [['a', 0], ['b', 1], ['c', 2], ['d', 3]] as const) {
      store.start(execution(id, subtask));
      const w = worker(store, id);
      w.records.inc(1, { topic: id });
      w.publish();
    }
    store.end('a', 0);
    store.end('b', 10);
    store.end('c', 20);
    // 'a' went when 'c' ended; 'd' still runs.
    expect(store.snapshot(20).map((s) => [s.subtask, s.ended])).toEqual([
      [3, false],
      [1, true],
      [2, true],
    ]);
    expect(store.snapshot(1_010).map((s) => s.subtask)).toEqual([3, 2]);
    expect(store.snapshot(1_020).map((s) => s.subtask)).toEqual([3]);
  });
});
