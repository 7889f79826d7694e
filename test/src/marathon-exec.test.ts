/**
 * The apps posted to Marathon (the Marathon fake, marathon-fake/) as a user posts them, against
 * the Mesos fake: infra/marathon's app and the DC/OS package rendered with its defaults. Marathon
 * starts each from its own cmd or args and env in a sandbox holding its secret volumes, with
 * PORT0.., HOST and MESOS_SANDBOX; it must turn healthy by its own health check, register its framework (authenticated with the
 * principal's secret file where it has one), start its kept TaskManager through the executor
 * "in the image", serve the REST API with the token from its secret file, show no secret on its
 * command line or in its environment, and on SIGTERM stop everything and remove the framework.
 *
 * The image itself is not run here: the command runs on this host, with shims for the image's
 * `sluice` and `sluice-mesos-executor` on PATH (marathon-exec.ts). Two values of the apps' env are
 * changed before posting, and only these: SLUICE_MESOS_MASTER (the fake instead of zk://master.mesos) and
 * SLUICE_BIND_HOST (127.0.0.1, as every test server binds, instead of 0.0.0.0).
 */
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './leaks.js';
import { loadDcosPackage, renderDcosPackage } from './dcos-render.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { imageShims, visibleToTheAgent } from './marathon-exec.js';
import { startMarathon, type MarathonFake } from './marathon-fake/index.js';
import type { MarathonTask } from './marathon-fake/task.js';
import { MARATHON_DIR, type MarathonApp } from './marathon-schema.js';

const bed = mesosTestBed('sluice-marathon-exec-');
let marathon: MarathonFake | undefined;

afterEach(async () => {
  // A test that failed midway leaves its task running: Marathon's close kills it.
  await marathon?.close();
  marathon = undefined;
});

const IMAGE = 'sluice/agent:0.1.0';
const AGENT = { resources: 'cpus:4;mem:8192;disk:1000;ports:[31000-31099]' };
const NO_JOB = '0'.repeat(32);

async function startOnFake(app: MarathonApp, secrets: Record<string, string>, authenticate?: { principal: string; secret: string }): Promise<{ mesos: MesosCluster; task: MarathonTask }> {
  const shims = imageShims(join(bed.home, 'image-bin'));
  // The fake "runs" the image's executor on this host with the image's PATH: the shims.
  const mesos = await bed.start({
    agents: [AGENT],
    allocationIntervalMs: 200,
    images: { [IMAGE]: { env: { PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}` } } },
    ...(authenticate === undefined ? {} : { authenticate }),
  });
  // The app runs as its `user` (nobody): the way to its sandbox must be open to it.
  chmodSync(bed.home, 0o755);
  const m = await startMarathon({ workDir: join(bed.home, 'marathon'), agentEnv: { PATH: `${shims}:/usr/local/bin:/usr/bin:/bin`, NO_COLOR: '1' }, probeIntervalMs: 500 });
  marathon = m;
  for (const [source, value] of Object.entries(secrets)) m.setSecret(source, value);
  const posted = { ...app, env: { ...app.env, SLUICE_MESOS_MASTER: mesos.masterAddress, SLUICE_BIND_HOST: '127.0.0.1' } };
  const res = await fetch(`${m.url}/v2/apps`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(posted) });
  expect(res.status, await res.clone().text()).toBe(201);
  const task = await waitFor('Marathon to start the task', () => m.task(app.id));
  bed.show({ output: () => task.output() });
  return { mesos, task };
}

/** Marathon's view of the app until it counts the task healthy; then what the health check's endpoint answers. */
async function waitHealthy(app: MarathonApp, t: MarathonTask): Promise<{ status: number; body: string }> {
  await waitFor(
    'Marathon to count the task healthy',
    async () => {
      if (t.exit !== undefined) throw new Error(`the task ended before it was healthy\n${t.output()}`);
      const view = (await (await fetch(`${marathon!.url}/v2/apps${app.id}`)).json()) as { app: { tasksHealthy: number } };
      return view.app.tasksHealthy === 1 ? true : undefined;
    },
    120_000,
  );
  const check = app.healthChecks![0]!;
  const res = await fetch(`http://127.0.0.1:${t.ports[check.portIndex ?? 0]!}${check.path ?? '/'}`);
  return { status: res.status, body: await res.text() };
}

/** POST /jobs/<none>/cancel: 401 without the token or with a wrong one, 404 (no such job) with the right one. */
async function restAnswersWith(restPort: number, token: string): Promise<void> {
  const cancel = (authorization?: string) =>
    fetch(`http://127.0.0.1:${restPort}/jobs/${NO_JOB}/cancel`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(authorization === undefined ? {} : { Authorization: authorization }) } }).then((r) => r.status);
  expect(await cancel()).toBe(401);
  expect(await cancel(`Bearer ${'x'.repeat(43)}`)).toBe(401);
  expect(await cancel(`Bearer ${token}`)).toBe(404);
}

/** The REST API up and one TaskManager, started by the executor from the image, registered. */
async function taskManagerRegistered(restPort: number, t: MarathonTask): Promise<void> {
  await waitFor(
    'one TaskManager registered at the REST API',
    async () => {
      if (t.exit !== undefined) throw new Error(`the task exited\n${t.output()}`);
      const res = await fetch(`http://127.0.0.1:${restPort}/overview`).catch(() => undefined);
      const overview = res?.ok === true ? ((await res.json()) as { taskManagers: number }) : undefined;
      return overview !== undefined && overview.taskManagers === 1 ? true : undefined;
    },
    120_000,
  );
}

/** DELETE the app: Marathon kills the task with SIGTERM; the scheduler stops its TaskManager and removes the framework. */
async function stopsOnSigterm(mesos: MesosCluster, app: MarathonApp, t: MarathonTask): Promise<void> {
  bed.remember(mesos);
  expect((await fetch(`${marathon!.url}/v2/apps${app.id}`, { method: 'DELETE' })).status).toBe(200);
  const end = await Promise.race([t.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
  expect(end, t.output()).toEqual({ code: 0, signal: null });
  await mesos.waitFor('every executor gone', () => mesos.executors().every((e) => e.exit !== undefined), 30_000);
  expect(mesos.calls({ api: 'scheduler', type: 'TEARDOWN' })).toHaveLength(1);
}

describe('the Marathon apps run as Marathon runs them, on the Mesos fake', () => {
  it("infra/marathon's app: healthy on /healthz, authenticated with the secret file, REST token from the secret file, stopped cleanly by SIGTERM", async () => {
    const app = JSON.parse(readFileSync(`${MARATHON_DIR}sluice-session.json`, 'utf8')) as MarathonApp;
    const token = 'Tk-'.padEnd(43, 'q');
    const principalSecret = 'principal secret with spaces & $igns';
    const { mesos, task: t } = await startOnFake(app, { 'sluice/mesos-secret': principalSecret, 'sluice/rest-token': `${token}\n` }, { principal: 'sluice', secret: principalSecret });

    const health = await waitHealthy(app, t);
    expect(JSON.parse(health.body)).toHaveProperty('state');
    const framework = await mesos.waitFor('the framework subscribed', () => mesos.frameworks().find((f) => f.connected));
    expect(framework.info).toMatchObject({ name: 'sluice', user: 'nobody', principal: 'sluice', checkpoint: true });
    expect(framework.roles).toEqual(['*']);

    await taskManagerRegistered(t.port('rest'), t);
    await restAnswersWith(t.port('rest'), token);
    // The app's job defaults, for every job submitted to it.
    const config = await fetch(`http://127.0.0.1:${t.port('rest')}/config`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await config.json()).toEqual({ jobDefaults: { parallelism: 2, checkpointDir: '/mnt/sluice/checkpoints' } });
    expect(JSON.parse((await waitHealthy(app, t)).body)).toMatchObject({ subscribed: true, frameworkId: framework.id });
    // Nothing secret where other users of the agent can read it.
    const visible = visibleToTheAgent(t.pid!);
    // It runs as the app's user where the agent can switch users (as root).
    if (process.getuid?.() === 0) expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${t.pid!}/status`, 'utf8'))?.[1]).toBe(/^nobody:x:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1]);
    expect(visible).toContain('mesos-session');
    expect(visible).not.toContain(token);
    expect(visible).not.toContain(principalSecret);

    await stopsOnSigterm(mesos, app, t);
  }, 240_000);

  it('the DC/OS package rendered with its defaults: healthy, its TaskManager in the package image, the token it made, stopped cleanly by SIGTERM', async () => {
    const { app } = renderDcosPackage(loadDcosPackage());
    const { mesos, task: t } = await startOnFake(app as MarathonApp, {});

    await waitHealthy(app as MarathonApp, t);
    const framework = await mesos.waitFor('the framework subscribed', () => mesos.frameworks().find((f) => f.connected));
    expect(framework.info).toMatchObject({ name: 'sluice', user: 'nobody' });
    await taskManagerRegistered(t.port('rest'), t);
    // The executor ran in the package's image (the fake refuses any image it was not given).
    expect(mesos.executors()).toHaveLength(1);
    // TASK_RUNNING follows the registration (the executor reports it once the TaskManager registered).
    await mesos.waitFor('the TaskManager task running', () => (mesos.tasks().map((x) => x.state).join() === 'TASK_RUNNING' ? true : undefined));
    // Without a token secret the cluster made one, shown once on stderr and kept in SLUICE_HOME in the sandbox.
    const rest = t.port('rest');
    const token = readFileSync(join(t.sandbox, '.sluice', `rest-${rest}.token`), 'utf8').trim();
    expect(t.read('stderr')).toContain(`shown only now): ${token}`);
    await restAnswersWith(rest, token);
    // No job defaults by default.
    expect(await (await fetch(`http://127.0.0.1:${rest}/config`, { headers: { Authorization: `Bearer ${token}` } })).json()).toEqual({ jobDefaults: {} });

    await stopsOnSigterm(mesos, app as MarathonApp, t);
  }, 240_000);
});
