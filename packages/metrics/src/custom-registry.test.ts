import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '@sluice/common';
import { createMetricsRegistry } from './registry.js';
import type { CustomMetricDefinition, CustomMetricSnapshot, SubtaskCustomMetricsSnapshot } from './custom-metrics.js';
import type { TaskManagerMetricsSnapshot, TaskManagerMetricsSource } from './snapshot.js';

/** A hand-written source whose custom metrics tests replace between scrapes. */
class TestingMetricsSource implements TaskManagerMetricsSource {
  constructor(public custom: SubtaskCustomMetricsSnapshot[]) {}
  snapshot(): TaskManagerMetricsSnapshot {
    return { resourceId: 'tm-1', slotsTotal: 1, slotsFree: 0, subtasks: [], pool: { threads: 1, utilization: 0, queueSize: 0, completedTasks: 0 }, custom: this.custom };
  }
}

/** A logger that keeps its warnings. */
function capturingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: createLogger('warn', 'test', (line) => warnings.push(line.replace(/^\S+ WARN {2}\[test\] /, ''))), warnings };
}

const LAG: CustomMetricDefinition = { type: 'gauge', name: 'sluice_kafka_consumer_lag', help: 'Records between the position and the end of the partition.', labelNames: ['topic', 'partition'], buckets: [] };
const RECORDS: CustomMetricDefinition = { type: 'counter', name: 'sluice_kafka_records_in_total', help: 'Records read.', labelNames: ['topic'], buckets: [] };
const LATENCY: CustomMetricDefinition = { type: 'histogram', name: 'sluice_kafka_produce_latency_seconds', help: 'Send to "ack".\nPer batch.', labelNames: [], buckets: [0.01, 0.1] };

function metric(definition: CustomMetricDefinition, series: [string[], number[]][], operator = 'Source: tx'): CustomMetricSnapshot {
  return { nodeId: 1, operator, definition, series: series.map(([labelValues, values]) => ({ labelValues, values })) };
}

function subtask(metrics: CustomMetricSnapshot[], overrides: Partial<SubtaskCustomMetricsSnapshot> = {}): SubtaskCustomMetricsSnapshot {
  return { jobId: 'j1', jobName: 'fraud', vertexId: 'v1', vertexName: 'Source: tx -> Map', subtask: 0, ended: false, metrics, ...overrides };
}

/** The custom part of a scrape: they follow the built-in series when default metrics are off. */
function customPart(text: string): string {
  const start = text.search(/^# HELP sluice_kafka_/m);
  return start < 0 ? '' : text.slice(start);
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const STD = 'job_name="fraud",job_id="j1",vertex="Source: tx -> Map",operator="Source: tx",subtask="0"';
const TM = 'taskmanager="tm-1"';

describe('custom metrics in the TaskManager registry', () => {
  it('exports a counter, a gauge and a histogram with the standard labels, the metric labels and their help texts', async () => {
    const source = new TestingMetricsSource([
      subtask([
        metric(RECORDS, [[['tx'], [42]], [['refunds'], [3]]]),
        metric(LAG, [[['tx', '0'], [7]]]),
        metric(LATENCY, [[[], [1, 3, 0.25, 4]]]),
      ]),
    ]);
    const registry = createMetricsRegistry({ source, defaultMetrics: false, defaultLabels: { taskmanager: 'tm-1' } });
    expect(customPart(await registry.metrics())).toBe(
      [
        '# HELP sluice_kafka_consumer_lag Records between the position and the end of the partition.',
        '# TYPE sluice_kafka_consumer_lag gauge',
        `sluice_kafka_consumer_lag{${STD},topic="tx",partition="0",${TM}} 7`,
        '',
        '# HELP sluice_kafka_produce_latency_seconds Send to "ack".\\nPer batch.',
        '# TYPE sluice_kafka_produce_latency_seconds histogram',
        `sluice_kafka_produce_latency_seconds_bucket{${STD},le="0.01",${TM}} 1`,
        `sluice_kafka_produce_latency_seconds_bucket{${STD},le="0.1",${TM}} 3`,
        `sluice_kafka_produce_latency_seconds_bucket{${STD},le="+Inf",${TM}} 4`,
        `sluice_kafka_produce_latency_seconds_sum{${STD},${TM}} 0.25`,
        `sluice_kafka_produce_latency_seconds_count{${STD},${TM}} 4`,
        '',
        '# HELP sluice_kafka_records_in_total Records read.',
        '# TYPE sluice_kafka_records_in_total counter',
        `sluice_kafka_records_in_total{${STD},topic="tx",${TM}} 42`,
        `sluice_kafka_records_in_total{${STD},topic="refunds",${TM}} 3`,
        '',
      ].join('\n'),
    );
    // prom-client's JSON view sees the same families.
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === RECORDS.name)?.values).toHaveLength(2);
  });

  it('keeps counters and histograms after their subtask ended and across restarts; gauges go with the subtask', async () => {
    let now = 1_000;
    const source = new TestingMetricsSource([subtask([metric(RECORDS, [[['tx'], [42]]]), metric(LAG, [[['tx', '0'], [7]]]), metric(LATENCY, [[[], [1, 3, 0.25, 4]]])])]);
    const registry = createMetricsRegistry({ source, defaultMetrics: false, now: () => now, retiredSeriesTtlMs: 60_000 });

    await registry.metrics();
    // Ended (its final values, as the TaskManager keeps them for a while): no gauge any more.
    source.custom = [subtask([metric(RECORDS, [[['tx'], [50]]]), metric(LATENCY, [[[], [2, 4, 0.5, 5]]])], { ended: true })];
    let text = await registry.metrics();
    expect(sample(text, RECORDS.name, `${STD},topic="tx"`)).toBe(50);
    expect(text).not.toContain(LAG.name);

    // Back after a restart, counting from zero: continues on top of the old values. The count
    // dropped, so the whole histogram restarted, even the bucket that grew (le=0.01: 2 → 3).
    source.custom = [subtask([metric(RECORDS, [[['tx'], [5]]]), metric(LATENCY, [[[], [3, 3, 0.125, 3]]])])];
    text = await registry.metrics();
    expect(sample(text, RECORDS.name, `${STD},topic="tx"`)).toBe(55);
    expect(sample(text, `${LATENCY.name}_bucket`, `${STD},le="0.01"`)).toBe(5);
    expect(sample(text, `${LATENCY.name}_bucket`, `${STD},le="0.1"`)).toBe(7);
    expect(sample(text, `${LATENCY.name}_bucket`, `${STD},le="+Inf"`)).toBe(8);
    expect(sample(text, `${LATENCY.name}_sum`, STD)).toBe(0.625);
    expect(sample(text, `${LATENCY.name}_count`, STD)).toBe(8);

    // Gone from the snapshot: still exported with the final values.
    source.custom = [];
    text = await registry.metrics();
    expect(sample(text, RECORDS.name, `${STD},topic="tx"`)).toBe(55);
    expect(sample(text, `${LATENCY.name}_count`, STD)).toBe(8);

    // Ended for longer than the retention: the families disappear altogether.
    now += 60_000;
    expect(customPart(await registry.metrics())).toBe('');
  });

  it('exports one family per name: another type is left out with one warning; help, labels and buckets may differ', async () => {
    const { logger, warnings } = capturingLogger();
    const other = { jobId: 'j2', jobName: 'audit', vertexId: 'v9', vertexName: 'Source: audit' };
    const source = new TestingMetricsSource([
      subtask([metric(RECORDS, [[['tx'], [42]]])]),
      subtask([metric({ ...RECORDS, type: 'gauge' }, [[['tx'], [1]]], 'Source: audit')], other),
      subtask([metric({ ...RECORDS, help: 'Records read (v2).', labelNames: ['topic', 'cluster'] }, [[['tx', 'eu'], [8]]], 'Source: audit')], { ...other, subtask: 1 }),
    ]);
    const registry = createMetricsRegistry({ source, defaultMetrics: false, logger });
    const text = await registry.metrics();
    await registry.metrics();
    expect(customPart(text)).toBe(
      [
        '# HELP sluice_kafka_records_in_total Records read.',
        '# TYPE sluice_kafka_records_in_total counter',
        `sluice_kafka_records_in_total{${STD},topic="tx"} 42`,
        'sluice_kafka_records_in_total{job_name="audit",job_id="j2",vertex="Source: audit",operator="Source: audit",subtask="1",topic="tx",cluster="eu"} 8',
        '',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      "custom metric gauge sluice_kafka_records_in_total{topic} of operator 'Source: audit' of job 'audit' (j2), subtask 0 is left out: sluice_kafka_records_in_total is already exported as a counter; one name must have one type in all jobs of a TaskManager",
    ]);
  });

  it('leaves out metrics whose labels are default labels, whose series collide, or that break the naming rules', async () => {
    const { logger, warnings } = capturingLogger();
    const source = new TestingMetricsSource([
      subtask([
        metric({ ...LAG, labelNames: ['region'] }, [[['x'], [1]]]),
        metric({ ...LATENCY, name: 'sluice_kafka_batch_seconds' }, [[[], [0, 0, 0, 0]]]),
        metric({ ...RECORDS, type: 'gauge', name: 'sluice_kafka_batch_seconds_count', labelNames: [] }, [[[], [1]]]),
        metric({ ...RECORDS, name: 'process_cpu_seconds_total' }, [[['tx'], [1]]]),
        metric({ ...RECORDS, name: 'sluice_job_restarts_total' }, [[['tx'], [1]]]),
      ]),
    ]);
    const registry = createMetricsRegistry({ source, defaultMetrics: false, defaultLabels: { region: 'eu' }, logger });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE sluice_kafka_batch_seconds histogram');
    expect(text).not.toContain('sluice_kafka_consumer_lag');
    expect(text).not.toContain('# TYPE sluice_kafka_batch_seconds_count');
    expect(text).not.toContain('process_cpu_seconds_total');
    expect(text).not.toContain('sluice_job_restarts_total');
    expect(warnings).toEqual([
      expect.stringMatching(/^custom metric gauge sluice_kafka_consumer_lag\{region\} of .* is left out: label 'region' is one of the TaskManager's default labels$/),
      expect.stringMatching(/^custom metric gauge sluice_kafka_batch_seconds_count of .* is left out: its series sluice_kafka_batch_seconds_count collides with metric sluice_kafka_batch_seconds$/),
      expect.stringMatching(/^custom metric process_cpu_seconds_total of .* is left out: its name does not start with 'sluice_'$/),
      expect.stringMatching(/^custom metric sluice_job_restarts_total of .* is left out: metric name 'job_restarts_total': names starting with 'job_' are reserved/),
    ]);
  });
});
