import { decodeTaskManagerLaunch } from '@sluice/mesos-executor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, offer, openTestingStore, startDriver, status, type Harness, type TestingStore } from './driver.test-helper.js';

let s: TestingStore;
let h: Harness | undefined;

beforeEach(async () => {
  s = await openTestingStore();
});

afterEach(async () => {
  const unencodable = h?.conn.unencodable ?? [];
  await h?.driver.close();
  h = undefined;
  await s.close();
  expect(unencodable).toEqual([]);
});

/** A driver subscribed as fw-1 with `n` workers requested and launched on offers o1..on. */
async function launched(n: number): Promise<Harness> {
  h = await startDriver(s);
  await h.conn.subscribed('fw-1');
  for (let i = 1; i <= n; i++) await h.driver.requestWorker({ resourceId: `rm-${i}`, numberOfSlots: 2 });
  h.conn.push({ type: 'OFFERS', offers: { offers: Array.from({ length: n }, (_, i) => offer(`o${i + 1}`, `agent-${i + 1}`, `host-${i + 1}`)) } });
  await eventually('the launches', () => h!.conn.of('ACCEPT').length === n);
  return h;
}

describe('the mesos driver, subscribing and launching', () => {
  it('subscribes as a new framework with a one-week failover timeout, checkpointing, MULTI_ROLE roles and its capabilities', async () => {
    h = await startDriver(s, { framework: { user: 'sluice', principal: 'sluice-principal', roles: ['analytics', '*'], webuiUrl: 'http://ui:8081', labels: { team: 'data' } } });
    const info = h.conn.subscribes[0]!;
    expect(info.id).toBeUndefined();
    expect(info).toMatchObject({ name: 'Sluice', user: 'sluice', principal: 'sluice-principal', failover_timeout: 604800, checkpoint: true, roles: ['analytics', '*'], webui_url: 'http://ui:8081' });
    expect(info.role).toBeUndefined();
    expect(info.labels).toEqual({ labels: [{ key: 'team', value: 'data' }] });
    expect(info.capabilities?.map((c) => c.type)).toEqual(['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE', 'RESERVATION_REFINEMENT']);
  });

  it('asks for GPU_RESOURCES when the worker profile has gpus', async () => {
    h = await startDriver(s, { profile: { name: 'gpu', cpus: 2, memMb: 4096, diskMb: 0, gpus: 1, ports: ['rpc', 'data', 'metrics'], executor: { cpus: 0.1, memMb: 64 } } });
    expect(h.conn.subscribes[0]!.capabilities?.map((c) => c.type)).toContain('GPU_RESOURCES');
  });

  it('records the master framework id before the first call, and sends no call before that write is done', async () => {
    h = await startDriver(s);
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 2 });
    const subscribed = h.conn.subscribed('fw-1');
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await subscribed;
    await eventually('the ACCEPT and SUPPRESS', () => h!.conn.of('SUPPRESS').length === 1);
    for (const c of h.conn.calls) expect(c.storedFrameworkId).toBe('fw-1');
    expect(h.conn.types()).toEqual(['RECONCILE', 'REVIVE', 'ACCEPT', 'SUPPRESS']);
  });

  it('records a worker New at the request and Launched (agent, host, attributes) before the ACCEPT that launches it', async () => {
    h = await startDriver(s);
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 2 });
    expect((await s.ha.mesos.workers()).records).toEqual([{ workerId: 'taskmanager-1', state: 'new', profile: 'default', slots: 2, resourceId: 'rm-1' }]);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-7', 'host-7')] } });
    const [accept] = await eventually('the ACCEPT', () => h!.conn.of('ACCEPT').length === 1 && h!.conn.of('ACCEPT'));
    expect(accept!.storedWorkers).toEqual([
      { workerId: 'taskmanager-1', state: 'launched', profile: 'default', slots: 2, resourceId: 'rm-1', agentId: 'agent-7', hostname: 'host-7', attributes: { rack: 'rack-of-host-7' }, zone: 'zone-a' },
    ]);
  });

  it('launches the TaskManager through the custom executor with the ports the matcher took, and a refuse filter', async () => {
    h = await startDriver(s, { executor: { command: 'bin/sluice-executor', arguments: ['--verbose'], uris: [{ value: 'http://entrypoint:8081/artifacts/sluice.tgz' }], container: { type: 'MESOS', image: 'sluice:1' } } });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 2 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-7', 'host-7', 32000)] } });
    const [accept] = await eventually('the ACCEPT', () => h!.conn.of('ACCEPT').length === 1 && h!.conn.of('ACCEPT'));
    const a = accept!.call.accept!;
    expect(a.offer_ids).toEqual([{ value: 'o1' }]);
    expect(a.filters).toEqual({ refuse_seconds: 5 });
    const task = a.operations![0]!.launch!.task_infos![0]!;
    expect(task.task_id).toEqual({ value: 'taskmanager-1' });
    expect(task.agent_id).toEqual({ value: 'agent-7' });
    expect(task.command).toBeUndefined();
    expect(task.resources?.map((r) => [r.name, r.scalar?.value])).toEqual([['cpus', 1], ['mem', 1024]]);
    const ex = task.executor!;
    expect(ex).toMatchObject({ type: 'CUSTOM', executor_id: { value: 'taskmanager-1-executor' }, framework_id: { value: 'fw-1' }, shutdown_grace_period: { nanoseconds: 20e9 } });
    expect(ex.command).toEqual({ value: 'bin/sluice-executor', shell: false, arguments: ['bin/sluice-executor', '--verbose'], uris: [{ value: 'http://entrypoint:8081/artifacts/sluice.tgz' }] });
    expect(ex.container).toEqual({ type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'sluice:1' } } } });
    expect(ex.resources?.map((r) => [r.name, r.scalar?.value])).toEqual([['cpus', 0.1], ['mem', 64]]);
    expect(decodeTaskManagerLaunch(task.data!)).toEqual({
      v: 1,
      resourceId: 'rm-1',
      cluster: 'sluice://10.0.0.1:6123',
      secret: 'cluster-secret',
      slots: 2,
      ports: { rpc: 32000, data: 32001, metrics: 32002 },
      bindHost: 'host-7',
      advertisedHost: 'host-7',
    });
  });

  it('gives out task ids taskmanager-<n> in order', async () => {
    h = await launched(3);
    const ids = h.conn.of('ACCEPT').map((c) => c.call.accept!.operations![0]!.launch!.task_infos![0]!.task_id.value);
    expect(ids.sort()).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
  });
});

describe('the mesos driver, status updates', () => {
  it('reports RUNNING once and acknowledges only updates that carry a uuid', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', 'TASK_STARTING'));
    const running = status('taskmanager-1', 'TASK_RUNNING');
    h.conn.push(running);
    await eventually('two ACKs', () => h!.conn.of('ACKNOWLEDGE').length === 2);
    const ack = h.conn.of('ACKNOWLEDGE')[1]!.call.acknowledge!;
    expect(ack.task_id).toEqual({ value: 'taskmanager-1' });
    expect(ack.agent_id).toEqual({ value: 'agent-1' });
    expect(Buffer.from(ack.uuid)).toEqual(running.update!.status.uuid);
    expect(h.events.started).toEqual(['rm-1']);
    // A reconciliation answer has no uuid: not acknowledged, and the worker is not started twice.
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION' }));
    h.conn.push(status('taskmanager-1', 'TASK_FAILED', { uuid: false, reason: 'REASON_INVALID_OFFERS', message: 'stale offer' }));
    await eventually('the failure', () => h!.events.terminated.length === 1);
    expect(h.conn.of('ACKNOWLEDGE')).toHaveLength(2);
    expect(h.events.started).toEqual(['rm-1']);
  });

  it('ends a worker on a terminal update with a reason naming state, reason and message, removing its record before the ACK', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', 'TASK_FAILED', { reason: 'REASON_EXECUTOR_TERMINATED', message: 'TaskManager exited with code 137' }));
    await eventually('the termination', () => h!.events.terminated.length === 1);
    expect(h.events.terminated[0]).toEqual({ resourceId: 'rm-1', reason: 'TASK_FAILED (REASON_EXECUTOR_TERMINATED) from executor: TaskManager exited with code 137' });
    const ack = await eventually('the ACK', () => h!.conn.of('ACKNOWLEDGE')[0]);
    expect(ack.storedWorkers).toEqual([]);
  });

  it.each(['TASK_FINISHED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_LOST'] as const)('takes %s as the end of the worker', async (state) => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', state));
    await eventually('the termination', () => h!.events.terminated.length === 1);
    expect(h.events.terminated[0]!.reason).toMatch(new RegExp(`^${state}`));
  });

  it('waits on TASK_UNREACHABLE (not terminal) and carries on when the task is RUNNING again', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
    h.conn.push(status('taskmanager-1', 'TASK_UNREACHABLE', { reason: 'REASON_AGENT_DISCONNECTED' }));
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { reason: 'REASON_AGENT_REREGISTERED' }));
    await eventually('three ACKs', () => h!.conn.of('ACKNOWLEDGE').length === 3);
    expect(h.events.terminated).toEqual([]);
    expect(h.events.started).toEqual(['rm-1']);
    expect(h.lines.some((l) => l.includes('taskmanager-1 is unreachable'))).toBe(true);
    expect((await s.ha.mesos.workers()).records.map((r) => r.state)).toEqual(['launched']);
  });

  it('asks Mesos about an UNREACHABLE task with a doubling backoff until it answers another state', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
    await eventually('the ACK of RUNNING', () => h!.conn.of('ACKNOWLEDGE').length === 1);
    const asked = (): number => h!.conn.of('RECONCILE').filter((c) => c.call.reconcile!.tasks?.some((t) => t.task_id.value === 'taskmanager-1')).length;
    h.timers.advance(60_000); // whatever reconciliation of the launch was pending is over
    const before = asked();
    h.conn.push(status('taskmanager-1', 'TASK_UNREACHABLE', { reason: 'REASON_AGENT_REMOVED', uuid: false }));
    await eventually('the unreachable line', () => h!.lines.some((l) => l.includes('taskmanager-1 is unreachable')));
    h.timers.advance(5_000);
    await eventually('an explicit RECONCILE of the unreachable task', () => asked() === before + 1);
    expect(h.conn.of('RECONCILE').at(-1)!.call.reconcile!.tasks).toEqual([{ task_id: { value: 'taskmanager-1' }, agent_id: { value: 'agent-1' } }]);
    h.conn.push(status('taskmanager-1', 'TASK_UNREACHABLE', { reason: 'REASON_RECONCILIATION' }));
    h.timers.advance(5_000);
    expect(asked()).toBe(before + 1); // the backoff doubled
    h.timers.advance(5_000);
    await eventually('a second RECONCILE', () => asked() === before + 2);
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION' }));
    await eventually('the reachable line', () => h!.lines.some((l) => l.includes('taskmanager-1 is reachable again')));
    h.timers.advance(120_000);
    expect(asked()).toBe(before + 2);
    expect(h.events.terminated).toEqual([]);
    expect(h.conn.of('KILL')).toEqual([]);
  });

  it('records a released worker Released before the KILL, and forgets it at its terminal update', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
    await h.driver.releaseWorker('rm-1');
    const kill = await eventually('the KILL', () => h!.conn.of('KILL')[0]);
    expect(kill.call.kill).toEqual({ task_id: { value: 'taskmanager-1' }, agent_id: { value: 'agent-1' } });
    expect(kill.storedWorkers.map((r) => [r.workerId, r.state])).toEqual([['taskmanager-1', 'released']]);
    h.conn.push(status('taskmanager-1', 'TASK_KILLED'));
    await eventually('the termination', () => h!.events.terminated.length === 1);
    expect(h.events.terminated[0]!.reason).toMatch(/^released; TASK_KILLED/);
    expect((await s.ha.mesos.workers()).records).toEqual([]);
    await h.driver.releaseWorker('rm-unknown'); // unknown ids are ignored
  });

  it('forgets a worker released before it was launched without any call', async () => {
    h = await startDriver(s);
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    await h.driver.releaseWorker('rm-1');
    expect(h.events.terminated).toEqual([{ resourceId: 'rm-1', reason: 'released before it was launched' }]);
    expect((await s.ha.mesos.workers()).records).toEqual([]);
    expect(h.conn.of('KILL')).toEqual([]);
  });

  it('kills a running taskmanager task it has no record of, and leaves other frameworks\u2019 task ids alone', async () => {
    h = await launched(1);
    h.conn.push(status('taskmanager-42', 'TASK_RUNNING', { agent: 'agent-9' }));
    h.conn.push(status('something-else', 'TASK_RUNNING', { agent: 'agent-9' }));
    await eventually('the two ACKs', () => h!.conn.of('ACKNOWLEDGE').length === 2);
    expect(h.conn.of('KILL').map((c) => c.call.kill)).toEqual([{ task_id: { value: 'taskmanager-42' }, agent_id: { value: 'agent-9' } }]);
    expect(h.events.terminated).toEqual([]);
    // Ids continue above the highest one Mesos showed.
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    expect((await s.ha.mesos.workers()).records.map((r) => r.workerId)).toContain('taskmanager-43');
  });

  it('refuses a second request for the same resource id and any request after terminate', async () => {
    h = await launched(1);
    await expect(h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 2 })).rejects.toMatchObject({ code: 'WORKER_EXISTS' });
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
    const terminated = h.driver.terminate();
    await eventually('the KILL', () => h!.conn.of('KILL').length === 1);
    h.conn.push(status('taskmanager-1', 'TASK_KILLED'));
    await terminated;
    await expect(h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 2 })).rejects.toMatchObject({ code: 'DRIVER_TERMINATED' });
  });
});
