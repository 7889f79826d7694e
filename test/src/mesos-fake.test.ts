/**
 * The Mesos fake's master side, driven with raw node:http and @sluice/mesos-proto in both
 * encodings: SUBSCRIBE and the stream-id rules, the status codes of the reference, offers in
 * both resource formats and MULTI_ROLE, ACCEPT validation, filters, reconciliation, framework
 * failover and removal, authentication, master failover and bad stream input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSchedulerCall, type FrameworkInfo, type MesosEncoding, type Offer, type Resource, type TaskInfo } from '@sluice/mesos-proto';
import { startMesosCluster, type MesosCluster } from './mesos-fake/index.js';
import { FRAMEWORK, TestScheduler, rawPost } from './mesos-fake/testing-scheduler.js';

let cluster: MesosCluster | undefined;
const schedulers: TestScheduler[] = [];

afterEach(async () => {
  for (const s of schedulers.splice(0)) s.close();
  await cluster?.stop();
  cluster = undefined;
});

async function subscribe(c: MesosCluster, info: FrameworkInfo = FRAMEWORK, options: Parameters<typeof TestScheduler.subscribe>[2] = {}): Promise<TestScheduler> {
  const s = await TestScheduler.subscribe(c.masterUrl, info, options);
  schedulers.push(s);
  return s;
}

const caps = (...types: string[]): NonNullable<FrameworkInfo['capabilities']> => types.map((type) => ({ type: type as never }));
const offersOf = async (s: TestScheduler, from = 0): Promise<Offer[]> => (await s.next('OFFERS', () => true, from)).offers?.offers ?? [];
const byName = (offer: Offer, name: string): Resource[] => (offer.resources ?? []).filter((r) => r.name === name);

function executorTask(offer: Offer, id: string, resources: Resource[]): TaskInfo {
  return {
    name: id, task_id: { value: id }, agent_id: offer.agent_id, resources,
    executor: { executor_id: { value: `ex-${id}` }, command: { value: 'true' } },
  };
}

describe.each<MesosEncoding>(['json', 'protobuf'])('Mesos fake master (%s)', (encoding) => {
  it('subscribes: 200, Mesos-Stream-Id, SUBSCRIBED with heartbeat interval and master info, then HEARTBEAT and OFFERS', async () => {
    cluster = await startMesosCluster({ heartbeatIntervalSeconds: 0.2 });
    const s = await subscribe(cluster, FRAMEWORK, { encoding });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe(encoding === 'json' ? 'application/json' : 'application/x-protobuf');
    expect(s.streamId).toMatch(/^[0-9a-f-]{36}$/);
    const subscribed = await s.next('SUBSCRIBED');
    expect(subscribed.subscribed?.heartbeat_interval_seconds).toBe(0.2);
    expect(subscribed.subscribed?.master_info?.address?.port).toBe(Number(new URL(cluster.masterUrl).port));
    const offers = await offersOf(s);
    expect(offers).toHaveLength(1);
    const heartbeats = s.events.filter((e) => e.type === 'HEARTBEAT').length;
    await s.next('HEARTBEAT', () => true, s.events.length);
    expect(s.events.filter((e) => e.type === 'HEARTBEAT').length).toBeGreaterThan(heartbeats);
    expect(cluster.frameworks()[0]?.connected).toBe(true);
  });

  it('checks the stream id and the framework on every other call, with the reference status codes', async () => {
    cluster = await startMesosCluster();
    const s = await subscribe(cluster, FRAMEWORK, { encoding });
    await s.next('SUBSCRIBED');
    expect((await s.call({ type: 'REVIVE' })).status).toBe(202);
    const missing = await s.call({ type: 'REVIVE' }, { 'Mesos-Stream-Id': '' });
    expect(missing.status).toBe(400);
    const wrong = await s.call({ type: 'REVIVE' }, { 'Mesos-Stream-Id': 'not-mine' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.toString()).toContain("didn't match the stream ID");
    const unknown = await s.call({ type: 'REVIVE', framework_id: { value: 'nobody' } });
    expect([unknown.status, unknown.body.toString()]).toEqual([400, 'Framework cannot be found']);
    expect((await s.call({ type: 'UNKNOWN' })).status).toBe(501);
    const noPayload = await s.call({ type: 'ACCEPT' });
    expect([noPayload.status, noPayload.body.toString()]).toEqual([400, "Failed to validate scheduler::Call: Expecting 'accept' to be present"]);
    const badAck = await s.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: Buffer.from('0123456789abcdef0123456789abcdef01234567') } });
    expect(badAck.status).toBe(400);
    // A SUBSCRIBE that carries a stream id is refused.
    const again = await subscribe(cluster, FRAMEWORK, { encoding, headers: { 'Mesos-Stream-Id': s.streamId } });
    expect([again.status, again.body]).toEqual([400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"]);
    expect(cluster.calls({ api: 'scheduler' }).map((c) => c.status)).toEqual([200, 202, 400, 400, 400, 501, 400, 400, 400]);
  });

  it('answers 415, 405, 406 and 400 to malformed requests', async () => {
    cluster = await startMesosCluster();
    const body = encodeSchedulerCall({ type: 'SUBSCRIBE', subscribe: { framework_info: FRAMEWORK } }, encoding);
    const mt = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    expect((await rawPost(cluster.masterUrl, '/api/v1/scheduler', body, { 'Content-Type': `${mt}; charset=utf-8` })).status).toBe(415);
    expect((await rawPost(cluster.masterUrl, '/api/v1/scheduler', body, { 'Content-Type': mt }, 'PUT')).status).toBe(405);
    const notAcceptable = await rawPost(cluster.masterUrl, '/api/v1/scheduler', body, { 'Content-Type': mt, Accept: 'text/html' });
    expect(notAcceptable.status).toBe(406);
    expect((await rawPost(cluster.masterUrl, '/api/v1/scheduler', Buffer.from('{"type":'), { 'Content-Type': 'application/json' })).status).toBe(400);
    const mismatch = encodeSchedulerCall({ type: 'SUBSCRIBE', framework_id: { value: 'x' }, subscribe: { framework_info: FRAMEWORK } }, encoding);
    const m = await rawPost(cluster.masterUrl, '/master/api/v1/scheduler', mismatch, { 'Content-Type': mt });
    expect([m.status, m.body.toString()]).toEqual([400, "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'"]);
  });

  it('offers the pre-refinement format without capabilities and the post-refinement format with RESERVATION_REFINEMENT', async () => {
    cluster = await startMesosCluster({ agents: [{ resources: 'cpus:4;mem:4096;disk:1000;ports:[31000-31009];cpus(ads):2', attributes: 'rack:r1;cores:8;zones:{a,b};ids:[1-3]', domain: { region: 'eu', zone: 'eu-1' } }] });
    const pre = await subscribe(cluster, { ...FRAMEWORK, role: 'ads' }, { encoding });
    const [offer] = await offersOf(pre);
    expect(offer?.allocation_info).toBeUndefined();
    expect(byName(offer!, 'cpus').map((r) => ({ role: r.role, value: r.scalar?.value, alloc: r.allocation_info }))).toEqual([
      { role: '*', value: 4, alloc: undefined },
      { role: 'ads', value: 2, alloc: undefined },
    ]);
    expect(byName(offer!, 'ports')[0]?.ranges?.range).toEqual([{ begin: 31000, end: 31009 }]);
    expect(offer?.attributes?.map((a) => [a.name, a.type])).toEqual([['rack', 'TEXT'], ['cores', 'SCALAR'], ['zones', 'SET'], ['ids', 'RANGES']]);
    expect(offer?.domain?.fault_domain?.zone.name).toBe('eu-1');
    expect(offer?.hostname).toBe(cluster.agents[0]!.ip);
    expect(cluster.agents[0]!.ip).toMatch(/^127\.\d+\.0\.2$/);
    pre.close();
    await cluster.waitFor('offers dropped', () => cluster!.offers().length === 0);
    const post = await subscribe(cluster, { ...FRAMEWORK, roles: ['ads'], capabilities: caps('MULTI_ROLE', 'RESERVATION_REFINEMENT') }, { encoding });
    const [offer2] = await offersOf(post);
    expect(offer2?.allocation_info?.role).toBe('ads');
    expect(byName(offer2!, 'cpus').map((r) => ({ role: r.role, reservations: r.reservations, alloc: r.allocation_info?.role }))).toEqual([
      { role: undefined, reservations: undefined, alloc: 'ads' },
      { role: undefined, reservations: [{ type: 'STATIC', role: 'ads' }], alloc: 'ads' },
    ]);
  });

  it('makes one offer per role for MULTI_ROLE frameworks, with dynamic reservations in the refinement format', async () => {
    cluster = await startMesosCluster({ agents: [{ resources: 'cpus:4;mem:4096;cpus(ads):1' }] });
    cluster.agents[0]!.reserve('cpus:1;mem:512', 'batch', 'ops', { team: 'a' });
    const s = await subscribe(cluster, { ...FRAMEWORK, roles: ['ads', 'batch'], capabilities: caps('MULTI_ROLE', 'RESERVATION_REFINEMENT') }, { encoding });
    const offers = await offersOf(s);
    expect(offers.map((o) => o.allocation_info?.role).sort()).toEqual(['ads', 'batch']);
    const batch = offers.find((o) => o.allocation_info?.role === 'batch')!;
    expect(batch.resources?.every((r) => r.allocation_info?.role === 'batch')).toBe(true);
    expect(batch.resources?.map((r) => [r.name, r.scalar?.value, r.reservations?.[0]?.type, r.reservations?.[0]?.principal])).toEqual([
      ['cpus', 1, 'DYNAMIC', 'ops'],
      ['mem', 512, 'DYNAMIC', 'ops'],
    ]);
    const ads = offers.find((o) => o.allocation_info?.role === 'ads')!;
    // Unreserved resources go with the role holding reservations first.
    expect(ads.resources?.map((r) => [r.name, r.scalar?.value, r.reservations?.[0]?.role ?? '*'])).toEqual([['cpus', 3, '*'], ['mem', 3584, '*'], ['cpus', 1, 'ads']]);
  });

  it('validates ACCEPT: an over-asking task and a metadata-mismatched resource get TASK_ERROR, a stale offer TASK_DROPPED', async () => {
    cluster = await startMesosCluster({ agents: [{ resources: 'cpus:2;mem:1024;cpus(ads):1' }] });
    const s = await subscribe(cluster, { ...FRAMEWORK, roles: ['ads'], capabilities: caps('MULTI_ROLE', 'RESERVATION_REFINEMENT', 'PARTITION_AWARE') }, { encoding });
    const [offer] = await offersOf(s);
    const cpusStar = byName(offer!, 'cpus').find((r) => r.reservations === undefined)!;
    const mem = byName(offer!, 'mem')[0]!;
    const tooMuch = executorTask(offer!, 'too-much', [{ ...cpusStar, scalar: { value: 3 } }]);
    // The reserved cpus echoed without their reservation: metadata differs, so not offered.
    const mismatched = executorTask(offer!, 'mismatch', [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'other' }] }]);
    const both = { ...executorTask(offer!, 'both', [{ ...mem, scalar: { value: 1 } }]), command: { value: 'true' } };
    const ok = executorTask(offer!, 'ok', [{ ...cpusStar, scalar: { value: 1 } }, { ...mem, scalar: { value: 128 } }]);
    const accepted = await s.call({ type: 'ACCEPT', accept: { offer_ids: [offer!.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [tooMuch, mismatched, both, ok] } }], filters: { refuse_seconds: 0 } } });
    expect(accepted.status).toBe(202);
    for (const id of ['too-much', 'mismatch', 'both']) {
      const update = await s.next('UPDATE', (e) => e.update?.status.task_id.value === id);
      expect(update.update?.status).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', source: 'SOURCE_MASTER' });
      expect(update.update?.status.uuid).toBeUndefined();
    }
    expect(cluster.task('ok')?.history[0]).toBe('TASK_STAGING');
    // The offer is used up: reusing it is a stale offer.
    await s.call({ type: 'ACCEPT', accept: { offer_ids: [offer!.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [executorTask(offer!, 'stale', [{ ...cpusStar, scalar: { value: 1 } }])] } }] } });
    const stale = await s.next('UPDATE', (e) => e.update?.status.task_id.value === 'stale');
    expect(stale.update?.status).toMatchObject({ state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER' });
    expect(stale.update?.status.message).toContain('is no longer valid');
  });
});

describe('Mesos fake master: offers, reconciliation and frameworks', () => {
  it('declines with filters, SUPPRESS stops offers, REVIVE clears filters; a non-PARTITION_AWARE stale offer is TASK_LOST', async () => {
    cluster = await startMesosCluster({ allocationIntervalMs: 50 });
    const s = await subscribe(cluster);
    const [offer] = await offersOf(s);
    await s.call({ type: 'DECLINE', decline: { offer_ids: [offer!.id], filters: { refuse_seconds: 3600 } } });
    await s.call({ type: 'SUPPRESS' });
    const before = s.events.length;
    await s.call({ type: 'REVIVE' });
    const [again] = await offersOf(s, before);
    expect(again?.id.value).not.toBe(offer!.id.value);
    await s.call({ type: 'ACCEPT', accept: { offer_ids: [offer!.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [executorTask(offer!, 't1', byName(offer!, 'cpus'))] } }] } });
    const lost = await s.next('UPDATE', (e) => e.update?.status.task_id.value === 't1');
    expect(lost.update?.status).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_INVALID_OFFERS' });
  });

  it('rescinds an offer on timeout and on request', async () => {
    cluster = await startMesosCluster({ offerTimeoutMs: 100, allocationIntervalMs: 60_000 });
    const s = await subscribe(cluster);
    const [offer] = await offersOf(s);
    const rescind = await s.next('RESCIND');
    expect(rescind.rescind?.offer_id.value).toBe(offer!.id.value);
    const [next] = await offersOf(s, s.events.indexOf(rescind));
    expect(cluster.rescindOffer(next!.id.value)).toBe(true);
    await s.next('RESCIND', (e) => e.rescind?.offer_id.value === next!.id.value);
  });

  it('reconciles unknown tasks by partition awareness and answers without uuid', async () => {
    cluster = await startMesosCluster();
    const pa = await subscribe(cluster, { ...FRAMEWORK, capabilities: caps('PARTITION_AWARE') });
    await pa.next('SUBSCRIBED');
    const agentId = cluster.agents[0]!.id;
    await pa.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'nope' } }, { task_id: { value: 'gone' }, agent_id: { value: agentId } }] } });
    const unknown = await pa.next('UPDATE', (e) => e.update?.status.task_id.value === 'nope');
    expect(unknown.update?.status).toMatchObject({ state: 'TASK_UNKNOWN', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' });
    expect(unknown.update?.status.uuid).toBeUndefined();
    expect((await pa.next('UPDATE', (e) => e.update?.status.task_id.value === 'gone')).update?.status.state).toBe('TASK_GONE');
    const plain = await subscribe(cluster, { ...FRAMEWORK, name: 'other' });
    await plain.next('SUBSCRIBED');
    await plain.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'nope' } }] } });
    expect((await plain.next('UPDATE')).update?.status.state).toBe('TASK_LOST');
    await plain.call({ type: 'KILL', kill: { task_id: { value: 'ghost' } } });
    expect((await plain.next('UPDATE', (e) => e.update?.status.task_id.value === 'ghost')).update?.status.state).toBe('TASK_LOST');
  });

  it('keeps one subscription per framework: a new SUBSCRIBE fails the old stream over', async () => {
    cluster = await startMesosCluster();
    const first = await subscribe(cluster);
    const id = (await first.next('SUBSCRIBED')).subscribed!.framework_id;
    const second = await subscribe(cluster, { ...FRAMEWORK, id }, { encoding: 'protobuf' });
    expect(second.status).toBe(200);
    expect((await second.next('SUBSCRIBED')).subscribed?.framework_id.value).toBe(id.value);
    expect((await first.next('ERROR')).error?.message).toBe('Framework failed over');
    await first.waitEnded();
    expect(second.streamId).not.toBe(first.streamId);
    // The old stream id no longer works.
    expect((await first.call({ type: 'REVIVE' })).status).toBe(400);
    expect(cluster.frameworks()[0]?.streamIds).toEqual([first.streamId, second.streamId]);
  });

  it('removes a framework after its failover timeout and on TEARDOWN; a later SUBSCRIBE gets "Framework has been removed"', async () => {
    cluster = await startMesosCluster();
    const s = await subscribe(cluster, { ...FRAMEWORK, failover_timeout: 0.05 });
    const id = (await s.next('SUBSCRIBED')).subscribed!.framework_id;
    s.close();
    await cluster.waitFor('framework removed', () => cluster!.frameworks().length === 0);
    const back = await subscribe(cluster, { ...FRAMEWORK, id });
    expect((await back.next('ERROR')).error?.message).toBe('Framework has been removed');
    await back.waitEnded();
    const t = await subscribe(cluster);
    await t.next('SUBSCRIBED');
    expect((await t.call({ type: 'TEARDOWN' })).status).toBe(202);
    await t.waitEnded();
    expect(cluster.frameworks()).toEqual([]);
    expect((await t.call({ type: 'REVIVE' })).status).toBe(400);
  });

  it('answers 403 to a framework that is known but not connected', async () => {
    cluster = await startMesosCluster();
    const s = await subscribe(cluster);
    await s.next('SUBSCRIBED');
    s.close();
    await cluster.waitFor('disconnected', () => cluster!.frameworks()[0]?.connected === false);
    const answer = await s.call({ type: 'REVIVE' });
    expect([answer.status, answer.body.toString()]).toEqual([403, 'Framework is not subscribed']);
  });

  it('requires HTTP Basic credentials when authentication is on', async () => {
    cluster = await startMesosCluster({ authenticate: { principal: 'sluice', secret: 's3cret' } });
    const none = await subscribe(cluster);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="mesos"');
    const basic = (p: string, secret: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${p}:${secret}`).toString('base64')}` });
    expect((await subscribe(cluster, FRAMEWORK, { headers: basic('sluice', 'wrong') })).status).toBe(401);
    const mismatch = await subscribe(cluster, { ...FRAMEWORK, principal: 'other' }, { headers: basic('sluice', 's3cret') });
    expect(mismatch.status).toBe(400);
    const ok = await subscribe(cluster, FRAMEWORK, { headers: basic('sluice', 's3cret') });
    await ok.next('SUBSCRIBED');
    expect(cluster.frameworks()[0]?.info.principal).toBe('sluice');
    expect((await ok.call({ type: 'REVIVE' })).status).toBe(202);
  });

  it('fails over to a new leader: streams close, the old leader redirects (307, protocol-relative), the new one is briefly 503', async () => {
    cluster = await startMesosCluster({ masters: 3, recoveringMs: 300 });
    const s = await subscribe(cluster);
    const id = (await s.next('SUBSCRIBED')).subscribed!.framework_id;
    cluster.failoverMaster(2);
    await s.waitEnded();
    const redirected = await subscribe(cluster, { ...FRAMEWORK, id });
    expect(redirected.status).toBe(307);
    const newPort = new URL(cluster.masterUrls[2]!).port;
    expect(redirected.headers.location).toBe(`//127.0.0.1:${newPort}/api/v1/scheduler`);
    const first = await TestScheduler.subscribe(cluster.masterUrls[2]!, { ...FRAMEWORK, id });
    schedulers.push(first);
    expect([first.status, first.body]).toEqual([503, 'Master has not finished recovery']);
    // The scheduler's own retry: back off until the new leader has recovered.
    let again = first;
    for (let attempt = 0; again.status === 503 && attempt < 200; attempt++) {
      await new Promise((r) => setTimeout(r, 25));
      again = await TestScheduler.subscribe(cluster.masterUrls[2]!, { ...FRAMEWORK, id });
      schedulers.push(again);
    }
    expect(again.status).toBe(200);
    expect((await again.next('SUBSCRIBED')).subscribed?.framework_id.value).toBe(id.value);
    await again.next('OFFERS');
    const redirect = await rawPost(cluster.masterUrls[0]!, '/master/redirect', '', {}, 'GET');
    expect([redirect.status, redirect.headers.location]).toEqual([307, `//127.0.0.1:${newPort}`]);
    cluster.failoverMaster(undefined);
    const noLeader = await TestScheduler.subscribe(cluster.masterUrls[1]!, { ...FRAMEWORK, id });
    schedulers.push(noLeader);
    expect(noLeader.status).toBe(503);
  });
});

describe('Mesos fake master: injected faults and operator endpoints', () => {
  it('writes bad bytes on a stream: truncated record, oversized record, garbage length line, unknown event type, ERROR', async () => {
    cluster = await startMesosCluster();
    const cases: [Parameters<MesosCluster['injectStreamFault']>[1], string | undefined][] = [
      [{ kind: 'truncated' }, 'RECORDIO_TRUNCATED'],
      [{ kind: 'oversized', bytes: 2 ** 40 }, 'RECORDIO_TOO_LARGE'],
      [{ kind: 'garbage-length' }, 'RECORDIO_INVALID'],
    ];
    for (const [fault, code] of cases) {
      const s = await subscribe(cluster);
      const id = (await s.next('SUBSCRIBED')).subscribed!.framework_id.value;
      cluster.injectStreamFault(id, fault);
      await s.waitEnded();
      expect((s.streamError as { code?: string } | undefined)?.code).toBe(code);
    }
    for (const encoding of ['json', 'protobuf'] as const) {
      const s = await subscribe(cluster, FRAMEWORK, { encoding });
      const id = (await s.next('SUBSCRIBED')).subscribed!.framework_id.value;
      const before = s.events.length;
      cluster.injectStreamFault(id, { kind: 'unknown-event' });
      cluster.injectStreamFault(id, { kind: 'error-event', message: 'boom' });
      expect((await s.next('ERROR', () => true, before)).error?.message).toBe('boom');
      // The unknown event decodes without a type, as the codec does for enum values it does not know.
      expect(s.events.slice(before).some((e) => e.type === undefined)).toBe(true);
      await s.waitEnded();
      expect(s.streamError).toBeUndefined();
    }
  });

  it('answers the next N calls with a given status', async () => {
    cluster = await startMesosCluster();
    cluster.failNextCalls(2, 503, { body: 'Master has not finished recovery', types: ['SUBSCRIBE'] });
    const a = await subscribe(cluster);
    const b = await subscribe(cluster);
    expect([a.status, a.body, b.status]).toEqual([503, 'Master has not finished recovery', 503]);
    const c = await subscribe(cluster);
    await c.next('SUBSCRIBED');
    cluster.failNextCalls(1, 500);
    expect((await c.call({ type: 'REVIVE' })).status).toBe(500);
    expect((await c.call({ type: 'REVIVE' })).status).toBe(202);
  });

  it('serves /master/state, /health and /metrics/snapshot', async () => {
    cluster = await startMesosCluster({ agents: [{}, { resources: 'cpus:2;mem:512' }] });
    const s = await subscribe(cluster);
    await s.next('OFFERS');
    const state = JSON.parse((await rawPost(cluster.masterUrl, '/master/state', '', {}, 'GET')).body.toString()) as Record<string, unknown>;
    expect((state.slaves as { hostname: string }[]).map((a) => a.hostname)).toEqual(cluster.agents.map((a) => a.ip));
    expect((state.frameworks as { id: string; active: boolean }[])[0]?.active).toBe(true);
    expect((await rawPost(cluster.masterUrl, '/health', '', {}, 'GET')).status).toBe(200);
    const metrics = JSON.parse((await rawPost(cluster.masterUrl, '/metrics/snapshot', '', {}, 'GET')).body.toString()) as Record<string, number>;
    expect(metrics['master/elected']).toBe(1);
    expect(metrics['master/frameworks_connected']).toBe(1);
    expect(metrics['master/slaves_active']).toBe(2);
    expect(metrics['master/outstanding_offers']).toBeGreaterThan(0);
  });
});


