import { describe, expect, it } from 'vitest';
import { JOB_COUNTERS, JOB_GAUGES, OPERATOR_COUNTERS, TASK_COUNTERS, TASK_WATERMARK_LAG, TASKMANAGER_SLOTS, WORKER_POOL } from './names.js';
import { CUSTOM_METRIC_PREFIX, RESERVED_CUSTOM_NAME_PREFIXES, customMetricWidth, customSampleNames, defineCustomMetric, sameCustomMetricDefinition, type CustomMetricType } from './custom-metrics.js';

describe('defineCustomMetric', () => {
  it('prefixes the name and freezes the definition', () => {
    const d = defineCustomMetric('histogram', 'kafka_produce_latency_seconds', 'Send to acknowledgement.', ['topic'], [0.001, 0.01]);
    expect(d).toEqual({ type: 'histogram', name: 'sluice_kafka_produce_latency_seconds', help: 'Send to acknowledgement.', labelNames: ['topic'], buckets: [0.001, 0.01] });
    expect(Object.isFrozen(d)).toBe(true);
    expect(customMetricWidth(d)).toBe(4);
    expect(customSampleNames(d)).toEqual(['sluice_kafka_produce_latency_seconds', 'sluice_kafka_produce_latency_seconds_bucket', 'sluice_kafka_produce_latency_seconds_sum', 'sluice_kafka_produce_latency_seconds_count']);
    // Only histograms keep buckets.
    expect(defineCustomMetric('gauge', 'kafka_consumer_lag', 'Lag.', ['topic', 'partition'], [1, 2]).buckets).toEqual([]);
  });

  const rejected: [string, CustomMetricType, unknown, unknown, unknown, unknown, RegExp][] = [
    ['a name with a dash', 'counter', 'kafka-records_total', 'h', [], [], /metric name "kafka-records_total" is invalid/],
    ['a name starting with a digit', 'gauge', '1lag', 'h', [], [], /is invalid/],
    ['a name with a colon (recording rules)', 'gauge', 'a:b', 'h', [], [], /is invalid/],
    ['a name that is not a string', 'gauge', 7, 'h', [], [], /metric name 7 is invalid/],
    ['the prefix the runtime adds', 'counter', 'sluice_kafka_records_total', 'h', [], [], /leave out the 'sluice_' prefix, the runtime adds it \(use 'kafka_records_total'\)/],
    ['a built-in namespace', 'counter', 'operator_records_in_total', 'h', [], [], /names starting with 'operator_' are reserved for Sluice's built-in series/],
    ['the job namespace', 'gauge', 'job_uptime_seconds', 'h', [], [], /'job_' are reserved/],
    ['a Prometheus-reserved name', 'gauge', '__x', 'h', [], [], /reserved by Prometheus/],
    ['a counter without _total', 'counter', 'kafka_records', 'h', [], [], /counter 'kafka_records' must end in '_total' \(Prometheus convention\), e\.g\. 'kafka_records_total'/],
    ['a gauge with _total', 'gauge', 'kafka_records_total', 'h', [], [], /gauge 'kafka_records_total' must not end in '_total'/],
    ['an empty help text', 'gauge', 'lag', '  ', [], [], /needs a help text/],
    ['a standard label', 'gauge', 'lag', 'h', ['subtask'], [], /label 'subtask' is reserved/],
    ['a Prometheus target label', 'gauge', 'lag', 'h', ['instance'], [], /label 'instance' is reserved/],
    ['the histogram label', 'histogram', 'latency_seconds', 'h', ['le'], [1], /label 'le' is reserved/],
    ['the TaskManager label', 'gauge', 'lag', 'h', ['taskmanager'], [], /label 'taskmanager' is reserved/],
    ['an invalid label name', 'gauge', 'lag', 'h', ['topic name'], [], /label name "topic name" is invalid/],
    ['a repeated label', 'gauge', 'lag', 'h', ['topic', 'topic'], [], /label 'topic' is listed twice/],
    ['label names that are not an array', 'gauge', 'lag', 'h', 'topic', [], /label names must be an array of strings/],
    ['too many labels', 'gauge', 'lag', 'h', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], [], /has 9 label names; at most 8/],
    ['no buckets', 'histogram', 'latency_seconds', 'h', [], [], /buckets must be an array of 1 to 64 upper bounds/],
    ['unsorted buckets', 'histogram', 'latency_seconds', 'h', [], [0.1, 0.01], /finite and strictly increasing \(\+Inf is added\), got \[0\.1, 0\.01\]/],
    ['repeated buckets', 'histogram', 'latency_seconds', 'h', [], [1, 1], /strictly increasing/],
    ['an infinite bucket', 'histogram', 'latency_seconds', 'h', [], [1, Infinity], /finite/],
    ['a too long name', 'gauge', 'x'.repeat(130), 'h', [], [], /is too long: at most 121 characters/],
  ];
  it.each(rejected)('rejects %s', (_what, type, name, help, labels, buckets, message) => {
    expect(() => defineCustomMetric(type, name, help, labels, buckets)).toThrow(message);
  });

  it('reserves a namespace for every built-in series', () => {
    const builtIn = [
      ...Object.values(OPERATOR_COUNTERS),
      ...Object.values(TASK_COUNTERS),
      TASK_WATERMARK_LAG,
      TASKMANAGER_SLOTS,
      ...Object.values(WORKER_POOL),
      ...Object.values(JOB_COUNTERS),
      ...Object.values(JOB_GAUGES),
    ].map((d) => d.name);
    for (const name of builtIn) {
      expect(name.startsWith(CUSTOM_METRIC_PREFIX), name).toBe(true);
      const rest = name.slice(CUSTOM_METRIC_PREFIX.length);
      expect(RESERVED_CUSTOM_NAME_PREFIXES.some((p) => rest.startsWith(p)), name).toBe(true);
    }
  });

  it('compares definitions field by field', () => {
    const a = defineCustomMetric('histogram', 'x_seconds', 'h', ['topic'], [1, 2]);
    expect(sameCustomMetricDefinition(a, defineCustomMetric('histogram', 'x_seconds', 'h', ['topic'], [1, 2]))).toBe(true);
    expect(sameCustomMetricDefinition(a, defineCustomMetric('histogram', 'x_seconds', 'h', ['topic'], [1, 3]))).toBe(false);
    expect(sameCustomMetricDefinition(a, defineCustomMetric('histogram', 'x_seconds', 'other', ['topic'], [1, 2]))).toBe(false);
    expect(sameCustomMetricDefinition(a, defineCustomMetric('histogram', 'x_seconds', 'h', [], [1, 2]))).toBe(false);
    expect(sameCustomMetricDefinition(a, defineCustomMetric('gauge', 'x_seconds', 'h', ['topic']))).toBe(false);
  });
});
