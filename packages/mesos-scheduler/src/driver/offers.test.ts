import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MatchInput, MatchResult } from '../offers/types.js';
import { eventually, offer, openTestingStore, StandInMatcher, startDriver, status, type Harness, type TestingStore } from './driver.test-helper.js';

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

const declined = (x: Harness): { ids: string[]; refuse: number | undefined }[] =>
  x.conn.of('DECLINE').map((c) => ({ ids: (c.call.decline!.offer_ids ?? []).map((o) => o.value), refuse: c.call.decline!.filters?.refuse_seconds }));
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('the mesos driver and offers', () => {
  it('holds an offer nothing fits while a worker is wanted, and declines it when the hold timeout passes', async () => {
    h = await startDriver(s, { offerHoldTimeoutMs: 2_000, refuseSeconds: 7 });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('small-1', 'agent-1', 'small-host')] } });
    await eventually('the matcher asked', () => h!.matcher.inputs.length === 1);
    h.timers.advance(1_999);
    await settle();
    expect(declined(h)).toEqual([]);
    h.timers.advance(1);
    await eventually('the DECLINE', () => declined(h!).length === 1);
    expect(declined(h)).toEqual([{ ids: ['small-1'], refuse: 7 }]);
    expect(await h.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_offers_declined_total')).toMatch(/ 1$/m);
  });

  it('holds an unused offer while workers are wanted and uses it for a worker requested meanwhile', async () => {
    // Each worker fits only the host named after it.
    const stand = new StandInMatcher();
    const match = (input: MatchInput): MatchResult => {
      const out: MatchResult = { placements: [], unusedOfferIds: [], unplaced: [] };
      for (const o of input.offers) {
        const w = input.pending.find((p) => o.hostname === `host-of-${p.workerId}`);
        const r = stand.match({ ...input, offers: [o], pending: w === undefined ? [] : [w] });
        out.placements.push(...r.placements);
        out.unusedOfferIds.push(...r.unusedOfferIds);
      }
      return out;
    };
    h = await startDriver(s, { match });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-2', 'host-of-taskmanager-2')] } });
    await eventually('the matcher asked', () => stand.inputs.length === 1);
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    const accept = await eventually('the launch on the held offer', () => h!.conn.of('ACCEPT')[0]);
    expect(accept.call.accept!.offer_ids).toEqual([{ value: 'o1' }]);
    expect(accept.call.accept!.operations![0]!.launch!.task_infos![0]!.task_id.value).toBe('taskmanager-2');
    expect(declined(h)).toEqual([]);
  });

  it('declines at once what is left when no worker is wanted any more', async () => {
    h = await startDriver(s, { refuseSeconds: 7 });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1'), offer('o2', 'agent-2', 'host-2')] } });
    await eventually('the DECLINE', () => declined(h!).length === 1);
    expect(h.conn.of('ACCEPT')).toHaveLength(1);
    expect(declined(h)).toEqual([{ ids: ['o2'], refuse: 7 }]);
  });

  it('drops a rescinded offer: neither used nor declined later', async () => {
    h = await startDriver(s, { offerHoldTimeoutMs: 1_000 });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('small-1', 'agent-1', 'small-host')] } });
    h.conn.push({ type: 'RESCIND', rescind: { offer_id: { value: 'small-1' } } });
    await eventually('the rescind counted', async () => / 1$/m.test(await h!.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_offers_rescinded_total')));
    h.timers.advance(5_000);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2')] } });
    await eventually('the launch', () => h!.conn.of('ACCEPT').length === 1);
    expect(h.conn.of('ACCEPT')[0]!.call.accept!.offer_ids).toEqual([{ value: 'o2' }]);
    expect(declined(h)).toEqual([]);
  });

  it('SUPPRESSes when no worker is wanted, REVIVEs when one is, and declines offers with the long filter meanwhile', async () => {
    h = await startDriver(s, { idleRefuseSeconds: 300 });
    await h.conn.subscribed('fw-1');
    expect(h.conn.types()).toEqual(['RECONCILE', 'SUPPRESS']);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the idle DECLINE', () => declined(h!).length === 1);
    expect(declined(h)).toEqual([{ ids: ['o1'], refuse: 300 }]);
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    expect(h.conn.types().slice(3)).toEqual(['REVIVE']);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2'), offer('o3', 'agent-2', 'host-2')] } });
    await eventually('both launched and offers suppressed', () => h!.conn.of('SUPPRESS').length === 2);
    expect(h.conn.types().slice(3)).toEqual(['REVIVE', 'ACCEPT', 'ACCEPT', 'SUPPRESS']);
    // A resubscription asks again for what is still wanted.
    await h.driver.requestWorker({ resourceId: 'rm-3', numberOfSlots: 1 });
    h.conn.disconnect('missed heartbeats');
    await settle();
    await h.conn.subscribed('fw-1');
    expect(h.conn.types().slice(-3)).toEqual(['REVIVE', 'RECONCILE', 'REVIVE']);
  });

  it('sends a REVIVE or SUPPRESS the master refused again after the backoff, unless the other one went out meanwhile', async () => {
    h = await startDriver(s, { reconciliation: { initialBackoffMs: 1_000 } });
    await h.conn.subscribed('fw-1');
    h.conn.failCalls('REVIVE');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    await eventually('the refusal logged', () => h!.lines.some((l) => l.includes('REVIVE failed: the master refused REVIVE; sending it again in 1000 ms')));
    h.conn.passCalls('REVIVE');
    h.timers.advance(1_000);
    await eventually('REVIVE again', () => h!.conn.of('REVIVE').length === 2);
    // Once taken, nothing more is sent.
    h.timers.advance(5_000);
    await settle();
    expect(h.conn.of('REVIVE')).toHaveLength(2);

    h.conn.failCalls('SUPPRESS');
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the launch and the refused SUPPRESS', () => h!.conn.of('ACCEPT').length === 1 && h!.lines.some((l) => l.includes('SUPPRESS failed')));
    const suppresses = h.conn.of('SUPPRESS').length;
    // A new worker wanted before the retry: REVIVE, and the stale SUPPRESS is not sent again.
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    expect(h.conn.types().at(-1)).toBe('REVIVE');
    h.timers.advance(1_000);
    await settle();
    expect(h.conn.of('SUPPRESS')).toHaveLength(suppresses);
  });

  it('forgets the offers of a subscription that ended', async () => {
    h = await startDriver(s);
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('small-1', 'agent-1', 'small-host')] } });
    await eventually('the matcher asked', () => h!.matcher.inputs.length === 1);
    h.conn.disconnect('connection reset');
    await h.conn.subscribed('fw-1');
    h.timers.advance(60_000);
    await settle();
    expect(declined(h)).toEqual([]);
  });

  it('passes the pending workers, the placed ones, the constraints and the roles to the matcher', async () => {
    h = await startDriver(s, { constraints: [{ field: 'hostname', operator: 'UNIQUE' }], framework: { user: 'sluice', roles: ['analytics'] } });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-1', 'host-1')] } });
    await eventually('the launch', () => h!.conn.of('ACCEPT').length === 1);
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2', 'agent-2', 'host-2')] } });
    await eventually('the second launch', () => h!.conn.of('ACCEPT').length === 2);
    const input = h.matcher.inputs.at(-1)!;
    expect(input.pending.map((p) => p.workerId)).toEqual(['taskmanager-2']);
    expect(input.placed).toEqual([{ workerId: 'taskmanager-1', agentId: 'agent-1', hostname: 'host-1', attributes: { rack: 'rack-of-host-1' }, zone: 'zone-a' }]);
    expect(input.constraints).toEqual([{ field: 'hostname', operator: 'UNIQUE' }]);
    expect(input.roles).toEqual(['analytics']);
  });
});

describe('the mesos driver failure-rate brake', () => {
  it('holds a new launch back once too many workers failed, and launches it when the delay has passed', async () => {
    h = await startDriver(s, { failureRate: { maxFailures: 1, intervalMs: 60_000, retryDelayMs: 5_000 } });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the launch', () => h!.conn.of('ACCEPT').length === 1);
    h.conn.push(status('taskmanager-1', 'TASK_FAILED', { reason: 'REASON_CONTAINER_LAUNCH_FAILED' }));
    await eventually('the failure', () => h!.events.terminated.length === 1);
    // The ResourceManager replaces the worker; the driver records it but waits before launching.
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    expect(h.lines.some((l) => l.includes('taskmanager-2 waits 5000 ms'))).toBe(true);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2')] } });
    await eventually('the offer declined', () => declined(h!).length === 1);
    expect(h.conn.of('ACCEPT')).toHaveLength(1);
    expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([['taskmanager-2', 'new']]);
    const revives = h.conn.of('REVIVE').length;
    h.timers.advance(5_000); // the failure is still within the interval: the brake stays on
    await settle();
    expect(h.conn.of('REVIVE')).toHaveLength(revives);
    h.timers.advance(55_000);
    await eventually('a REVIVE once the brake is off', () => h!.conn.of('REVIVE').length === revives + 1);
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o3')] } });
    await eventually('the replacement launched', () => h!.conn.of('ACCEPT').length === 2);
    expect(await h.driver.metrics.registry.getSingleMetricAsString('sluice_mesos_task_failures_total')).toContain('state="TASK_FAILED"} 1');
  });

  it('counts no failure for a worker it was asked to release', async () => {
    h = await startDriver(s, { failureRate: { maxFailures: 1, intervalMs: 60_000, retryDelayMs: 5_000 } });
    await h.conn.subscribed('fw-1');
    await h.driver.requestWorker({ resourceId: 'rm-1', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o1')] } });
    await eventually('the launch', () => h!.conn.of('ACCEPT').length === 1);
    await h.driver.releaseWorker('rm-1');
    h.conn.push(status('taskmanager-1', 'TASK_KILLED'));
    await eventually('the end', () => h!.events.terminated.length === 1);
    await h.driver.requestWorker({ resourceId: 'rm-2', numberOfSlots: 1 });
    h.conn.push({ type: 'OFFERS', offers: { offers: [offer('o2')] } });
    await eventually('launched at once', () => h!.conn.of('ACCEPT').length === 2);
  });
});
