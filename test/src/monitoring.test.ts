/**
 * Monitoring out of the box, end to end: a real Kafka broker, `sluice mesos-session` on the Mesos
 * fake running the fraud-detection job over Kafka at parallelism 2 (two TaskManager processes),
 * and Debian's Prometheus started with the COMMITTED infra/prometheus/sluice.yml, of which only
 * the placeholders are replaced (addresses, token file, rule file, intervals). Checks that every
 * target is up (the scheduler, the entrypoint, and exactly the TaskManagers /http_sd lists and the
 * fake runs), that Prometheus sends the cluster token where the config says, that every rule of
 * rules/sluice.rules.yml evaluates and records data, that every query of the Grafana dashboard
 * (and its variables) returns series, that no alert fires on the healthy cluster, and that
 * `promtool check metrics` accepts every /metrics this cluster serves.
 *
 * Needs `prometheus` and `promtool` (bash infra/prometheus/install.sh) and the Kafka test broker:
 * without Prometheus it is skipped locally and fails under CI=true; the broker follows the Kafka
 * tests' policy (kafka-global-setup.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { examplePath, runJob } from './harness.js';
import { KafkaTestKit } from './kafka-test-kit.js';
import { startAuthGate, type AuthGate } from './monitoring-auth-gate.js';
import { allPanels, readDashboard, recordedNames, renderScrapeConfig, resolveQuery, RULES_FILE, SCRAPE_JOBS } from './monitoring-config.js';
import { httpSdTaskIds, jobRunning, restTokenOf, SMALL_TASKMANAGER, startMesosSession, submitDetached, waitForCheckpoints, type MesosSession } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { eventually, PROMETHEUS_BINARY, PROMETHEUS_INSTALL_HINT, PROMTOOL_BINARY, promtool, startPrometheus, type PrometheusProcess } from './prometheus.js';

const bootstrap = inject('kafkaBootstrap');
const HAVE_PROMETHEUS = PROMETHEUS_BINARY !== undefined && PROMTOOL_BINARY !== undefined;
const IN_CI = process.env.CI === 'true';
const JOB_NAME = 'fraud-detection';
/** Generous: only a hang should fail a wait (a scrape, a rule evaluation and a rate window each take a few seconds). */
const DATA_TIMEOUT_MS = 180_000;

if (!HAVE_PROMETHEUS && !IN_CI) console.log(`monitoring.test.ts skipped: no prometheus or promtool on PATH; ${PROMETHEUS_INSTALL_HINT} to enable it`);

describe.runIf(!HAVE_PROMETHEUS && IN_CI)('monitoring a Mesos session (CI)', () => {
  it('has prometheus and promtool', () => {
    expect.fail(`no prometheus or promtool on PATH under CI=true; ${PROMETHEUS_INSTALL_HINT} before npm test (see .ci/run)`);
  });
});

const bed = mesosTestBed('sluice-monitoring-');

describe.runIf(HAVE_PROMETHEUS && bootstrap !== '')('monitoring a Mesos session with the committed Prometheus configuration and Grafana dashboard', () => {
  it('scrapes every target with the token, records every rule, answers every dashboard query, and promtool accepts every /metrics', async () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    try {
      const kit = new KafkaTestKit(bootstrap, 'monitoring-test');
      await kit.open();
      cleanup.push(() => kit.close());
      const transactions = await kit.topic(3);
      const alerts = await kit.topic(1);
      const produced = await runJob(examplePath('fraud-produce.ts'), { params: { bootstrap, topic: transactions, events: '20000' } });
      expect(produced.error?.message).toBeUndefined();

      const mesos = await bed.start({ agents: [{}, {}], allocationIntervalMs: 200 });
      const session = await startMesosSession(bed.procs, bed.home, 'session', mesos, SMALL_TASKMANAGER);
      bed.show(session);
      cleanup.push(() => bed.stopSession(mesos, session));
      // Unbounded, so it keeps running; checkpoints every second, so their series exist.
      const jobId = await submitDetached(session, examplePath('fraud-detection.ts'), [
        '-p', '2', '-D', 'source=kafka', '-D', `bootstrap=${bootstrap}`, '-D', `input-topic=${transactions}`, '-D', `output-topic=${alerts}`,
        '--checkpoint-interval', '1s',
      ]);
      await jobRunning(session, jobId);
      bed.remember(mesos);
      await waitForCheckpoints(session, jobId, 1);
      const running = (): string[] => mesos.tasks().filter((t) => t.state === 'TASK_RUNNING').map((t) => t.taskId).sort();
      expect(running().length).toBeGreaterThanOrEqual(2);
      const listed = await eventually('/http_sd to list every running TaskManager', async () => {
        const ids = await httpSdTaskIds(session);
        return ids.length > 0 && JSON.stringify(ids) === JSON.stringify(running()) ? { ok: ids } : { fail: `http_sd ${ids.join(',')}; running ${running().join(',')}` };
      });

      // Prometheus, with the committed configuration, in front of gates that want the token.
      const token = restTokenOf(session);
      const tokenFile = join(session.env.SLUICE_HOME!, `rest-${new URL(session.restUrl).port}.token`);
      const schedulerGate = await startAuthGate(new URL(session.schedulerUrl).host, token);
      cleanup.push(() => schedulerGate.close());
      const restGate = await startAuthGate(new URL(session.restUrl).host, token);
      cleanup.push(() => restGate.close());
      const dir = await mkdtemp(join(bed.home, 'prometheus-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const config = join(dir, 'prometheus.yml');
      await writeFile(config, renderScrapeConfig({ scheduler: schedulerGate.address, rest: restGate.address, tokenFile, rulesFile: RULES_FILE, interval: '1s' }));
      const checked = await promtool(['check', 'config', '--lint=all', '--lint-fatal', config]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
      const prom = await startPrometheus(PROMETHEUS_BINARY!, config, join(dir, 'tsdb'));
      cleanup.push(() => prom.stop());

      const targets = await everyTargetUp(prom, listed).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\nrefused by the gates: ${[...schedulerGate.refused, ...restGate.refused].join(', ') || 'nothing'}\nprometheus log: ${prom.log()}`);
      });
      expect(targets.taskManagers.map((t) => t.labels.taskmanager).sort()).toEqual(running());
      const frameworkId = mesos.tasks()[0]?.frameworkId;
      for (const t of targets.taskManagers) {
        expect(t.labels).toMatchObject({ cluster: 'sluice', framework_id: frameworkId, agent_host: expect.stringMatching(/^127\./) });
        expect(t.labels.task_id).toBeUndefined();
      }
      // Every series of a TaskManager carries its task id as `taskmanager`.
      expect((await prom.query('count by (taskmanager) (sluice_taskmanager_slots{state="total"})')).map((s) => s.metric.taskmanager).sort()).toEqual(running());

      await everyRuleRecords(prom);
      await everyDashboardQueryAnswers(prom);
      // A healthy cluster raises no alert (none of the rules' `for` windows has even passed).
      expect((await prom.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts.filter((a) => a.state === 'firing')).toEqual([]);

      // The token went with every request to the scheduler (scrapes and http_sd) and the REST API.
      expectOnlyAuthorized(schedulerGate, ['/metrics', '/http_sd']);
      expectOnlyAuthorized(restGate, ['/metrics']);

      await everyEndpointPassesPromtool(session, targets.taskManagers.map((t) => t.scrapeUrl));
    } finally {
      const errors: unknown[] = [];
      for (const step of cleanup.reverse()) await step().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw new AggregateError(errors, 'cleanup after the monitoring test failed');
    }
  }, 600_000);
});

interface Target {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

/** Waits until the scheduler, the entrypoint and exactly the TaskManagers `/http_sd` listed are up. */
async function everyTargetUp(prom: PrometheusProcess, taskIds: readonly string[]): Promise<{ taskManagers: Target[] }> {
  return eventually(
    'every target up',
    async () => {
      const { activeTargets } = await prom.api<{ activeTargets: Target[] }>('/api/v1/targets?state=active');
      const of = (job: string): Target[] => activeTargets.filter((t) => t.labels.job === job);
      const problems: string[] = [];
      for (const t of activeTargets) if (t.health !== 'up') problems.push(`${t.scrapePool} ${t.scrapeUrl}: ${t.health} ${t.lastError}`);
      if (of(SCRAPE_JOBS.scheduler).length !== 1) problems.push(`${of(SCRAPE_JOBS.scheduler).length} scheduler targets`);
      if (of(SCRAPE_JOBS.entrypoint).length !== 1) problems.push(`${of(SCRAPE_JOBS.entrypoint).length} entrypoint targets`);
      const tms = of(SCRAPE_JOBS.taskManagers);
      const names = tms.map((t) => t.labels.taskmanager ?? '?').sort();
      if (JSON.stringify(names) !== JSON.stringify(taskIds)) problems.push(`TaskManager targets ${names.join(',')}, /http_sd listed ${taskIds.join(',')}`);
      if (activeTargets.length !== 2 + taskIds.length) problems.push(`${activeTargets.length} targets in all`);
      return problems.length === 0 ? { ok: { taskManagers: tms } } : { fail: problems.join('; ') };
    },
    0,
    DATA_TIMEOUT_MS,
  );
}

/** Every rule Prometheus loaded is healthy, the recording rules are the file's, and each records a series. */
async function everyRuleRecords(prom: PrometheusProcess): Promise<void> {
  const names = recordedNames();
  expect(names.length).toBeGreaterThan(10);
  await eventually(
    'every recording rule to return a series',
    async () => {
      const { groups } = await prom.api<{ groups: { rules: { type: string; name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
      const rules = groups.flatMap((g) => g.rules);
      // The API lists the groups by name, not in file order.
      const loaded = rules.filter((r) => r.type === 'recording').map((r) => r.name).sort();
      if (JSON.stringify(loaded) !== JSON.stringify([...names].sort())) return { fail: `Prometheus loaded the recording rules ${loaded.join(', ')}` };
      const unhealthy = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
      const empty: string[] = [];
      for (const name of names) if ((await prom.query(name)).length === 0) empty.push(name);
      return unhealthy.length === 0 && empty.length === 0 ? { ok: true } : { fail: `unhealthy: [${unhealthy.join('; ')}]; no data: [${empty.join(', ')}]` };
    },
    0,
    DATA_TIMEOUT_MS,
  );
}

/**
 * Every target of every panel, with the variables as a user picks them (the running job, all
 * clusters), returns series; so does each query variable's query.
 */
async function everyDashboardQueryAnswers(prom: PrometheusProcess): Promise<void> {
  const dashboard = readDashboard();
  const values = { cluster: '.*', job_name: JOB_NAME };
  const queries = allPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} / ${t.refId}`, promql: resolveQuery(t.expr, values) })));
  expect(queries.length).toBeGreaterThan(15);
  await eventually(
    'every dashboard query to return series',
    async () => {
      const empty: string[] = [];
      for (const q of queries) if ((await prom.query(q.promql)).length === 0) empty.push(`${q.where}: ${q.promql}`);
      return empty.length === 0 ? { ok: true } : { fail: `no data for ${empty.join(' | ')}` };
    },
    0,
    DATA_TIMEOUT_MS,
  );
  // label_values(<selector>, <label>) as Grafana asks Prometheus for it.
  const expected: Record<string, string> = { cluster: 'sluice', job_name: JOB_NAME };
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition ?? '');
    expect(m, `variable ${v.name}: ${v.definition}`).not.toBeNull();
    const selector = resolveQuery(m![1]!, values);
    const got = await prom.api<string[]>(`/api/v1/label/${m![2]}/values?${new URLSearchParams({ 'match[]': selector })}`);
    expect(got, `values of $${v.name}`).toContain(expected[v.name]);
  }
}

function expectOnlyAuthorized(gate: AuthGate, paths: string[]): void {
  expect(gate.refused).toEqual([]);
  for (const path of paths) expect(gate.forwarded.get(path) ?? 0, `requests with the token for ${path}`).toBeGreaterThan(0);
}

/** `promtool check metrics` (format and lint) on each /metrics the session serves. */
async function everyEndpointPassesPromtool(session: MesosSession, taskManagerUrls: string[]): Promise<void> {
  const endpoints = [`${session.schedulerUrl}/metrics`, `${session.restUrl}/metrics`, ...taskManagerUrls];
  expect(taskManagerUrls.length).toBeGreaterThanOrEqual(2);
  const headers = { Authorization: `Bearer ${restTokenOf(session)}` };
  for (const url of endpoints) {
    const res = await fetch(url, { headers });
    expect(res.status, url).toBe(200);
    const text = await res.text();
    const r = await promtool(['check', 'metrics'], { stdin: text });
    expect({ url, code: r.code, out: r.stdout + r.stderr }).toEqual({ url, code: 0, out: '' });
  }
}
