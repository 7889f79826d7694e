import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, offer, openTestingStore, startDriver, status, type Harness, type TestingStore } from './driver.test-helper.js';

let s: TestingStore;
const drivers: Harness[] = [];

beforeEach(async () => {
  s = await openTestingStore();
});

afterEach(async () => {
  const unencodable = drivers.flatMap((h) => h.conn.unencodable);
  for (const h of drivers.splice(0)) await h.driver.close();
  await s.close();
  expect(unencodable).toEqual([]);
});

async function start(...args: Parameters<typeof startDriver> extends [unknown, ...infer R] ? R : never): Promise<Harness> {
  const h = await startDriver(s, ...args);
  drivers.push(h);
  return h;
}

const launchedIds = (h: Harness): string[] => h.conn.of('ACCEPT').flatMap((c) => c.call.accept!.operations![0]!.launch!.task_infos!.map((t) => t.task_id.value));
const reconciled = (h: Harness): string[][] => h.conn.of('RECONCILE').map((c) => (c.call.reconcile!.tasks ?? []).map((t) => t.task_id.value));

/**
 * A first scheduler that leaves: taskmanager-1 running, -2 launched, -3 released (KILL sent),
 * -4 requested but not launched.
 */
async function firstScheduler(): Promise<void> {
  const h = await start();
  await h.conn.subscribed('fw-1');
  for (let i = 1; i <= 4; i++) await h.driver.requestWorker({ resourceId: `rm-${i}`, numberOfSlots: 2 });
  h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-1', 'host-1'), offer('o2', 'agent-2', 'host-2'), offer('o3', 'agent-3', 'host-3')] } });
  await eventually('three launches', () => launchedIds(h).length === 3);
  h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
  await h.driver.releaseWorker('rm-3');
  await eventually('the KILL', () => h.conn.of('KILL').length === 1);
  await h.driver.close();
  expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([
    ['taskmanager-1', 'launched'],
    ['taskmanager-2', 'launched'],
    ['taskmanager-3', 'released'],
    ['taskmanager-4', 'new'],
  ]);
}

describe('the mesos driver after a restart over the same store', () => {
  it('resubscribes with the stored framework id, reconciles, adopts running tasks, kills released and unknown ones, and launches New ones', async () => {
    await firstScheduler();
    const h = await start();
    // Before anything else the ResourceManager hears which workers may register again: all but the released one.
    expect(h.events.recovered).toEqual([[1, 2, 4].map((i) => ({ resourceId: `rm-${i}`, numberOfSlots: 2 }))]);
    expect(h.conn.subscribes[0]!.id).toEqual({ value: 'fw-1' });
    expect(h.conn.calls).toEqual([]);
    await h.conn.subscribed('fw-1');
    expect(h.conn.of('KILL').map((c) => c.call.kill!.task_id.value)).toEqual(['taskmanager-3']);
    expect(h.conn.of('RECONCILE')[0]!.call.reconcile!.tasks).toEqual([
      { task_id: { value: 'taskmanager-1' }, agent_id: { value: 'agent-1' } },
      { task_id: { value: 'taskmanager-2' }, agent_id: { value: 'agent-2' } },
      { task_id: { value: 'taskmanager-3' }, agent_id: { value: 'agent-3' } },
    ]);
    expect(h.conn.of('REVIVE')).toHaveLength(1); // taskmanager-4 is wanted

    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION', agent: 'agent-1' }));
    h.conn.push(status('taskmanager-2', 'TASK_UNKNOWN', { reason: 'REASON_RECONCILIATION', agent: 'agent-2' }));
    h.conn.push(status('taskmanager-3', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION', agent: 'agent-3' }));
    await eventually('taskmanager-1 adopted and taskmanager-2 ended', () => h.events.started.length === 1 && h.events.terminated.length === 1);
    expect(h.events.started).toEqual(['rm-1']);
    expect(h.events.terminated).toEqual([{ resourceId: 'rm-2', reason: 'TASK_UNKNOWN (REASON_RECONCILIATION) from master' }]);
    await eventually('taskmanager-3 killed again', () => h.conn.of('KILL').length === 2);
    // Every launched task answered: implicit reconciliation finds a task no record names.
    await eventually('implicit reconciliation', () => reconciled(h).length === 2);
    expect(reconciled(h)[1]).toEqual([]);
    h.conn.push(status('taskmanager-9', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION', agent: 'agent-5' }));
    await eventually('the unknown task killed', () => h.conn.of('KILL').some((c) => c.call.kill!.task_id.value === 'taskmanager-9'));
    h.conn.push(status('taskmanager-3', 'TASK_KILLED'));
    await eventually('taskmanager-3 ended', () => h.events.terminated.length === 2);
    expect(h.events.terminated[1]!.resourceId).toBe('rm-3');

    // The New worker is launched normally; the adopted one never again.
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o9', 'agent-9', 'host-9')] } });
    await eventually('the launch', () => launchedIds(h).length === 1);
    expect(launchedIds(h)).toEqual(['taskmanager-4']);
    await h.driver.requestWorker({ resourceId: 'rm-5', numberOfSlots: 2 });
    expect((await s.ha.mesos.workers()).records.map((r) => r.workerId)).toEqual(['taskmanager-1', 'taskmanager-10', 'taskmanager-4']);
  });

  it('asks again with a doubling backoff for the tasks that have not answered, then reconciles implicitly and periodically', async () => {
    await firstScheduler();
    const h = await start({ reconciliation: { initialBackoffMs: 1_000, maxBackoffMs: 3_000, implicitIntervalMs: 60_000 } });
    await h.conn.subscribed('fw-1');
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION' }));
    await eventually('the adoption', () => h.events.started.length === 1);
    h.timers.advance(1_000);
    await eventually('the second round', () => reconciled(h).length === 2);
    expect(reconciled(h)[1]).toEqual(['taskmanager-2', 'taskmanager-3']);
    h.conn.push(status('taskmanager-3', 'TASK_KILLED', { reason: 'REASON_RECONCILIATION' }));
    await eventually('taskmanager-3 ended', () => h.events.terminated.length === 1);
    h.timers.advance(1_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(reconciled(h)).toHaveLength(2);
    h.timers.advance(1);
    await eventually('the third round', () => reconciled(h).length === 3);
    expect(reconciled(h)[2]).toEqual(['taskmanager-2']);
    h.timers.advance(3_000); // capped at maxBackoffMs
    await eventually('the fourth round', () => reconciled(h).length === 4);
    h.conn.push(status('taskmanager-2', 'TASK_RUNNING', { reason: 'REASON_RECONCILIATION' }));
    await eventually('implicit reconciliation', () => reconciled(h).length === 5);
    expect(reconciled(h)[4]).toEqual([]);
    h.timers.advance(60_000);
    await eventually('periodic implicit reconciliation', () => reconciled(h).length === 6);
    expect(reconciled(h)[5]).toEqual([]);
    expect(await h.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_reconciliation_rounds_total')).toMatch(/kind="explicit"} 4[\s\S]*kind="implicit"} 2/);
  });

  it('reconciles a launch whose ACCEPT failed, declines its offer, and ends the worker when Mesos does not know the task', async () => {
    const h = await start();
    await h.conn.subscribed('fw-1');
    h.conn.failCalls('ACCEPT');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('an explicit reconciliation of the task', () => reconciled(h).some((ids) => ids.includes('taskmanager-1')));
    // The offer Mesos did not take is handed back without a filter, or its resources stay offered to no one.
    await eventually('the offer declined', () => h.conn.of('DECLINE').length === 1);
    expect(h.conn.of('DECLINE')[0]!.call.decline).toEqual({ offer_ids: [{ value: 'o1' }], filters: { refuse_seconds: 0 } });
    h.conn.push(status('taskmanager-1', 'TASK_UNKNOWN', { reason: 'REASON_RECONCILIATION' }));
    await eventually('the worker ended', () => h.events.terminated.length === 1);
    expect((await s.ha.mesos.workers()).records).toEqual([]);
  });
});

describe('the mesos driver when the DECLINE after a failed ACCEPT fails too', () => {
  it('sends the DECLINE again with backoff until it arrives, so the offer\'s resources are not lost', async () => {
    const h = await start();
    await h.conn.subscribed('fw-1');
    h.conn.failCalls('ACCEPT');
    h.conn.failCalls('DECLINE');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the first DECLINE', () => h.conn.of('DECLINE').length === 1);
    h.timers.advance(1_000);
    await eventually('the DECLINE sent again', () => h.conn.of('DECLINE').length === 2);
    h.conn.passCalls('DECLINE');
    h.timers.advance(2_000);
    await eventually('the third DECLINE, which arrives', () => h.conn.of('DECLINE').length === 3);
    h.timers.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.conn.of('DECLINE').map((c) => c.call.decline)).toEqual(Array(3).fill({ offer_ids: [{ value: 'o1' }], filters: { refuse_seconds: 0 } }));
  });
});

describe('the mesos driver when Mesos removed its framework', () => {
  it('warns naming the old id, forgets it, ends the old workers and subscribes once as a new framework', async () => {
    const h = await start();
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the launch', () => launchedIds(h).length === 1);
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING'));
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });

    h.conn.push({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    h.conn.disconnect('the master sent ERROR: Framework has been removed');
    expect(h.conn.subscribes[1]!.id).toBeUndefined();
    await eventually('the old worker ended', () => h.events.terminated.length === 1);
    expect(h.events.terminated).toEqual([{ resourceId: 'rm-1', reason: 'framework fw-1 was removed by Mesos' }]);
    expect(await s.ha.mesos.frameworkId()).toBeUndefined();
    expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([['taskmanager-2', 'new']]);
    expect(h.lines.some((l) => l.includes('WARN') && l.includes('Mesos removed framework fw-1'))).toBe(true);

    const before = h.conn.calls.length;
    await h.conn.subscribed('fw-2');
    expect(await s.ha.mesos.frameworkId()).toBe('fw-2');
    expect(h.conn.calls.slice(before).map((c) => c.call.type)).toEqual(['RECONCILE', 'REVIVE']);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2')] } });
    const accept = await eventually('the launch in the new framework', () => h.conn.of('ACCEPT')[1]);
    expect(accept.storedFrameworkId).toBe('fw-2');
    expect(accept.call.accept!.operations![0]!.launch!.task_infos![0]!.executor!.framework_id).toEqual({ value: 'fw-2' });
    expect(h.conn.subscribes).toHaveLength(2);
    expect(h.events.terminated).toHaveLength(1);
  });

  it('takes a refused resubscription that says the framework was removed the same way', async () => {
    const h = await start();
    await h.conn.subscribed('fw-1');
    await h.driver.close();
    const again = await start();
    expect(again.conn.subscribes[0]!.id).toEqual({ value: 'fw-1' });
    again.conn.disconnect("SUBSCRIBE refused: 400 'Framework has been removed'");
    expect(again.conn.subscribes[1]!.id).toBeUndefined();
    await eventually('the id forgotten', async () => (await s.ha.mesos.frameworkId()) === undefined);
    await again.conn.subscribed('fw-2');
    expect(await s.ha.mesos.frameworkId()).toBe('fw-2');
  });
});
