/**
 * Custom metrics end to end: a job whose own source, process function and sink define counters,
 * a gauge and a histogram runs on the embedded cluster (real worker threads) with metrics
 * enabled, and /metrics, fetched over HTTP, shows them with the standard labels — while the job
 * runs, after it is cancelled (counters and histograms keep their final values, the gauge goes),
 * and across a restart (counters continue from the failed attempt's final values).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { startEmbeddedCluster, type EmbeddedCluster } from '@sluice/minicluster';
import { jobPath } from './harness.js';
import { PAYLOAD_SIZES, RECORDS_PER_SPLIT, SIZE_BUCKETS, SPLITS } from './jobs/custom-metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of a scrape, parsed (label values here contain no quotes or commas). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (m === null) throw new Error(`cannot parse sample line: ${line}`);
      const labels = Object.fromEntries((m[2] ?? '').split(',').filter((p) => p !== '').map((p) => /^([^=]+)="(.*)"$/.exec(p)!.slice(1, 3) as [string, string]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** Every TaskManager's /metrics (the cluster starts more when a job needs more slots). */
async function scrape(embedded: EmbeddedCluster): Promise<Sample[]> {
  const texts = await Promise.all(
    embedded.metricsUrls().map(async (url) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return res.text();
    }),
  );
  return texts.flatMap(parse);
}

/** The samples of `name` whose labels include `labels`, as `key(labels) → value`. */
function series(samples: Sample[], name: string, key: (l: Record<string, string>) => string, labels: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || Object.entries(labels).some(([k, v]) => s.labels[k] !== v)) continue;
    out[key(s.labels)] = s.value;
  }
  return out;
}

/** Per subtask of a reader with `splits` splits: the histogram's samples. */
function payloadHistogram(splits: number): Record<string, number> {
  const perSize = (splits * RECORDS_PER_SPLIT) / PAYLOAD_SIZES.length;
  return {
    [`bucket le=${SIZE_BUCKETS[0]}`]: perSize,
    [`bucket le=${SIZE_BUCKETS[1]}`]: 2 * perSize,
    'bucket le=+Inf': 3 * perSize,
    sum: perSize * PAYLOAD_SIZES.reduce((a, b) => a + b, 0),
    count: 3 * perSize,
  };
}

function histogramOf(samples: Sample[], labels: Record<string, string>): Record<string, number> {
  return {
    ...series(samples, 'sluice_demo_payload_bytes_bucket', (l) => `bucket le=${l.le}`, labels),
    ...series(samples, 'sluice_demo_payload_bytes_sum', () => 'sum', labels),
    ...series(samples, 'sluice_demo_payload_bytes_count', () => 'count', labels),
  };
}

/** Polls `probe`; the bound is generous, so that only a hang fails it on a busy machine. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('custom metrics on the embedded cluster', () => {
  let embedded: EmbeddedCluster;
  let entry: string;

  beforeAll(async () => {
    embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, metricsPort: 0 });
    entry = await compileJob(jobPath('custom-metrics.ts'));
  });
  afterAll(async () => {
    await embedded?.close();
  });

  it('exports the series of a running job with the standard labels, and keeps counters and histograms after it ends', async () => {
    const { handle, job } = await embedded.submit({ entry, params: { hold: 'true' }, parallelism: 2 });
    const vertex = job.jobGraph.vertices[0]!.name;
    expect(job.jobGraph.vertices).toHaveLength(1);
    const std = (operator: string, subtask: number): Record<string, string> => ({ job_name: 'custom metrics', job_id: handle.jobId, vertex, operator, subtask: String(subtask) });
    const source = 'readings';
    // Subtask s reads splits s and s + 2 (the default assignment, index % parallelism).
    const perSplit = (done: number): Record<string, number> => Object.fromEntries(Array.from({ length: SPLITS }, (_, i) => [`s${i}@${i % 2}`, done]));
    const bySplit = (l: Record<string, string>): string => `${l.split}@${l.subtask}`;

    // While it runs: every reading read, and the gauge shows the assigned splits.
    const live = await eventually('all readings counted on /metrics', async () => {
      const samples = await scrape(embedded);
      const counted = series(samples, 'sluice_demo_records_read_total', bySplit);
      return Object.values(counted).length === SPLITS && Object.values(counted).every((v) => v === RECORDS_PER_SPLIT) ? samples : undefined;
    });
    const reader = live.filter((s) => s.name === 'sluice_demo_records_read_total' && s.labels.split === 's0');
    expect(reader.map((s) => s.labels)).toEqual([{ ...std(source, 0), split: 's0', taskmanager: expect.any(String) }]);
    expect(series(live, 'sluice_demo_assigned_splits', (l) => l.subtask!, { operator: source })).toEqual({ 0: 2, 1: 2 });
    for (const subtask of [0, 1]) expect(histogramOf(live, std(source, subtask))).toEqual(payloadHistogram(2));
    // The function and the sink count in the same pollNext calls, so their values came in the same updates.
    expect(series(live, 'sluice_demo_large_readings_total', (l) => l.subtask!, { operator: 'large' })).toEqual({ 0: 20, 1: 20 });
    expect(series(live, 'sluice_demo_written_total', (l) => l.subtask!, { operator: 'written' })).toEqual({ 0: 60, 1: 60 });
    expect(live.find((s) => s.name === 'sluice_demo_written_total' && s.labels.subtask === '1')?.labels).toEqual({ ...std('written', 1), taskmanager: expect.any(String) });

    // Cancelled: counters and histograms stay with their final values; the gauge is gone.
    await handle.cancel();
    expect((await handle.result()).status).toBe('CANCELED');
    const after = await scrape(embedded);
    expect(series(after, 'sluice_demo_records_read_total', bySplit, { job_id: handle.jobId })).toEqual(perSplit(RECORDS_PER_SPLIT));
    expect(series(after, 'sluice_demo_written_total', (l) => l.subtask!, { job_id: handle.jobId })).toEqual({ 0: 60, 1: 60 });
    for (const subtask of [0, 1]) expect(histogramOf(after, std(source, subtask))).toEqual(payloadHistogram(2));
    expect(series(after, 'sluice_demo_assigned_splits', (l) => l.subtask!, { job_id: handle.jobId })).toEqual({});
  });

  it('continues counters and histograms across a restart', async () => {
    const { handle, job } = await embedded.submit({ entry, params: { failOnce: 'true' }, parallelism: 1 });
    const result = await handle.result();
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    expect(result.restarts).toBe(1);

    // No scrape happened before the failure: the TaskManager kept the failed attempt's values.
    const samples = await scrape(embedded);
    const std = { job_id: handle.jobId, vertex: job.jobGraph.vertices[0]!.name, subtask: '0' };
    expect(series(samples, 'sluice_demo_records_read_total', (l) => l.split!, std)).toEqual({ s0: 60, s1: 60, s2: 60, s3: 60 });
    expect(series(samples, 'sluice_demo_large_readings_total', () => 'large', std)).toEqual({ large: 80 });
    expect(series(samples, 'sluice_demo_written_total', () => 'written', std)).toEqual({ written: 240 });
    const twice = Object.fromEntries(Object.entries(payloadHistogram(SPLITS)).map(([k, v]) => [k, 2 * v]));
    expect(histogramOf(samples, std)).toEqual(twice);
  });
});
