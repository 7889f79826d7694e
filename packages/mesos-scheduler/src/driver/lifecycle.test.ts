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

/** taskmanager-1 and -2 running, -3 requested but not launched. */
async function cluster(over: Parameters<typeof startDriver>[1] = {}): Promise<Harness> {
  h = await startDriver(s, over);
  await h.conn.subscribed('fw-1');
  for (let i = 1; i <= 3; i++) await h.driver.requestWorker({ resourceId: `rm-${i}`, numberOfSlots: 1 });
  h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-1', 'host-1'), offer('o2', 'agent-2', 'host-2')] } });
  await eventually('two launches', () => h!.conn.of('ACCEPT').length === 2);
  h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { agent: 'agent-1' }));
  h.conn.push(status('taskmanager-2', 'TASK_RUNNING', { agent: 'agent-2' }));
  await eventually('both running', () => h!.events.started.length === 2);
  return h;
}

describe('stopping the mesos driver', () => {
  it('terminate() kills every task (Released first), waits for their ends, and leaves the framework to resume', async () => {
    h = await cluster();
    const done = h.driver.terminate();
    const kills = await eventually('two KILLs and the unlaunched worker ended', () => h!.conn.of('KILL').length === 2 && h!.events.terminated.length === 1 && h!.conn.of('KILL'));
    for (const k of kills) expect(k.storedWorkers.find((r) => r.workerId === k.call.kill!.task_id.value)?.state).toBe('released');
    expect(h.events.terminated).toEqual([{ resourceId: 'rm-3', reason: 'the mesos driver terminated' }]);
    let finished = false;
    void done.then(() => (finished = true));
    h.conn.push(status('taskmanager-1', 'TASK_KILLED', { agent: 'agent-1' }));
    await eventually('one end', () => h!.events.terminated.length === 2);
    expect(finished).toBe(false);
    h.conn.push(status('taskmanager-2', 'TASK_KILLED', { agent: 'agent-2' }));
    await done;
    expect(h.events.terminated.map((t) => t.resourceId)).toEqual(['rm-3', 'rm-1', 'rm-2']);
    expect(h.conn.of('TEARDOWN')).toEqual([]);
    expect(h.conn.state).toBe('closed');
    expect(await s.ha.mesos.frameworkId()).toBe('fw-1');
    expect((await s.ha.mesos.workers()).records).toEqual([]);
  });

  it('asks Mesos about a task whose KILL failed, and kills it again when the answer says it still runs', async () => {
    h = await cluster();
    h.conn.failCalls('KILL');
    await h.driver.releaseWorker('rm-1');
    const reconciledAfterKill = (): boolean => h!.conn.types().lastIndexOf('RECONCILE') > h!.conn.types().indexOf('KILL');
    await eventually('the failed KILL reconciled', () => reconciledAfterKill() && h!.conn.calls.at(-1)!.call.reconcile!.tasks!.map((t) => t.task_id.value).includes('taskmanager-1'));
    expect(h.lines.some((l) => l.includes('KILL of taskmanager-1 failed'))).toBe(true);
    h.conn.passCalls('KILL');
    h.conn.push(status('taskmanager-1', 'TASK_RUNNING', { agent: 'agent-1', reason: 'REASON_RECONCILIATION' }));
    await eventually('the KILL sent again', () => h!.conn.of('KILL').length === 2);
    h.conn.push(status('taskmanager-1', 'TASK_KILLED', { agent: 'agent-1' }));
    await eventually('the worker ended', () => h!.events.terminated.some((t) => t.resourceId === 'rm-1'));
  });

  it('terminate() gives up waiting after its bound and keeps the unanswered tasks Released for the next start', async () => {
    h = await cluster({ terminateTimeoutMs: 30_000 });
    const done = h.driver.terminate();
    await eventually('two KILLs', () => h!.conn.of('KILL').length === 2);
    h.conn.push(status('taskmanager-1', 'TASK_KILLED', { agent: 'agent-1' }));
    await eventually('one end', () => h!.events.terminated.length === 2);
    h.timers.advance(30_000);
    await done;
    expect(h.lines.some((l) => l.includes('terminating without the end of taskmanager-2'))).toBe(true);
    expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([['taskmanager-2', 'released']]);
    // The next start kills it again as soon as it is subscribed.
    const next = await startDriver(s);
    await next.conn.subscribed('fw-1');
    expect(next.conn.of('KILL').map((c) => c.call.kill!.task_id.value)).toEqual(['taskmanager-2']);
    await next.driver.close();
  });

  it('teardown() sends TEARDOWN and forgets the framework and its workers', async () => {
    h = await cluster();
    await h.driver.teardown();
    expect(h.conn.types().at(-1)).toBe('TEARDOWN');
    expect(await s.ha.mesos.frameworkId()).toBeUndefined();
    expect((await s.ha.mesos.workers()).records).toEqual([]);
    expect(h.events.terminated.map((t) => t.reason)).toEqual(['framework fw-1 torn down', 'framework fw-1 torn down', 'framework fw-1 torn down']);
    expect(h.conn.state).toBe('closed');
  });

  it('terminate({ teardown: true }) kills every task, waits for their ends, then sends TEARDOWN and forgets the framework', async () => {
    h = await cluster();
    const done = h.driver.terminate({ teardown: true });
    await eventually('two KILLs', () => h!.conn.of('KILL').length === 2);
    expect(h.conn.of('TEARDOWN')).toEqual([]);
    h.conn.push(status('taskmanager-1', 'TASK_KILLED', { agent: 'agent-1' }));
    h.conn.push(status('taskmanager-2', 'TASK_KILLED', { agent: 'agent-2' }));
    await done;
    expect(h.conn.types().slice(-1)).toEqual(['TEARDOWN']);
    expect(h.events.terminated.map((t) => t.resourceId)).toEqual(['rm-3', 'rm-1', 'rm-2']);
    expect(await s.ha.mesos.frameworkId()).toBeUndefined();
    expect(h.conn.state).toBe('closed');
  });

  it('terminate({ teardown: true }) without a subscription still stops, and says how to remove the framework by hand', async () => {
    h = await startDriver(s);
    await h.conn.subscribed('fw-1');
    h.conn.disconnect('master gone');
    await h.driver.terminate({ teardown: true });
    expect(h.lines.some((l) => l.includes('the Mesos framework stays registered') && l.includes('POST frameworkId=fw-1'))).toBe(true);
    expect(await s.ha.mesos.frameworkId()).toBe('fw-1');
    expect(h.conn.state).toBe('closed');
  });

  it('teardown() without a subscription says how to tear the framework down by hand', async () => {
    h = await startDriver(s);
    await h.conn.subscribed('fw-1');
    h.conn.disconnect('master gone');
    await expect(h.driver.teardown()).rejects.toThrow(/not subscribed.*POST frameworkId=fw-1 to the master's \/master\/teardown/);
    expect(await s.ha.mesos.frameworkId()).toBe('fw-1');
  });

  it('close() leaves the tasks running and their records as they are', async () => {
    h = await cluster();
    const calls = h.conn.calls.length;
    await h.driver.close();
    expect(h.conn.calls.slice(calls).map((c) => c.call.type)).toEqual([]);
    expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([
      ['taskmanager-1', 'launched'],
      ['taskmanager-2', 'launched'],
      ['taskmanager-3', 'new'],
    ]);
  });

  it('stops talking to Mesos when the store says another scheduler leads now', async () => {
    h = await cluster();
    // Leadership passes on: this driver's token is fenced from now on.
    await s.ha.close();
    const other = (await import('@sluice/ha')).createLocalHighAvailabilityServices({ directory: s.dir, pollIntervalMs: 20 });
    const election = other.leaderElection('dispatcher');
    await new Promise<string>((resolve) => void election.start({ grantLeadership: resolve, revokeLeadership: () => undefined }));
    const calls = h.conn.calls.length;
    await h.driver.releaseWorker('rm-1');
    await eventually('the connection closed', () => h!.conn.state === 'closed');
    expect(h.conn.calls.slice(calls)).toEqual([]);
    expect(h.lines.some((l) => l.includes('ERROR') && l.includes('no longer leads'))).toBe(true);
    await other.close();
  });
});
