/**
 * A real Prometheus server scrapes a running embedded cluster. Checks what users see through
 * Prometheus's HTTP API rather than the text format: the target is up, record counters grow,
 * slot, busy-time, per-job and Node process series exist, and series names and labels follow the
 * conventions of packages/metrics (counters end in `_total`, no per-record labels).
 *
 * Needs the `prometheus` binary (bash infra/prometheus/install.sh). Without it the suite is
 * skipped locally and fails under CI=true.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { startEmbeddedCluster, type EmbeddedCluster, type SubmittedJob } from '@sluice/minicluster';
import { jobPath } from './harness.js';
import { METRICS_SCRAPE_JOB_NAME } from './jobs/metrics-scrape.js';
import { eventually, PROMETHEUS_BINARY, PROMETHEUS_INSTALL_HINT, startPrometheus, type PrometheusProcess, type QueriedSeries } from './prometheus.js';

const PROMETHEUS = PROMETHEUS_BINARY;
const IN_CI = process.env.CI === 'true';
const INSTALL_HINT = PROMETHEUS_INSTALL_HINT;

const SLOTS = 4;
const PARALLELISM = 2;
const SCRAPE_JOB = 'sluice';

if (PROMETHEUS === undefined && !IN_CI) {
  console.log(`prometheus.test.ts skipped: no prometheus binary on PATH; ${INSTALL_HINT} to enable it`);
}

describe.runIf(PROMETHEUS === undefined && IN_CI)('Prometheus scraping (CI)', () => {
  it('has a prometheus binary', () => {
    expect.fail(`no prometheus binary on PATH under CI=true; ${INSTALL_HINT} before npm test (see .ci/run)`);
  });
});

describe.runIf(PROMETHEUS !== undefined)('Prometheus scraping a running embedded cluster', () => {
  let embedded: EmbeddedCluster | undefined;
  let submitted: SubmittedJob | undefined;
  let prom: PrometheusProcess | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    embedded = await startEmbeddedCluster({ slotsPerTaskManager: SLOTS, metricsPort: 0, workerThreads: 8 });
    const entry = await compileJob(jobPath('metrics-scrape.ts'));
    submitted = await embedded.submit({ entry, params: { rate: '2000' }, parallelism: PARALLELISM });
    const metricsUrl = embedded.metricsUrls()[0];
    if (metricsUrl === undefined) throw new Error('embedded cluster started with metricsPort 0 but serves no metrics URL');

    dataDir = await mkdtemp(join(tmpdir(), 'sluice-prometheus-'));
    const target = new URL(metricsUrl);
    const config = join(dataDir, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        // A scrape may take as long as the interval: on a busy machine a shorter timeout fails
        // scrapes, and a failed scrape makes every series of the target stale (absent) at once.
        '  scrape_interval: 2s',
        '  scrape_timeout: 2s',
        'scrape_configs:',
        `  - job_name: ${SCRAPE_JOB}`,
        `    metrics_path: ${target.pathname}`,
        '    static_configs:',
        `      - targets: ['${target.host}']`,
        '',
      ].join('\n'),
    );
    prom = await startPrometheus(PROMETHEUS!, config, join(dataDir, 'tsdb'));
  }, 180_000);

  afterAll(async () => {
    // Each step runs even if an earlier one fails, so nothing outlives the test.
    const steps: (() => Promise<unknown>)[] = [
      async () => {
        if (submitted === undefined) return;
        await submitted.handle.cancel();
        await withTimeout(submitted.handle.result(), 60_000, 'job did not reach a terminal state after cancel');
      },
      async () => embedded?.close(),
      async () => prom?.stop(),
      async () => dataDir !== undefined && rm(dataDir, { recursive: true, force: true }),
    ];
    const errors: unknown[] = [];
    for (const step of steps) await step().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup after the Prometheus test failed');
  }, 180_000);

  it('scrapes the TaskManager: target up, growing record counters, slots, busy time, process metrics, naming conventions', async () => {
    const p = prom!;
    const job = submitted!.job;

    // The target is up once Prometheus has scraped it successfully. Both views are checked in one
    // step: a scrape that fails in between would set `up` to 0 for the time being.
    await eventually('the sluice target to be up', async () => {
      const targets = await p.api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets');
      const t = targets.activeTargets.find((x) => x.labels.job === SCRAPE_JOB);
      if (t?.health !== 'up') return { fail: `target ${JSON.stringify(t ?? 'missing')}` };
      const up = await p.query(`up{job="${SCRAPE_JOB}"}`);
      if (up.length !== 1 || up[0]!.value !== 1) return { fail: `up: ${JSON.stringify(up)}` };
      return { ok: true };
    });

    // Records flow: every non-sink operator emitted something, and keeps emitting.
    const outQuery = `sluice_operator_records_out_total{job="${SCRAPE_JOB}",operator!~"Sink.*|discard"}`;
    const first = await eventually('records_out of every non-sink operator to be positive', async () => {
      const series = await p.query(outQuery);
      // source + keyed process, PARALLELISM subtasks each
      if (series.length < 2 * PARALLELISM || series.some((s) => !(s.value > 0))) return { fail: JSON.stringify(series) };
      return { ok: series };
    });
    for (const s of first) {
      expect(Object.keys(s.metric)).toEqual(expect.arrayContaining(['job', 'job_name', 'job_id', 'vertex', 'operator', 'subtask', 'instance']));
      // `job` is Prometheus's scrape job; the Sluice job is `job_name`, so nothing was renamed.
      expect(s.metric.job).toBe(SCRAPE_JOB);
      expect(s.metric.job_name).toBe(METRICS_SCRAPE_JOB_NAME);
      expect(s.metric.exported_job).toBeUndefined();
      expect(s.metric.job_id).toBe(submitted!.handle.jobId);
    }
    const key = (m: Record<string, string>): string => `${m.vertex}/${m.operator}/${m.subtask}`;
    const second = await eventually('records_out to grow on a later scrape', async () => {
      const series = await p.query(outQuery);
      const before = new Map(first.map((s) => [key(s.metric), s.value]));
      const grown = series.filter((s) => s.value > (before.get(key(s.metric)) ?? Infinity));
      if (grown.length < first.length) return { fail: `grown ${grown.length} of ${first.length}: ${JSON.stringify(series)}` };
      return { ok: series };
    }, 3_000);
    expect(second.length).toBe(first.length);
    const rate = await present(p, `sum(rate(sluice_operator_records_out_total{job="${SCRAPE_JOB}"}[10s]))`);
    expect(rate[0]?.value ?? 0).toBeGreaterThan(0);

    // Slots as configured.
    expect(await present(p, `sluice_taskmanager_slots{job="${SCRAPE_JOB}",state="total"}`)).toEqual([
      expect.objectContaining({ value: SLOTS }),
    ]);

    // Busy time per subtask of every vertex of the job graph.
    const busy = await present(p, `sluice_task_busy_seconds_total{job="${SCRAPE_JOB}"}`);
    const expected = job.jobGraph.vertices.flatMap((v) => Array.from({ length: v.parallelism }, (_, i) => `${v.name}/${i}`));
    expect(busy.map((s) => `${s.metric.vertex}/${s.metric.subtask}`).sort()).toEqual(expected.sort());
    for (const s of busy) expect(s.value).toBeGreaterThanOrEqual(0);

    // Node's default metrics under their usual names.
    const rss = await present(p, `process_resident_memory_bytes{job="${SCRAPE_JOB}"}`);
    expect(rss.length).toBe(1);
    expect(rss[0]!.value).toBeGreaterThan(0);
    expect((await present(p, `nodejs_heap_size_used_bytes{job="${SCRAPE_JOB}"}`)).length).toBe(1);

    // Per-job series, once per cluster: labelled with the job only (plus Prometheus's target labels).
    const uptime = await present(p, `sluice_job_uptime_seconds{job="${SCRAPE_JOB}"}`);
    expect(uptime.map((s) => s.metric)).toEqual([
      { __name__: 'sluice_job_uptime_seconds', job: SCRAPE_JOB, instance: expect.any(String), job_name: METRICS_SCRAPE_JOB_NAME, job_id: submitted!.handle.jobId },
    ]);
    expect(uptime[0]!.value).toBeGreaterThan(0);
    expect(await present(p, `sluice_job_restarts_total{job="${SCRAPE_JOB}"}`)).toEqual([expect.objectContaining({ value: 0 })]);

    // Naming conventions, as Prometheus stored them.
    const names = (await p.api<string[]>('/api/v1/label/__name__/values')).filter((n) => n.startsWith('sluice_'));
    expect(names).toEqual(
      expect.arrayContaining([
        'sluice_operator_records_in_total',
        'sluice_operator_records_out_total',
        'sluice_task_busy_seconds_total',
        'sluice_taskmanager_slots',
        'sluice_job_restarts_total',
        'sluice_job_checkpoints_completed_total',
      ]),
    );
    const metadata = await p.api<Record<string, { type: string }[]>>('/api/v1/metadata');
    for (const name of names) {
      const types = (metadata[name] ?? []).map((m) => m.type);
      expect(types, `metadata of ${name}`).not.toEqual([]);
      if (types.includes('counter')) expect(name, `counter ${name}`).toMatch(/_total$/);
      else expect(name, `non-counter ${name}`).not.toMatch(/_total$/);
    }
    const series = await p.api<Record<string, string>[]>(`/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~"sluice_.*"}' })}`);
    expect(series.length).toBeGreaterThan(0);
    const labelNames = new Set(series.flatMap((s) => Object.keys(s)));
    for (const forbidden of ['key', 'record', 'value']) expect(labelNames.has(forbidden), `label ${forbidden}`).toBe(false);
  }, 300_000);
});

/**
 * The result of an instant query once it has any series. A failed scrape (a busy machine can
 * make one time out) marks all of the target's series stale until the next one succeeds.
 */
function present(p: PrometheusProcess, promql: string): Promise<QueriedSeries[]> {
  return eventually(`series for ${promql}`, async () => {
    const series = await p.query(promql);
    return series.length > 0 ? { ok: series } : { fail: 'no series' };
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
