/**
 * The Mesos fake's agent side with a real executor process (test/src/fixtures/
 * mesos-fake-executor.mjs): the environment, the update/acknowledgement flow, framework messages
 * both ways, KILL, SHUTDOWN, executor crash, registration timeout, container images, URI
 * fetching, the executor API's validation, agent restart with resubscription, and a partitioned
 * agent.
 */
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeExecutorCall, type ExecutorInfo, type FrameworkInfo, type Offer, type Resource, type SchedulerEvent } from '@sluice/mesos-proto';
import { startMesosCluster, type MesosCluster, type MesosClusterOptions } from './mesos-fake/index.js';
import { FRAMEWORK, TestScheduler, rawPost } from './mesos-fake/testing-scheduler.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/mesos-fake-executor.mjs', import.meta.url));

let cluster: MesosCluster | undefined;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await cluster?.stop();
  cluster = undefined;
});

const caps = (...types: string[]): NonNullable<FrameworkInfo['capabilities']> => types.map((type) => ({ type: type as never }));

async function start(options: MesosClusterOptions, info: FrameworkInfo = FRAMEWORK): Promise<{ c: MesosCluster; s: TestScheduler; offer: Offer }> {
  const c = await startMesosCluster({ statusUpdateRetryMs: 100, ...options });
  cluster = c;
  const s = await TestScheduler.subscribe(c.masterUrl, info, { encoding: 'protobuf' });
  cleanups.push(() => s.close());
  const offer = (await s.next('OFFERS')).offers!.offers![0]!;
  return { c, s, offer };
}

function take(offer: Offer, name: string, value: number): Resource {
  const entry = offer.resources!.find((r) => r.name === name && r.reservations === undefined)!;
  return { ...structuredClone(entry), scalar: { value } };
}

function fixtureExecutor(id: string, offer: Offer, env: Record<string, string> = {}, shell = true): ExecutorInfo {
  const variables = Object.entries(env).map(([name, value]) => ({ name, value }));
  const command = shell
    ? { value: `exec "${process.execPath}" "${FIXTURE}"`, environment: { variables } }
    : { shell: false, value: process.execPath, arguments: ['node', FIXTURE], environment: { variables } };
  return { executor_id: { value: id }, command, resources: [take(offer, 'cpus', 0.1), take(offer, 'mem', 32)] };
}

async function launch(s: TestScheduler, offer: Offer, taskId: string, executor: ExecutorInfo): Promise<void> {
  const task = { name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: [take(offer, 'cpus', 0.5), take(offer, 'mem', 64)], executor };
  const answer = await s.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }], filters: { refuse_seconds: 0 } } });
  expect(answer.status).toBe(202);
}

const updateOf = (taskId: string, state: string) => (e: SchedulerEvent): boolean => e.update?.status.task_id.value === taskId && e.update.status.state === state;

async function ack(s: TestScheduler, e: SchedulerEvent): Promise<void> {
  const status = e.update!.status;
  const answer = await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id!, task_id: status.task_id, uuid: status.uuid! } });
  expect(answer.status).toBe(202);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Mesos fake agent with a real executor', () => {
  it('launches the executor with the real environment; updates are forwarded until acknowledged; messages flow both ways; KILL', async () => {
    const { c, s, offer } = await start({}, { ...FRAMEWORK, capabilities: caps('PARTITION_AWARE') });
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer, { EXTRA: 'hello' }, false));
    const running = await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    expect(running.update?.status).toMatchObject({ source: 'SOURCE_EXECUTOR', executor_id: { value: 'ex1' }, agent_id: { value: c.agents[0]!.id } });
    expect(running.update?.status.uuid?.byteLength).toBe(16);
    // Not acknowledged: the agent forwards the same update again.
    const uuid = Buffer.from(running.update!.status.uuid!).toString('base64');
    const again = await s.next('UPDATE', (e) => e.update !== undefined && Buffer.from(e.update.status.uuid ?? []).toString('base64') === uuid, s.events.indexOf(running) + 1);
    expect(again.update?.status.state).toBe('TASK_RUNNING');
    await ack(s, running);
    await c.waitFor('update acknowledged', () => c.task('t1')?.state === 'TASK_RUNNING' && c.executors()[0]?.subscribed);
    const message = await s.next('MESSAGE', (e) => Buffer.from(e.message!.data).toString().includes('running'));
    expect(message.message).toMatchObject({ agent_id: { value: c.agents[0]!.id }, executor_id: { value: 'ex1' } });
    const [ex] = c.executors();
    const env = JSON.parse(readFileSync(join(ex!.sandbox, 'env.json'), 'utf8')) as Record<string, string>;
    const agent = c.agents[0]!;
    expect(env).toMatchObject({
      MESOS_FRAMEWORK_ID: s.frameworkId, MESOS_EXECUTOR_ID: 'ex1', MESOS_AGENT_ENDPOINT: `${agent.ip}:${agent.port}`, MESOS_SLAVE_PID: `slave(1)@${agent.ip}:${agent.port}`,
      MESOS_SLAVE_ID: agent.id, MESOS_DIRECTORY: ex!.sandbox, MESOS_SANDBOX: ex!.sandbox, MESOS_CHECKPOINT: '1', MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs', MESOS_RECOVERY_TIMEOUT: '15mins', MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs', LIBPROCESS_IP: agent.ip, EXTRA: 'hello',
    });
    expect(env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN).toBeUndefined();
    expect(existsSync(join(ex!.sandbox, 'stdout'))).toBe(true);
    await s.call({ type: 'MESSAGE', message: { agent_id: offer.agent_id, executor_id: { value: 'ex1' }, data: Buffer.from('ping') } });
    await s.next('MESSAGE', (e) => Buffer.from(e.message!.data).toString() === JSON.stringify({ echo: 'ping' }));
    await s.call({ type: 'KILL', kill: { task_id: { value: 't1' } } });
    const killed = await s.next('UPDATE', updateOf('t1', 'TASK_KILLED'));
    await ack(s, killed);
    await c.waitFor('task completed', () => c.tasks().find((t) => t.taskId === 't1' && t.state === 'TASK_KILLED'));
    const executorCalls = c.calls({ api: 'executor' }).map((x) => x.call.type);
    expect(executorCalls.slice(0, 2)).toEqual(['SUBSCRIBE', 'MESSAGE']);
    expect(executorCalls).toContain('UPDATE');
  });

  it('reports an executor crash: live tasks TASK_FAILED (EXECUTOR_TERMINATED) and FAILURE with the wait status', async () => {
    const { c, s, offer } = await start({});
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer, { FIXTURE_ENCODING: 'json' }));
    await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
    const pid = c.executors()[0]!.pid!;
    c.crashExecutor('ex1');
    const failed = await s.next('UPDATE', updateOf('t1', 'TASK_FAILED'));
    expect(failed.update?.status).toMatchObject({ reason: 'REASON_EXECUTOR_TERMINATED', source: 'SOURCE_AGENT' });
    expect(failed.update?.status.uuid?.byteLength).toBe(16);
    const failure = await s.next('FAILURE');
    expect(failure.failure).toEqual({ agent_id: offer.agent_id, executor_id: { value: 'ex1' }, status: 9 });
    expect(s.events.indexOf(failed)).toBeLessThan(s.events.indexOf(failure));
    expect(alive(pid)).toBe(false);
  });

  it('kills an executor that never subscribes (REASON_EXECUTOR_REGISTRATION_TIMEOUT) and answers 403 to its calls before SUBSCRIBE', async () => {
    const { c, s, offer } = await start({ executorRegistrationTimeoutMs: 1500 });
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer, { FIXTURE_NO_SUBSCRIBE: '1' }));
    await c.waitFor('executor started', () => c.executors()[0]?.phase === 'registering');
    const agentUrl = `http://${c.agents[0]!.endpoint}`;
    const message = encodeExecutorCall({ type: 'MESSAGE', framework_id: { value: s.frameworkId! }, executor_id: { value: 'ex1' }, message: { data: Buffer.from('x') } }, 'json');
    const early = await rawPost(agentUrl, '/api/v1/executor', message, { 'Content-Type': 'application/json' });
    expect([early.status, early.body.toString()]).toEqual([403, 'Executor is not subscribed']);
    const failed = await s.next('UPDATE', updateOf('t1', 'TASK_FAILED'));
    expect(failed.update?.status.reason).toBe('REASON_EXECUTOR_REGISTRATION_TIMEOUT');
    await s.next('FAILURE');
  });

  it('validates executor calls as the agent does', async () => {
    const { c, s, offer } = await start({});
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    const agentUrl = `http://${c.agents[0]!.endpoint}`;
    const post = async (status: Record<string, unknown>, executorId = 'ex1', frameworkId = s.frameworkId!): Promise<[number, string]> => {
      const call = { type: 'UPDATE', framework_id: { value: frameworkId }, executor_id: { value: executorId }, update: { status: { task_id: { value: 't1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: Buffer.alloc(16, 7), ...status } } };
      const a = await rawPost(agentUrl, '/slave(1)/api/v1/executor', encodeExecutorCall(call as never, 'protobuf'), { 'Content-Type': 'application/x-protobuf' });
      return [a.status, a.body.toString()];
    };
    expect((await post({ uuid: Buffer.from('not-a-16-byte-uuid-at-all-00000000000') }))[0]).toBe(400);
    expect((await post({ source: 'SOURCE_MASTER' }))[0]).toBe(400);
    expect((await post({ state: 'TASK_STAGING' }))[0]).toBe(400);
    expect((await post({ executor_id: { value: 'other' } }))[1]).toContain('does not match ExecutorID in TaskStatus');
    expect(await post({}, 'ex1', 'no-such-framework')).toEqual([400, 'Framework cannot be found']);
    expect(await post({}, 'no-such-executor')).toEqual([400, 'Executor cannot be found']);
    expect((await post({}))[0]).toBe(202);
    const json = await rawPost(agentUrl, '/api/v1/executor', '{}', { 'Content-Type': 'application/json; charset=utf-8' });
    expect(json.status).toBe(415);
  });

  it('SHUTDOWN: the executor kills its tasks and exits; FAILURE follows', async () => {
    const { s, offer } = await start({});
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
    await s.call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: 'ex1' }, agent_id: offer.agent_id } });
    await s.next('UPDATE', updateOf('t1', 'TASK_KILLED'));
    expect((await s.next('FAILURE')).failure?.status).toBe(0);
  });

  it('SHUTDOWN ignored: the agent SIGKILLs the executor after its grace period; a pending kill makes the task TASK_KILLED', async () => {
    const { s, offer } = await start({});
    const executor = { ...fixtureExecutor('ex1', offer, { FIXTURE_IGNORE_SHUTDOWN: '1' }), shutdown_grace_period: { nanoseconds: 300_000_000 } };
    await launch(s, offer, 't1', executor);
    await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
    await s.call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: 'ex1' }, agent_id: offer.agent_id } });
    const killed = await s.next('UPDATE', updateOf('t1', 'TASK_KILLED'));
    expect(killed.update?.status).toMatchObject({ source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED' });
    expect((await s.next('FAILURE')).failure?.status).toBe(9);
  });

  it('sends TASK_KILLING only to TASK_KILLING_STATE frameworks (the others still get TASK_KILLED after it)', async () => {
    for (const capable of [true, false]) {
      const { c, s, offer } = await start({}, { ...FRAMEWORK, capabilities: capable ? caps('TASK_KILLING_STATE') : [] });
      await launch(s, offer, 't1', fixtureExecutor('ex1', offer, { FIXTURE_KILLING: '1' }));
      await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
      await s.call({ type: 'KILL', kill: { task_id: { value: 't1' } } });
      if (capable) await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_KILLING')));
      await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_KILLED')));
      const seen = s.events.filter((e) => e.type === 'UPDATE').map((e) => e.update!.status.state);
      expect(seen.includes('TASK_KILLING')).toBe(capable);
      s.close();
      await c.stop();
      cluster = undefined;
    }
  });

  it('runs a second task on a running executor with an identical ExecutorInfo; a different one with the same id is TASK_ERROR', async () => {
    const { c, s, offer } = await start({});
    const executor = fixtureExecutor('ex1', offer);
    await launch(s, offer, 't1', executor);
    const running = await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    await ack(s, running);
    // The rest of the agent was offered again right after the ACCEPT.
    const next = await c.waitFor('an outstanding offer', () => c.offers(s.frameworkId)[0]);
    expect(next.executor_ids).toEqual([{ value: 'ex1' }]);
    const changed = { ...executor, command: { ...executor.command!, value: `${executor.command!.value} --other` } };
    const t2 = { name: 't2', task_id: { value: 't2' }, agent_id: next.agent_id, resources: [take(next, 'cpus', 0.1)], executor };
    const t3 = { name: 't3', task_id: { value: 't3' }, agent_id: next.agent_id, resources: [take(next, 'cpus', 0.1)], executor: changed };
    await s.call({ type: 'ACCEPT', accept: { offer_ids: [next.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [t2, t3] } }] } });
    expect((await s.next('UPDATE', (e) => e.update?.status.task_id.value === 't3')).update?.status.state).toBe('TASK_ERROR');
    await s.next('UPDATE', updateOf('t2', 'TASK_RUNNING'));
    expect(c.executors()).toHaveLength(1);
  });

  it('fails a container with an unregistered image (REASON_CONTAINER_LAUNCH_FAILED) and runs one whose image is registered', async () => {
    const { s, offer } = await start({ images: { 'sluice/agent:1': { env: { FROM_IMAGE: 'yes' } } } });
    const docker = { ...fixtureExecutor('ex1', offer), container: { type: 'DOCKER' as const, docker: { image: 'nginx:latest' } } };
    await launch(s, offer, 't1', docker);
    const failed = await s.next('UPDATE', updateOf('t1', 'TASK_FAILED'));
    expect(failed.update?.status.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.update?.status.message).toContain("cannot run container image 'nginx:latest'");
    const next = (await s.next('OFFERS', () => true, s.events.indexOf(failed))).offers!.offers![0]!;
    const mesos = { ...fixtureExecutor('ex2', next), container: { type: 'MESOS' as const, mesos: { image: { type: 'DOCKER' as const, docker: { name: 'sluice/agent:1' } } } } };
    await launch(s, next, 't2', mesos);
    await s.next('UPDATE', updateOf('t2', 'TASK_RUNNING'));
  });

  it('fetches URIs into the sandbox: download, output_file, executable, tar.gz extraction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesos-fake-uris-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
    execFileSync('tar', ['-czf', join(dir, 'bundle.tar.gz'), '-C', dir, 'run.sh']);
    const server: Server = createServer((req, res) => res.end(readFileSync(join(dir, (req.url ?? '/').slice(1)))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const { c, s, offer } = await start({});
    const executor = fixtureExecutor('ex1', offer);
    executor.command!.uris = [{ value: `${base}/run.sh`, executable: true, output_file: 'tool' }, { value: `${base}/bundle.tar.gz` }];
    await launch(s, offer, 't1', executor);
    await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    const sandbox = c.executors()[0]!.sandbox;
    expect(statSync(join(sandbox, 'tool')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(sandbox, 'run.sh'), 'utf8')).toContain('echo hi');
  });

  it('agent restart: checkpointing executors resubscribe and keep running; other frameworks lose their tasks', async () => {
    const { c, s, offer } = await start({ executorReregistrationTimeoutMs: 1500 }, { ...FRAMEWORK, capabilities: caps('PARTITION_AWARE') });
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
    // The first framework stops taking offers, so the second one gets the agent's resources.
    await s.call({ type: 'SUPPRESS' });
    for (const o of c.offers(s.frameworkId)) await s.call({ type: 'DECLINE', decline: { offer_ids: [o.id], filters: { refuse_seconds: 0 } } });
    const other = await TestScheduler.subscribe(c.masterUrl, { ...FRAMEWORK, name: 'no-checkpoint', checkpoint: false });
    cleanups.push(() => other.close());
    const otherOffer = (await other.next('OFFERS')).offers!.offers![0]!;
    await launch(other, otherOffer, 'o1', fixtureExecutor('ox1', otherOffer));
    await ack(other, await other.next('UPDATE', updateOf('o1', 'TASK_RUNNING')));
    const subscribesBefore = c.calls({ api: 'executor', type: 'SUBSCRIBE' }).length;
    await c.agents[0]!.restart({ downMs: 100 });
    expect(c.calls({ api: 'executor', type: 'SUBSCRIBE' }).length).toBeGreaterThan(subscribesBefore);
    expect(c.task('t1')?.state).toBe('TASK_RUNNING');
    expect(c.executors().find((e) => e.executorId === 'ex1')?.subscribed).toBe(true);
    const lost = await other.next('UPDATE', (e) => e.update?.status.task_id.value === 'o1' && e.update.status.state === 'TASK_LOST');
    expect(lost.update?.status.reason).toBe('REASON_AGENT_RESTARTED');
    // The resubscribed executor still answers framework messages.
    await s.call({ type: 'MESSAGE', message: { agent_id: offer.agent_id, executor_id: { value: 'ex1' }, data: Buffer.from('after-restart') } });
    await s.next('MESSAGE', (e) => Buffer.from(e.message!.data).toString().includes('after-restart'));
  });

  it('a partitioned agent: TASK_UNREACHABLE and FAILURE; healing brings the task back RUNNING on reconciliation', async () => {
    const { c, s, offer } = await start({}, { ...FRAMEWORK, capabilities: caps('PARTITION_AWARE') });
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await ack(s, await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING')));
    c.dropFrameworkMessages(true);
    c.agents[0]!.partition();
    const unreachable = await s.next('UPDATE', updateOf('t1', 'TASK_UNREACHABLE'));
    expect(unreachable.update?.status.unreachable_time).toBeDefined();
    expect((await s.next('FAILURE')).failure).toEqual({ agent_id: offer.agent_id });
    c.agents[0]!.heal();
    c.dropFrameworkMessages(false);
    const from = s.events.length;
    await s.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 't1' } }] } });
    const reconciled = await s.next('UPDATE', (e) => e.update?.status.task_id.value === 't1', from);
    expect(reconciled.update?.status).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION' });
    expect(c.task('t1')?.history).toEqual(['TASK_STAGING', 'TASK_RUNNING', 'TASK_UNREACHABLE', 'TASK_RUNNING']);
  });

  it('sends executors an authentication token and refuses calls without it', async () => {
    const { c, s, offer } = await start({ executorAuthentication: true });
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    const env = JSON.parse(readFileSync(join(c.executors()[0]!.sandbox, 'env.json'), 'utf8')) as Record<string, string>;
    expect(env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN?.split('.')).toHaveLength(3);
    const call = encodeExecutorCall({ type: 'HEARTBEAT', framework_id: { value: s.frameworkId! }, executor_id: { value: 'ex1' } }, 'json');
    expect((await rawPost(`http://${c.agents[0]!.endpoint}`, '/api/v1/executor', call, { 'Content-Type': 'application/json' })).status).toBe(401);
  });

  it('stop() leaves no executor process behind', async () => {
    const { c, s, offer } = await start({});
    await launch(s, offer, 't1', fixtureExecutor('ex1', offer));
    await s.next('UPDATE', updateOf('t1', 'TASK_RUNNING'));
    const pid = c.executors()[0]!.pid!;
    const sandbox = c.executors()[0]!.sandbox;
    const agentUrl = `http://${c.agents[0]!.endpoint}`;
    await c.stop();
    cluster = undefined;
    expect(alive(pid)).toBe(false);
    expect(existsSync(sandbox)).toBe(false);
    await expect(rawPost(c.masterUrl, '/health', '', {}, 'GET')).rejects.toThrow(/ECONNREFUSED/);
    await expect(rawPost(agentUrl, '/health', '', {}, 'GET')).rejects.toThrow(/ECONNREFUSED/);
  });
});
