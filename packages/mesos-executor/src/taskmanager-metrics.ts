/**
 * Reads a TaskManager's slots and a small metric summary from its Prometheus endpoint — the
 * interface it already exposes to monitoring, so the executor needs nothing from the TaskManager
 * but the URL it announces when it registers. Series names come from @sluice/metrics.
 */
import { get } from 'node:http';
import { OPERATOR_COUNTERS, TASK_COUNTERS, TASKMANAGER_SLOTS, WORKER_POOL } from '@sluice/metrics';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition; lines it cannot read are skipped. */
export function parsePrometheusSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const value = parseSampleValue(m[3]!);
    if (value === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

function parseSampleValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) && text !== 'NaN' ? undefined : n;
}

export interface TaskManagerScrape {
  slots: { total: number; free: number };
  /** Numbers only; what the scheduler shows per TaskManager. Totals are since the TaskManager started. */
  metrics: Record<string, number>;
  /** When it was read (ms), for rates between two scrapes. */
  at: number;
}

/** Slots and summary of one scrape; undefined when the scrape has no slot series (not a TaskManager). */
export function summarize(samples: readonly Sample[], at: number): TaskManagerScrape | undefined {
  const one = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  const sum = (name: string): number => samples.reduce((acc, s) => (s.name === name ? acc + s.value : acc), 0);
  const total = one(TASKMANAGER_SLOTS.name, { state: 'total' });
  const free = one(TASKMANAGER_SLOTS.name, { state: 'free' });
  if (total === undefined || free === undefined) return undefined;
  const metrics: Record<string, number> = {
    subtasks: samples.filter((s) => s.name === TASK_COUNTERS.busySeconds.name).length,
    recordsInTotal: sum(OPERATOR_COUNTERS.recordsIn.name),
    recordsOutTotal: sum(OPERATOR_COUNTERS.recordsOut.name),
    backpressuredSecondsTotal: sum(TASK_COUNTERS.backpressuredSeconds.name),
  };
  const optional: [string, number | undefined][] = [
    ['workerPoolThreads', one(WORKER_POOL.threads.name)],
    ['workerPoolUtilization', one(WORKER_POOL.utilization.name)],
    ['workerPoolQueueSize', one(WORKER_POOL.queueSize.name)],
    // prom-client's default process metrics, present unless the TaskManager turned them off.
    ['residentMemoryBytes', one('process_resident_memory_bytes')],
    ['heapUsedBytes', one('nodejs_heap_size_used_bytes')],
  ];
  for (const [k, v] of optional) if (v !== undefined && Number.isFinite(v)) metrics[k] = v;
  return { slots: { total, free }, metrics, at };
}

/** Adds per-second rates of the record counters since `previous` (a counter that went back — a restart — gives none). */
export function withRates(current: TaskManagerScrape, previous: TaskManagerScrape | undefined): Record<string, number> {
  const out = { ...current.metrics };
  if (previous === undefined || current.at <= previous.at) return out;
  const seconds = (current.at - previous.at) / 1000;
  for (const [total, rate] of [['recordsInTotal', 'recordsInPerSecond'], ['recordsOutTotal', 'recordsOutPerSecond']] as const) {
    const now = current.metrics[total];
    const before = previous.metrics[total];
    if (now !== undefined && before !== undefined && now >= before) out[rate] = (now - before) / seconds;
  }
  return out;
}

/** GETs a /metrics URL; rejects on a non-200 answer, a connection error or after `timeoutMs`. */
export function fetchMetricsText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(parts).toString('utf8'));
        else reject(new Error(`GET ${url} answered ${res.statusCode ?? '?'}`));
      });
      res.once('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} did not answer within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/** Reads and summarizes a TaskManager's /metrics. */
export async function scrapeTaskManager(url: string, timeoutMs: number, now: () => number = Date.now): Promise<TaskManagerScrape> {
  const text = await fetchMetricsText(url, timeoutMs);
  const scrape = summarize(parsePrometheusSamples(text), now());
  if (scrape === undefined) throw new Error(`${url} has no ${TASKMANAGER_SLOTS.name} series: not a TaskManager's /metrics`);
  return scrape;
}
