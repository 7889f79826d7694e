import { describe, expect, it } from 'vitest';
import { metricsAddressOf } from './reporter.js';
import { StatusLedger, newStatusUuid } from './status-ledger.js';
import { parsePrometheusSamples, summarize, withRates } from './taskmanager-metrics.js';

const SCRAPE = `# HELP sluice_taskmanager_slots Task slots of this TaskManager by state (total, free).
# TYPE sluice_taskmanager_slots gauge
sluice_taskmanager_slots{state="total",taskmanager="tm-1"} 4
sluice_taskmanager_slots{state="free",taskmanager="tm-1"} 1
sluice_operator_records_in_total{job_name="a \\"quoted\\", name",job_id="1",vertex="v",operator="map",subtask="0",taskmanager="tm-1"} 100
sluice_operator_records_in_total{job_name="b",job_id="2",vertex="v",operator="map",subtask="1",taskmanager="tm-1"} 50
sluice_operator_records_out_total{job_name="b",job_id="2",vertex="v",operator="map",subtask="1",taskmanager="tm-1"} 40
sluice_task_busy_seconds_total{job_name="b",job_id="2",vertex="v",subtask="1",taskmanager="tm-1"} 1.5
sluice_task_busy_seconds_total{job_name="a",job_id="1",vertex="v",subtask="0",taskmanager="tm-1"} 2
sluice_task_backpressured_seconds_total{job_name="a",job_id="1",vertex="v",subtask="0",taskmanager="tm-1"} 0.25
sluice_worker_pool_threads{taskmanager="tm-1"} 8
sluice_worker_pool_queue_size{taskmanager="tm-1"} 0
nodejs_heap_size_used_bytes{taskmanager="tm-1"} 5.24288e+07
sluice_task_watermark_lag_seconds{job_name="a",job_id="1",vertex="v",subtask="0"} +Inf
this line is not a sample
`;

describe('TaskManager /metrics summary', () => {
  it('reads samples with escaped label values and skips lines it cannot read', () => {
    const samples = parsePrometheusSamples(SCRAPE);
    expect(samples).toHaveLength(12);
    expect(samples[2]!.labels.job_name).toBe('a "quoted", name');
    expect(samples.at(-1)!.value).toBe(Infinity);
  });

  it('summarizes slots, record totals, subtasks, pool and memory', () => {
    expect(summarize(parsePrometheusSamples(SCRAPE), 1_000)).toEqual({
      slots: { total: 4, free: 1 },
      metrics: {
        subtasks: 2,
        recordsInTotal: 150,
        recordsOutTotal: 40,
        backpressuredSecondsTotal: 0.25,
        workerPoolThreads: 8,
        workerPoolQueueSize: 0,
        heapUsedBytes: 52428800,
      },
      at: 1_000,
    });
  });

  it('is undefined for a scrape without the slot series', () => {
    expect(summarize(parsePrometheusSamples('up 1\n'), 0)).toBeUndefined();
  });

  it('adds per-second record rates between two scrapes, none after a counter went back', () => {
    const before = { slots: { total: 1, free: 1 }, metrics: { recordsInTotal: 100, recordsOutTotal: 50 }, at: 1_000 };
    const after = { slots: { total: 1, free: 1 }, metrics: { recordsInTotal: 300, recordsOutTotal: 40 }, at: 3_000 };
    expect(withRates(after, before)).toEqual({ recordsInTotal: 300, recordsOutTotal: 40, recordsInPerSecond: 100 });
    expect(withRates(after, undefined)).toEqual(after.metrics);
  });

  it.each([
    ['agent-1.example', 'http://0.0.0.0:31002/metrics', 'agent-1.example:31002'],
    ['fd00::7', 'http://[::]:31002/metrics', '[fd00::7]:31002'],
    ['agent-1', 'not a url', undefined],
    ['agent-1', undefined, undefined],
  ])('the metrics address of %s with %s is %s', (host, url, address) => {
    expect(metricsAddressOf(host, url)).toBe(address);
  });
});

describe('StatusLedger', () => {
  it('keeps updates until acknowledged by task id and uuid, and launched tasks until one of theirs is', () => {
    const ledger = new StatusLedger();
    const task = { name: 't', task_id: { value: 't' }, agent_id: { value: 'a' } };
    ledger.launched(task);
    const starting = { task_id: { value: 't' }, state: 'TASK_STARTING' as const, uuid: newStatusUuid() };
    const running = { task_id: { value: 't' }, state: 'TASK_RUNNING' as const, uuid: newStatusUuid() };
    ledger.add(starting);
    ledger.add(running);
    expect(ledger.subscribePayload()).toEqual({ unacknowledged_tasks: [task], unacknowledged_updates: [{ status: starting }, { status: running }] });
    expect(ledger.acknowledge('other', running.uuid)).toBeUndefined();
    expect(ledger.acknowledge('t', running.uuid)).toBe(running);
    expect(ledger.acknowledge('t', running.uuid)).toBeUndefined();
    expect(ledger.subscribePayload()).toEqual({ unacknowledged_tasks: [], unacknowledged_updates: [{ status: starting }] });
  });
});
