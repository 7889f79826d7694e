/**
 * The Marathon fake itself: Marathon's answers to a user's curl, and the task environment,
 * secrets and health checks an app sees — so the walkthrough and app-definition tests that use
 * it test the app, not the fake.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './leaks.js';
import { startMarathon, type MarathonFake } from './marathon-fake/index.js';
import { isRunning } from './processes.js';

const dirs: string[] = [];
const fakes: MarathonFake[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function marathon(): Promise<MarathonFake> {
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-marathon-'));
  dirs.push(workDir);
  const m = await startMarathon({ workDir });
  fakes.push(m);
  return m;
}

async function call(m: MarathonFake, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${m.url}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': contentType } }) });
  return { status: res.status, json: await res.json() };
}

/** A server on $PORT_HTTP answering /healthz, and /env with what the task was given. */
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  res.end(JSON.stringify({ env: process.env, file: fs.readFileSync(process.env.MESOS_SANDBOX + '/secrets/token', 'utf8'), cwd: process.cwd() }));
}).listen(Number(process.env.PORT_HTTP), process.env.HOST);
process.on('SIGTERM', () => { console.log('terminated'); process.exit(0); });
`;

const APP = {
  id: '/demo/server',
  args: [process.execPath, '-e', SERVER],
  instances: 1,
  cpus: 0.5,
  mem: 64,
  env: { PLAIN: 'value', FROM_SECRET: { secret: 'pw' } },
  secrets: { pw: { source: 'demo/password' }, token: { source: 'demo/token' } },
  portDefinitions: [{ port: 0, name: 'http' }, { port: 0, name: 'other' }],
  container: { type: 'MESOS', volumes: [{ containerPath: 'secrets/token', secret: 'token' }] },
  healthChecks: [{ protocol: 'MESOS_HTTP', path: '/healthz', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 5, gracePeriodSeconds: 30 }],
};

describe('the Marathon fake', () => {
  it('runs an app with Marathon\'s task environment, its secrets as env and file, reports it healthy, and kills it on DELETE', async () => {
    const m = await marathon();
    m.setSecret('demo/password', 'hunter2');
    // As on DC/OS: the secret store's HTTP API, and Marathon under /service/marathon.
    const put = await fetch(`${m.url}/secrets/v1/secret/default/demo/token`, { method: 'PUT', body: JSON.stringify({ value: 'tok-123' }), headers: { 'Content-Type': 'application/json' } });
    expect(put.status).toBe(201);
    const created = await call(m, 'POST', '/service/marathon/v2/apps', APP);
    expect(created.status).toBe(201);
    expect(created.json.id).toBe('/demo/server');

    const app = await waitFor('the app to be healthy', async () => {
      const r = await call(m, 'GET', '/v2/apps/demo/server');
      return r.json.app.tasksHealthy === 1 ? r.json.app : undefined;
    }, 30_000);
    const [task] = app.tasks;
    expect(task.ports).toHaveLength(2);
    const seen = (await (await fetch(`http://127.0.0.1:${task.ports[0]}/env`)).json()) as { env: Record<string, string>; file: string; cwd: string };
    expect(seen.file).toBe('tok-123');
    expect(seen.env).toMatchObject({
      PLAIN: 'value',
      FROM_SECRET: 'hunter2',
      PORT0: String(task.ports[0]),
      PORT1: String(task.ports[1]),
      PORT: String(task.ports[0]),
      PORTS: `${task.ports[0]},${task.ports[1]}`,
      PORT_HTTP: String(task.ports[0]),
      PORT_OTHER: String(task.ports[1]),
      HOST: '127.0.0.1',
      MARATHON_APP_ID: '/demo/server',
      MESOS_TASK_ID: task.id,
      MESOS_SANDBOX: seen.cwd,
    });

    expect((await call(m, 'POST', '/v2/apps', APP)).json).toEqual({ message: 'An app with id [/demo/server] already exists.' });
    const pid = m.task('/demo/server')!.pid!;
    expect((await call(m, 'DELETE', '/v2/apps/demo/server')).status).toBe(200);
    await waitFor('the task to end', () => (isRunning(pid) ? undefined : true), 30_000);
    expect((await call(m, 'GET', '/v2/apps/demo/server')).status).toBe(404);
  }, 60_000);

  it('answers a failing health check as unhealthy, with the cause', async () => {
    const m = await marathon();
    m.setSecret('demo/password', 'x');
    m.setSecret('demo/token', 'y');
    await call(m, 'POST', '/v2/apps', { ...APP, healthChecks: [{ ...APP.healthChecks[0], path: '/missing-is-200-here', portIndex: 1 }] });
    const app = await waitFor('a failed health check', async () => {
      const a = (await call(m, 'GET', '/v2/apps/demo/server')).json.app;
      return a.tasks[0]?.healthCheckResults[0]?.consecutiveFailures > 0 ? a : undefined;
    }, 30_000);
    expect(app.tasksHealthy).toBe(0);
    expect(app.tasksUnhealthy).toBe(1);
    expect(app.tasks[0].healthCheckResults[0].lastFailureCause).toMatch(/ECONNREFUSED/);
  }, 60_000);

  it('refuses what Marathon refuses: a body that is not JSON, an invalid id, cmd and args together, an unknown app', async () => {
    const m = await marathon();
    expect((await call(m, 'POST', '/v2/apps', 'id=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    const bad = await call(m, 'POST', '/v2/apps', { id: '/Bad_Id', cmd: 'true' });
    expect(bad.status).toBe(422);
    expect(bad.json).toEqual({ message: 'Object is not valid', details: [{ path: '/id', errors: ['must fully match regular expression'] }] });
    expect((await call(m, 'POST', '/v2/apps', { id: '/x', cmd: 'true', args: ['true'] })).json.details).toEqual([{ path: '/', errors: ["AppDefinition must not contain both 'cmd' and 'args'."] }]);
    expect((await call(m, 'GET', '/v2/apps/nope')).json).toEqual({ message: "App '/nope' does not exist" });
  });
});
