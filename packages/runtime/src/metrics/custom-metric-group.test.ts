import { describe, expect, it } from 'vitest';
import { DEFAULT_HISTOGRAM_BUCKETS } from '@sluice/api';
import { MAX_METRICS_PER_SUBTASK, MAX_SERIES_PER_METRIC, SubtaskCustomMetrics, type CustomMetricsUpdate } from './custom-metric-group.js';

/** An update's values as `seriesId → values`. */
function changed(update: CustomMetricsUpdate | undefined, widths: Record<number, number>): Record<number, number[]> {
  const out: Record<number, number[]> = {};
  const v = update?.values ?? new Float64Array(0);
  for (let o = 0; o < v.length; ) {
    const id = v[o]!;
    const w = widths[id] ?? 1;
    out[id] = [...v.subarray(o + 1, o + 1 + w)];
    o += 1 + w;
  }
  return out;
}

describe('SubtaskCustomMetrics', () => {
  it('counts, sets and observes into plain numbers', () => {
    const metrics = new SubtaskCustomMetrics();
    const group = metrics.group(1, 'Source: tx');
    const records = group.counter('kafka_records_in_total', 'Records read.', ['topic']);
    const lag = group.gauge('kafka_consumer_lag', 'Lag.', ['topic', 'partition']);
    const latency = group.histogram('kafka_produce_latency_seconds', 'Latency.', [1, 10]);
    const commits = group.counter('kafka_commits_total', 'Commits.');

    records.inc(1, { topic: 'tx' });
    records.inc(4, { topic: 'tx' });
    records.labels({ topic: 'refunds' }).inc();
    lag.set(12, { topic: 'tx', partition: '0' });
    lag.labels({ topic: 'tx', partition: '1' }).inc(3);
    lag.dec(2, { topic: 'tx', partition: '1' });
    for (const v of [0.5, 1, 5, 20]) latency.observe(v);
    latency.labels({}).observe(2);
    commits.inc();

    expect(metrics.read()).toEqual([
      { operator: 'Source: tx', name: 'sluice_kafka_produce_latency_seconds', labels: {}, values: [2, 4, 28.5, 5] },
      { operator: 'Source: tx', name: 'sluice_kafka_commits_total', labels: {}, values: [1] },
      { operator: 'Source: tx', name: 'sluice_kafka_records_in_total', labels: { topic: 'tx' }, values: [5] },
      { operator: 'Source: tx', name: 'sluice_kafka_records_in_total', labels: { topic: 'refunds' }, values: [1] },
      { operator: 'Source: tx', name: 'sluice_kafka_consumer_lag', labels: { topic: 'tx', partition: '0' }, values: [12] },
      { operator: 'Source: tx', name: 'sluice_kafka_consumer_lag', labels: { topic: 'tx', partition: '1' }, values: [1] },
    ]);
  });

  it('uses the default latency buckets when none are given', () => {
    const metrics = new SubtaskCustomMetrics();
    metrics.group(1, 'Sink').histogram('send_seconds', 'Send time.').observe(0.003);
    const update = metrics.takeUpdate()!;
    expect(update.metrics[0]!.definition.buckets).toEqual(DEFAULT_HISTOGRAM_BUCKETS);
  });

  it('sends definitions and label values once, then only the series that changed', () => {
    const metrics = new SubtaskCustomMetrics();
    const group = metrics.group(3, 'Sink: out');
    const sent = group.counter('records_out_total', 'Records written.', ['topic']);
    const latency = group.histogram('send_seconds', 'Send time.', [0.1]);
    const widths = { 0: 3 };

    // The histogram has no labels: its series exists (at 0) from the start.
    sent.inc(2, { topic: 'a' });
    sent.inc(1, { topic: 'b' });
    let update = metrics.takeUpdate()!;
    expect(update.metrics).toEqual([
      { id: 0, nodeId: 3, operator: 'Sink: out', definition: { type: 'counter', name: 'sluice_records_out_total', help: 'Records written.', labelNames: ['topic'], buckets: [] } },
      { id: 1, nodeId: 3, operator: 'Sink: out', definition: { type: 'histogram', name: 'sluice_send_seconds', help: 'Send time.', labelNames: [], buckets: [0.1] } },
    ]);
    expect(update.series).toEqual([
      { id: 0, metricId: 1, labelValues: [] },
      { id: 1, metricId: 0, labelValues: ['a'] },
      { id: 2, metricId: 0, labelValues: ['b'] },
    ]);
    expect(changed(update, widths)).toEqual({ 0: [0, 0, 0], 1: [2], 2: [1] });

    expect(metrics.takeUpdate()).toBeUndefined();

    sent.inc(5, { topic: 'b' });
    latency.observe(0.5);
    latency.observe(0.05);
    update = metrics.takeUpdate()!;
    expect(update.metrics).toEqual([]);
    expect(update.series).toEqual([]);
    // Histograms travel cumulative: bucket le=0.1, sum, count.
    expect(changed(update, widths)).toEqual({ 2: [6], 0: [1, 0.55, 2] });
  });

  it('rejects misuse with errors that say what to change', () => {
    const group = new SubtaskCustomMetrics().group(1, 'Map');
    const byTopic = group.counter('records_total', 'Records.', ['topic']);
    const plain = group.gauge('level', 'Level.');
    const hist = group.histogram('size_bytes', 'Size.', [10, 100]);

    expect(() => byTopic.inc(1)).toThrow('custom metric counter sluice_records_total{topic} needs the labels {topic}');
    expect(() => byTopic.inc(1, {} as { topic: string })).toThrow("needs the labels {topic}; 'topic' is missing");
    expect(() => byTopic.inc(1, { topic: 'a', partition: '1' } as { topic: string })).toThrow("has no label 'partition'; its labels are {topic}");
    expect(() => byTopic.inc(1, { topic: 3 } as unknown as { topic: string })).toThrow("label 'topic' must be a string, got number 3; convert it with String()");
    expect(() => plain.set(1, { topic: 'a' } as never)).toThrow("custom metric gauge sluice_level has no labels, but got label 'topic'");
    expect(() => byTopic.inc(-1, { topic: 'a' })).toThrow('custom metric counter sluice_records_total{topic}: inc(-1) needs a finite number ≥ 0');
    expect(() => byTopic.labels({ topic: 'a' }).inc(NaN)).toThrow('inc(NaN) needs a finite number ≥ 0');
    expect(() => hist.observe(Infinity)).toThrow('custom metric histogram sluice_size_bytes: observe(Infinity) needs a finite number');
    expect(() => group.counter('records', 'Records.')).toThrow("counter 'records' must end in '_total'");
  });

  it('returns the same metric for the same definition and refuses a different one under the same name', () => {
    const metrics = new SubtaskCustomMetrics();
    const map = metrics.group(1, 'Map');
    const sink = metrics.group(2, 'Sink: out');
    const a = map.counter('records_total', 'Records.', ['topic']);
    expect(map.counter('records_total', 'Records.', ['topic'])).toBe(a);
    // Another operator of the chain may use the name with the same definition: its own series.
    const b = sink.counter('records_total', 'Records.', ['topic']);
    expect(b).not.toBe(a);
    b.inc(2, { topic: 'x' });
    a.inc(1, { topic: 'x' });
    expect(metrics.read().map((r) => [r.operator, r.values[0]])).toEqual([
      ['Sink: out', 2],
      ['Map', 1],
    ]);

    expect(() => map.counter('records_total', 'Records.')).toThrow(
      "operator 'Map' defines sluice_records_total twice, as counter sluice_records_total{topic} and as counter sluice_records_total; define it once and keep the returned metric",
    );
    expect(() => sink.gauge('records_total_x', 'x')).not.toThrow();
    expect(() => metrics.group(3, 'Filter').counter('records_total', 'Other help.', ['topic'])).toThrow(
      "operator 'Filter' defines counter sluice_records_total{topic}, but operator 'Map' of the same subtask defines counter sluice_records_total{topic} (help, labels and buckets must match too); one name, one definition",
    );
    map.histogram('wait_seconds', 'Wait.', [1]);
    expect(() => sink.gauge('wait_seconds_count', 'Waits.')).toThrow(/operator 'Map' of the same subtask defines histogram sluice_wait_seconds, which writes sluice_wait_seconds_count; one name, one definition/);
  });

  it(`keeps at most ${MAX_SERIES_PER_METRIC} series per metric and warns once`, () => {
    const metrics = new SubtaskCustomMetrics();
    const group = metrics.group(1, 'Source: tx');
    const lag = group.gauge('consumer_lag', 'Lag.', ['partition']);
    const records = group.counter('records_total', 'Records.', ['key']);
    for (let p = 0; p < MAX_SERIES_PER_METRIC; p++) lag.set(p, { partition: String(p) });
    lag.set(1, { partition: 'one too many' });
    lag.labels({ partition: 'another' }).set(2);
    for (let k = 0; k < MAX_SERIES_PER_METRIC + 10; k++) records.inc(1, { key: `k${k}` });
    // Existing series keep counting.
    lag.set(42, { partition: '0' });

    const update = metrics.takeUpdate()!;
    expect(update.series).toHaveLength(2 * MAX_SERIES_PER_METRIC);
    expect(update.warnings).toEqual([
      "custom metric gauge sluice_consumer_lag{partition} of operator 'Source: tx' reached 1000 series; updates for further label values are dropped. Label values must come from a small fixed set (topic, partition, status), never from records (keys, ids)",
      "custom metric counter sluice_records_total{key} of operator 'Source: tx' reached 1000 series; updates for further label values are dropped. Label values must come from a small fixed set (topic, partition, status), never from records (keys, ids)",
    ]);
    expect(metrics.read().find((r) => r.name === 'sluice_consumer_lag' && r.labels.partition === '0')?.values).toEqual([42]);
    lag.set(3, { partition: 'still too many' });
    expect(metrics.takeUpdate()).toBeUndefined();
  });

  it(`refuses more than ${MAX_METRICS_PER_SUBTASK} metrics in one subtask`, () => {
    const group = new SubtaskCustomMetrics().group(1, 'Map');
    for (let i = 0; i < MAX_METRICS_PER_SUBTASK; i++) group.gauge(`g${i}`, 'x');
    expect(() => group.gauge('one_more', 'x')).toThrow(`operator 'Map' defines gauge sluice_one_more, but this subtask already has ${MAX_METRICS_PER_SUBTASK} custom metrics; metric names must be fixed in code, never built from data`);
  });
});
