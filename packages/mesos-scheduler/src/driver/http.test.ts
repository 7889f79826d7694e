import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, offer, openTestingStore, reportMessage, startDriver, status, type Harness, type TestingStore } from './driver.test-helper.js';
import { createSchedulerHttpServer, type SchedulerHttpServer } from './http.js';

let s: TestingStore;
let h: Harness | undefined;
let server: SchedulerHttpServer | undefined;

beforeEach(async () => {
  s = await openTestingStore();
});

afterEach(async () => {
  const unencodable = h?.conn.unencodable ?? [];
  await server?.close();
  server = undefined;
  await h?.driver.close();
  h = undefined;
  await s.close();
  expect(unencodable).toEqual([]);
});

function get(url: string, o: { method?: string; token?: string } = {}): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.token === undefined ? {} : { Authorization: `Bearer ${o.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Two running TaskManagers (taskmanager-1 on host-1, -2 on host-2). */
async function running(): Promise<Harness> {
  h = await startDriver(s);
  await h.conn.subscribed('fw-1');
  await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 4 });
  await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 4 });
  h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-1', 'host-1'), offer('o2', 'agent-2', 'host-2')] } });
  await eventually('the launches', () => h!.conn.of('ACCEPT').length === 2);
  h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
  h.conn.push(status('taskmanager-2', 'TASK_RUNNING'));
  await eventually('both running', () => h!.events.started.length === 2);
  return h;
}

describe('executor reports and service discovery', () => {
  it('lists every running TaskManager that reported a metrics address, with framework, agent host and task id', async () => {
    h = await running();
    h.conn.push(reportMessage('taskmanager-1', { metricsAddress: 'host-1:31002', slots: { total: 4, free: 1 }, at: 10 }));
    h.conn.push(reportMessage('taskmanager-2', { phase: 'starting', slots: { total: 4, free: 4 }, at: 10 })); // no address yet
    await eventually('the report', () => h!.driver.httpSdTargets().length === 1);
    expect(h.driver.httpSdTargets()).toEqual([{ targets: ['host-1:31002'], labels: { framework_id: 'fw-1', agent_host: 'host-1', task_id: 'taskmanager-1' } }]);
    // An older report arriving late changes nothing; a TaskManager that exited or ended leaves the list.
    h.conn.push(reportMessage('taskmanager-1', { metricsAddress: 'host-1:39999', at: 5 }));
    h.conn.push(reportMessage('taskmanager-2', { metricsAddress: 'host-2:31102', at: 11 }));
    await eventually('the second target', () => h!.driver.httpSdTargets().length === 2);
    expect(h.driver.httpSdTargets().map((g) => g.targets[0])).toEqual(['host-1:31002', 'host-2:31102']);
    h.conn.push(reportMessage('taskmanager-2', { phase: 'exited', at: 12 }));
    h.conn.push(status('taskmanager-1', 'TASK_FAILED'));
    await eventually('both gone', () => h!.driver.httpSdTargets().length === 0);
    // The executor's last report after its task's end is expected, not a warning.
    h.conn.push(reportMessage('taskmanager-1', { phase: 'exited', at: 13 }));
    await eventually('the late report counted', async () => (await h!.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_framework_messages_total')).includes('result="ignored"} 1'));
    expect(h.lines.filter((l) => l.includes('WARN') && l.includes('ignoring'))).toEqual([]);
  });

  it('vouches for a TaskManager its executor reported registered lately, for the ResourceManager to keep when RPC breaks', async () => {
    h = await running();
    expect(h.driver.isWorkerReportedAlive('rm-1')).toBe(false);
    h.conn.push(reportMessage('taskmanager-1', { at: 10 }));
    h.conn.push(reportMessage('taskmanager-2', { phase: 'starting', at: 10 }));
    await eventually('the report', () => h!.driver.isWorkerReportedAlive('rm-1'));
    // Starting is not registered; an unknown worker has no executor to vouch for it.
    expect(h.driver.isWorkerReportedAlive('rm-2')).toBe(false);
    expect(h.driver.isWorkerReportedAlive('rm-9')).toBe(false);
    // Only while the report is fresh (30 s by default) ...
    h.timers.advance(30_001);
    expect(h.driver.isWorkerReportedAlive('rm-1')).toBe(false);
    h.conn.push(reportMessage('taskmanager-1', { at: 11 }));
    await eventually('the next report', () => h!.driver.isWorkerReportedAlive('rm-1'));
    // ... and not once the executor says its TaskManager exited.
    h.conn.push(reportMessage('taskmanager-1', { phase: 'exited', at: 12 }));
    await eventually('the exit', () => !h!.driver.isWorkerReportedAlive('rm-1'));
  });

  it('ignores an unreadable report, one about a task it did not launch, and one from another executor', async () => {
    h = await running();
    h.conn.push({ type: 'MESSAGE', message: { agent_id: { value: 'agent-1' }, executor_id: { value: 'taskmanager-1-executor' }, data: Buffer.from('{"v":1,"kind":"taskmanager-report"') } });
    h.conn.push(reportMessage('taskmanager-77', { metricsAddress: 'evil:1' }));
    h.conn.push(reportMessage('taskmanager-1', { metricsAddress: 'evil:1' }, 'taskmanager-2-executor'));
    h.conn.push(reportMessage('taskmanager-2', { metricsAddress: 'not an address', at: 3 }));
    await eventually('four messages handled', async () => / 3$/m.test(await h!.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_framework_messages_total')));
    expect(h.driver.httpSdTargets()).toEqual([]);
    expect(h.lines.filter((l) => l.includes('WARN') && /ignoring|not host:port/.test(l))).toHaveLength(4);
    expect(h.events.terminated).toEqual([]); // nothing crashed, the workers run on
  });

  it('serves /metrics, /http_sd and /healthz over HTTP, GET only, with the bearer token when one is set', async () => {
    h = await running();
    h.conn.push(reportMessage('taskmanager-1', { metricsAddress: 'host-1:31002', slots: { total: 4, free: 3 }, at: 10 }));
    await eventually('the report', () => h!.driver.httpSdTargets().length === 1);
    const token = 'a-metrics-token-of-enough-length';
    server = await createSchedulerHttpServer({ port: 0, token, registry: h.driver.metrics.registry, driver: h.driver });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const metrics = await get(`${server.url}/metrics`, { token });
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('sluice_mesos_offers_received_total 2');
    expect(metrics.body).toContain('sluice_mesos_offers_used_total 2');
    expect(metrics.body).toContain('sluice_mesos_task_launches_total 2');
    expect(metrics.body).toContain('sluice_mesos_subscribed 1');
    expect(metrics.body).toContain('sluice_mesos_workers{state="running"} 2');
    expect(metrics.body).toContain('sluice_mesos_taskmanager_slots{task_id="taskmanager-1",slots="free"} 3');
    expect(metrics.body).toContain('sluice_mesos_taskmanager_slots{task_id="taskmanager-1",slots="total"} 4');

    const sd = await get(`${server.url}/http_sd`, { token });
    expect(sd.status).toBe(200);
    expect(sd.type).toBe('application/json');
    expect(JSON.parse(sd.body)).toEqual([{ targets: ['host-1:31002'], labels: { framework_id: 'fw-1', agent_host: 'host-1', task_id: 'taskmanager-1' } }]);

    expect((await get(`${server.url}/http_sd`)).status).toBe(401);
    expect((await get(`${server.url}/metrics`, { token: 'wrong-token-wrong-token-wrong' })).status).toBe(401);
    expect((await get(`${server.url}/http_sd`, { method: 'POST', token })).status).toBe(405);
    const missing = await get(`${server.url}/metrics/../etc/passwd`, { token });
    expect(missing.status).toBe(404);
    expect(missing.body).not.toContain('passwd');
    const health = await get(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ state: 'running', subscribed: true, frameworkId: 'fw-1' });
  });

  it('serves the registered artifacts to fetchers without the token, and only those names', async () => {
    h = await startDriver(s);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-artifacts-'));
    try {
      const file = join(dir, 'sluice.tar.gz');
      writeFileSync(file, 'the package bytes');
      writeFileSync(join(dir, 'other.txt'), 'not registered');
      server = await createSchedulerHttpServer({ port: 0, token: 'a-token-of-twenty-chars', registry: h.driver.metrics.registry, driver: h.driver, artifacts: new Map([['sluice-abc.tar.gz', file]]) });
      const got = await get(`${server.url}/artifacts/sluice-abc.tar.gz`);
      expect(got).toMatchObject({ status: 200, type: 'application/octet-stream', body: 'the package bytes' });
      expect((await get(`${server.url}/artifacts/sluice-abc.tar.gz`, { method: 'HEAD' })).headers['content-length']).toBe('17');
      expect((await get(`${server.url}/artifacts/other.txt`)).status).toBe(404);
      expect((await get(`${server.url}/artifacts/..%2Fother.txt`)).status).toBe(404);
      expect((await get(`${server.url}/artifacts/sluice-abc.tar.gz`, { method: 'POST' })).status).toBe(404);
      expect((await get(`${server.url}/metrics`)).status).toBe(401);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks a token function on every request: 503 until it knows the token, then the bearer token is required', async () => {
    h = await startDriver(s);
    let token: string | undefined;
    server = await createSchedulerHttpServer({ port: 0, token: () => token, registry: h.driver.metrics.registry, driver: h.driver });
    expect((await get(`${server.url}/metrics`)).status).toBe(503);
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    token = 'the-cluster-rest-token-0123';
    expect((await get(`${server.url}/http_sd`)).status).toBe(401);
    expect((await get(`${server.url}/http_sd`, { token: 'wrong-token-of-some-length' })).status).toBe(401);
    expect((await get(`${server.url}/http_sd`, { token })).status).toBe(200);
  });

  it('refuses a short token at the edge', async () => {
    h = await startDriver(s);
    await expect(createSchedulerHttpServer({ port: 0, token: 'short', registry: h.driver.metrics.registry, driver: h.driver })).rejects.toMatchObject({ code: 'CONFIGURATION' });
  });
});
