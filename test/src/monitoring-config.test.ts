/**
 * The committed monitoring files on their own (no cluster): infra/prometheus/sluice.yml passes
 * `promtool check config`, the rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), the rule names follow level:metric:operations, the Grafana dashboard
 * is one Grafana imports (schema, variables, data source, layout) and covers what a user looks
 * for; and the metrics of an embedded `sluice run --metrics-port` pass `promtool check metrics`.
 * test/src/monitoring.test.ts runs the same files against a running Mesos session.
 *
 * Needs promtool (bash infra/prometheus/install.sh): without it the suite is skipped locally
 * and fails under CI=true.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses } from './cli-process.js';
import { jobPath } from './harness.js';
import {
  allPanels,
  readDashboard,
  recordedNames,
  renderScrapeConfig,
  RULES_FILE,
  RULES_TEST_FILE,
  SCRAPE_CONFIG,
  type DashboardPanel,
} from './monitoring-config.js';
import { unusedPort } from './ports.js';
import { eventually, PROMETHEUS_INSTALL_HINT, PROMTOOL_BINARY, promtool, type ToolRun } from './prometheus.js';

const IN_CI = process.env.CI === 'true';

if (PROMTOOL_BINARY === undefined && !IN_CI) console.log(`monitoring-config.test.ts: the promtool checks are skipped: no promtool on PATH; ${PROMETHEUS_INSTALL_HINT} to enable them`);

describe.runIf(PROMTOOL_BINARY === undefined && IN_CI)('promtool checks (CI)', () => {
  it('has promtool', () => {
    expect.fail(`no promtool on PATH under CI=true; ${PROMETHEUS_INSTALL_HINT} before npm test (see .ci/run)`);
  });
});

const passed = (r: ToolRun): { code: number | null; output: string } => ({ code: r.code, output: r.stdout + r.stderr });

describe.runIf(PROMTOOL_BINARY !== undefined)('infra/prometheus checked by promtool', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-promtool-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sluice.yml is valid as committed, and with its placeholders filled in it passes the full check (token file, rules, lint)', async () => {
    expect(passed(await promtool(['check', 'config', '--syntax-only', SCRAPE_CONFIG]))).toMatchObject({ code: 0 });
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'a-token-of-the-cluster-0123456789\n', { mode: 0o600 });
    const config = join(dir, 'prometheus.yml');
    await writeFile(config, renderScrapeConfig({ scheduler: 'scheduler.example:9250', rest: 'entrypoint.example:8081', tokenFile, rulesFile: RULES_FILE, interval: '15s' }));
    const r = await promtool(['check', 'config', '--lint=all', '--lint-fatal', config]);
    expect(passed(r)).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the rules pass the lint and their unit tests', async () => {
    expect(passed(await promtool(['check', 'rules', '--lint=all', '--lint-fatal', RULES_FILE]))).toMatchObject({ code: 0 });
    const tested = await promtool(['test', 'rules', RULES_TEST_FILE]);
    expect(passed(tested)).toMatchObject({ code: 0 });
    expect(tested.stdout).toMatch(/SUCCESS/);
  });
});

describe('infra/prometheus/rules', () => {
  it("name every recording level:metric:operations over Sluice's series, and unit-test every alert", () => {
    const names = recordedNames();
    expect(names.length).toBeGreaterThan(10);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z_]*:sluice_[a-z_]+:[a-z0-9_]+$/);
    const rules = readFileSync(RULES_FILE, 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
    expect(alerts.length).toBeGreaterThan(0);
    const tested = new Set([...readFileSync(RULES_TEST_FILE, 'utf8').matchAll(/alertname:\s*(\S+)/g)].map((m) => m[1]!));
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
  });
});

describe('infra/grafana/sluice-dashboard.json', () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);
  const queryPanels = panels.filter((p) => p.type !== 'row');
  const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

  it('is a dashboard Grafana imports: schema version, uid, a Prometheus data source variable, cluster and job variables', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['cluster', 'job_name']) {
      expect(vars.get(name), name).toMatchObject({ type: 'query', datasource: DATASOURCE, includeAll: true, multi: true, allValue: '.*' });
      expect(vars.get(name)!.definition).toMatch(/^label_values\(.+, \w+\)$/);
      expect(vars.get(name)!.query).toMatchObject({ query: vars.get(name)!.definition });
    }
  });

  it('queries the variable data source from every panel and target, with unique ids and refIds, laid out on the 24-column grid without overlaps', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, `${p.title} at ${JSON.stringify(p.gridPos)}`).toBe(true);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
    for (const p of queryPanels) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.datasource, `${p.title} / ${t.refId}`).toEqual(DATASOURCE);
        expect(t.expr.trim(), `${p.title} / ${t.refId}`).not.toBe('');
        // Every query follows the cluster picker; every per-job one the job picker too.
        expect(t.expr, `${p.title} / ${t.refId}`).toContain('cluster=~"$cluster"');
        if (/(^|[^a-z_])job_name[_:]|sluice_job_/.test(t.expr)) expect(t.expr, `${p.title} / ${t.refId}`).toContain('job_name=~"$job_name"');
      }
    }
  });

  it('shows what the issue asks for, mostly through the recording rules', () => {
    const exprs = (p: DashboardPanel): string => (p.targets ?? []).map((t) => t.expr).join('\n');
    const all = queryPanels.map(exprs).join('\n');
    for (const series of [
      'sluice_operator_records_in', 'sluice_operator_records_out', 'sluice_task_busy', 'sluice_task_backpressured', 'sluice_task_watermark_lag_seconds',
      'sluice_kafka_consumer_lag', 'sluice_job_checkpoints_completed', 'sluice_job_checkpoints_failed', 'sluice_job_last_checkpoint_duration_seconds',
      'sluice_job_restarts', 'sluice_taskmanager_slots', 'sluice_taskmanagers', 'sluice_mesos_workers', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(all, series).toContain(series);
    }
    const recorded = recordedNames();
    const usingRules = queryPanels.filter((p) => recorded.some((r) => exprs(p).includes(r)));
    expect(usingRules.length).toBeGreaterThan(queryPanels.length / 2);
  });
});

describe.runIf(PROMTOOL_BINARY !== undefined)('an embedded `sluice run --metrics-port`', () => {
  let home = '';
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-run-metrics-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('serves metrics that pass promtool check metrics while a job runs', async () => {
    const procs = cliProcesses(home);
    const port = await unusedPort();
    const run = procs.start(['run', jobPath('metrics-scrape.ts'), '-p', '2', '--metrics-port', String(port)]);
    try {
      // Once the per-job series are there, the scrape holds every kind of series the TaskManager serves.
      const text = await eventually(
        'the job series on /metrics',
        async () => {
          if (run.child.exitCode !== null) throw new Error(`sluice run exited ${run.child.exitCode}: ${run.out.stderr}`);
          const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return /^sluice_job_uptime_seconds\{/m.test(body) && /^sluice_task_busy_seconds_total\{/m.test(body) ? { ok: body } : { fail: 'no job or task series yet' };
        },
        0,
        120_000,
      );
      expect(passed(await promtool(['check', 'metrics'], { stdin: text }))).toEqual({ code: 0, output: '' });
    } finally {
      procs.killAll();
      await run.done;
    }
  }, 180_000);
});
