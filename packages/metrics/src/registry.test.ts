import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './registry.js';
import type { SubtaskMetricsSnapshot, TaskManagerMetricsSnapshot, TaskManagerMetricsSource } from './snapshot.js';

/** A hand-written source whose snapshot tests replace between scrapes. */
class TestingMetricsSource implements TaskManagerMetricsSource {
  calls = 0;
  constructor(public current: TaskManagerMetricsSnapshot) {}
  snapshot(): TaskManagerMetricsSnapshot {
    this.calls++;
    return this.current;
  }
}

function subtask(overrides: Partial<SubtaskMetricsSnapshot> = {}): SubtaskMetricsSnapshot {
  return {
    jobId: 'j1',
    jobName: 'fraud',
    vertexId: 'v1',
    vertexName: 'Source: tx -> Map',
    subtask: 0,
    operators: [
      { nodeId: 1, operator: 'Source: tx', recordsIn: 0, recordsOut: 100, lateRecordsDropped: 0 },
      { nodeId: 2, operator: 'Map', recordsIn: 100, recordsOut: 90, lateRecordsDropped: 3 },
    ],
    busyMs: 1500,
    backpressuredMs: 250,
    idleMs: 4000,
    currentWatermark: 10_000,
    bytesIn: 0,
    bytesOut: 2048,
    buffersOut: 7,
    ...overrides,
  };
}

function snapshot(subtasks: SubtaskMetricsSnapshot[], completedTasks = 12): TaskManagerMetricsSnapshot {
  return {
    resourceId: 'tm-1',
    slotsTotal: 4,
    slotsFree: 3,
    subtasks,
    pool: { threads: 2, utilization: 0.25, queueSize: 1, completedTasks },
  };
}

const NOW = 12_500;

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const OP0 = 'job_name="fraud",job_id="j1",vertex="Source: tx -> Map",operator="Map",subtask="0"';
const SRC0 = 'job_name="fraud",job_id="j1",vertex="Source: tx -> Map",operator="Source: tx",subtask="0"';
const TASK0 = 'job_name="fraud",job_id="j1",vertex="Source: tx -> Map",subtask="0"';
const TASK1 = 'job_name="fraud",job_id="j1",vertex="Source: tx -> Map",subtask="1"';

describe('createMetricsRegistry', () => {
  it('exports every series with bounded labels and base units', async () => {
    const source = new TestingMetricsSource(snapshot([subtask()]));
    const registry = createMetricsRegistry({ source, now: () => NOW, defaultMetrics: false });
    const text = await registry.metrics();

    const expected: [string, string, number][] = [
      ['sluice_operator_records_in_total', OP0, 100],
      ['sluice_operator_records_out_total', OP0, 90],
      ['sluice_operator_records_out_total', SRC0, 100],
      ['sluice_operator_late_records_dropped_total', OP0, 3],
      ['sluice_task_busy_seconds_total', TASK0, 1.5],
      ['sluice_task_backpressured_seconds_total', TASK0, 0.25],
      ['sluice_task_idle_seconds_total', TASK0, 4],
      ['sluice_task_bytes_in_total', TASK0, 0],
      ['sluice_task_bytes_out_total', TASK0, 2048],
      ['sluice_task_buffers_out_total', TASK0, 7],
      ['sluice_task_watermark_lag_seconds', TASK0, 2.5],
      ['sluice_taskmanager_slots', 'state="total"', 4],
      ['sluice_taskmanager_slots', 'state="free"', 3],
      ['sluice_worker_pool_threads', '', 2],
      ['sluice_worker_pool_utilization_ratio', '', 0.25],
      ['sluice_worker_pool_queue_size', '', 1],
      ['sluice_worker_pool_completed_tasks_total', '', 12],
    ];
    for (const [name, labels, value] of expected) {
      expect(sample(text, name, labels), `${name}{${labels}}`).toBe(value);
    }
    expect(text).toContain('# TYPE sluice_operator_records_in_total counter');
    expect(text).toContain('# TYPE sluice_task_watermark_lag_seconds gauge');
    expect(text).not.toContain('process_cpu');
    // One snapshot per scrape, shared by all series.
    expect(source.calls).toBe(1);
    await registry.metrics();
    expect(source.calls).toBe(2);
  });

  it('omits watermark lag until a subtask has seen a watermark', async () => {
    const source = new TestingMetricsSource(snapshot([subtask({ currentWatermark: -Infinity })]));
    const registry = createMetricsRegistry({ source, now: () => NOW, defaultMetrics: false });
    const text = await registry.metrics();
    expect(text).not.toMatch(/^sluice_task_watermark_lag_seconds\{/m);
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK0)).toBe(1.5);
  });

  it('keeps counters monotonic when a subtask ends or restarts from zero', async () => {
    const source = new TestingMetricsSource(snapshot([subtask(), subtask({ subtask: 1, busyMs: 1000 })]));
    const registry = createMetricsRegistry({ source, now: () => NOW, defaultMetrics: false });
    let text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK1)).toBe(1);

    // Subtask 1 ends: its final values stay exported; its watermark lag goes away.
    source.current = snapshot([subtask()]);
    text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK1)).toBe(1);
    expect(sample(text, 'sluice_task_watermark_lag_seconds', TASK1)).toBeUndefined();

    // It comes back after a restart, counting from zero again: the export continues from 1 s.
    source.current = snapshot([subtask(), subtask({ subtask: 1, busyMs: 200 })]);
    text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK1)).toBe(1.2);

    // Subtask 0 restarts between two scrapes (never seen missing): its counts dropped.
    const restarted = subtask({ busyMs: 100 });
    restarted.operators = [{ nodeId: 2, operator: 'Map', recordsIn: 10, recordsOut: 9, lateRecordsDropped: 0 }];
    source.current = snapshot([restarted, subtask({ subtask: 1, busyMs: 200 })], 5);
    text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK0)).toBe(1.6);
    expect(sample(text, 'sluice_operator_records_in_total', OP0)).toBe(110);
    // The source operator vanished from the chain snapshot; its total is remembered.
    expect(sample(text, 'sluice_operator_records_out_total', SRC0)).toBe(100);
    // The worker pool was replaced: completed tasks continue from 12.
    expect(sample(text, 'sluice_worker_pool_completed_tasks_total', '')).toBe(17);
  });

  it('forgets ended subtasks beyond the retention bounds', async () => {
    let now = NOW;
    const source = new TestingMetricsSource(snapshot([subtask(), subtask({ subtask: 1 })]));
    const registry = createMetricsRegistry({ source, now: () => now, defaultMetrics: false, retiredSeriesTtlMs: 1000 });
    await registry.metrics();
    source.current = snapshot([subtask()]);
    let text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK1)).toBe(1.5);
    now += 1000;
    text = await registry.metrics();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK1)).toBeUndefined();
    expect(sample(text, 'sluice_task_busy_seconds_total', TASK0)).toBe(1.5);
  });

  it('adds Node default metrics under their usual names and applies default labels', async () => {
    const source = new TestingMetricsSource(snapshot([]));
    const registry = createMetricsRegistry({ source, defaultLabels: { tm_id: 'tm-1' } });
    const text = await registry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total\{tm_id="tm-1"\} /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{tm_id="tm-1"\} /m);
    expect(text).toContain('sluice_taskmanager_slots{state="total",tm_id="tm-1"} 4');
  });

  it('rejects a source without snapshot()', () => {
    expect(() => createMetricsRegistry({ source: {} as TaskManagerMetricsSource })).toThrow(
      'metrics registry: `source` must have a snapshot() method (a TaskManagerMetricsSource)',
    );
  });
});
