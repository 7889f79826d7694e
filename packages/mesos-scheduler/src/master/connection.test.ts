/**
 * The master connection against a scripted master (testing-master.test-helper.ts): what goes on
 * the wire, redirects, retries, calls, close. Bad input on the stream and heartbeats are in
 * connection-stream.test.ts, TLS and credentials in connection-security.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameworkInfo } from '@sluice/mesos-proto';
import { createMasterConnection, type HttpMasterConnection } from './connection.js';
import { MesosCallError } from './errors.js';
import type { MasterConnectionOptions, MasterConnectionState } from './options.js';
import { capturingLogger, RecordingScheduler, type SubscribeContext, TestingMesosMaster } from './testing-master.test-helper.js';

const FRAMEWORK: FrameworkInfo = { user: 'sluice', name: 'sluice-test', failover_timeout: 604_800, checkpoint: true };

const masters: TestingMesosMaster[] = [];
const connections: HttpMasterConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(masters.splice(0).map((m) => m.stop()));
});

async function startMaster(): Promise<TestingMesosMaster> {
  const m = await TestingMesosMaster.start();
  masters.push(m);
  return m;
}

function connect(options: Partial<MasterConnectionOptions> & { master: string }) {
  const log = capturingLogger();
  const states: MasterConnectionState[] = [];
  const connection = createMasterConnection({
    logger: log.logger,
    backoffInitialMs: 5,
    backoffMaxMs: 40,
    random: () => 0.5,
    onStateChange: (state) => states.push(state),
    ...options,
  });
  connections.push(connection);
  const scheduler = new RecordingScheduler();
  return { connection, scheduler, log, states };
}

describe('SUBSCRIBE and calls', () => {
  it.each([
    ['protobuf', 'application/x-protobuf'],
    ['json', 'application/json'],
  ] as const)('subscribes in %s with the exact media types, then sends calls with the stream id', async (encoding, mediaType) => {
    const m = await startMaster();
    const { connection, scheduler, states } = connect({ master: m.address, encoding });
    expect(connection.state).toBe('idle');
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');

    const [subscribe] = m.subscribes();
    expect(subscribe?.method).toBe('POST');
    expect(subscribe?.path).toBe('/api/v1/scheduler');
    expect(subscribe?.headers['content-type']).toBe(mediaType);
    expect(subscribe?.headers.accept).toBe(mediaType);
    expect(subscribe?.headers['mesos-stream-id']).toBeUndefined();
    expect(subscribe?.headers.authorization).toBeUndefined();
    // A new framework: no id at the top level nor in framework_info.
    expect(subscribe?.call).toEqual({ type: 'SUBSCRIBE', subscribe: { framework_info: FRAMEWORK } });

    const streamId = m.streams[0]?.streamId as string;
    expect(scheduler.subscribed).toEqual([{ frameworkId: 'fw-1', heartbeatIntervalSeconds: 15, masterHost: m.address, streamId }]);
    expect(connection.state).toBe('subscribed');
    expect(states).toEqual(['subscribing', 'subscribed']);

    await connection.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'taskmanager-1' } }] } });
    await connection.call({ type: 'SUPPRESS', framework_id: { value: 'fw-1' }, suppress: { roles: ['sluice'] } });
    const calls = m.calls();
    expect(calls.map((c) => c.headers['mesos-stream-id'])).toEqual([streamId, streamId]);
    expect(calls.map((c) => c.headers['content-type'])).toEqual([mediaType, mediaType]);
    expect(calls[0]?.call).toEqual({ type: 'RECONCILE', framework_id: { value: 'fw-1' }, reconcile: { tasks: [{ task_id: { value: 'taskmanager-1' } }] } });
    expect(calls[1]?.call).toEqual({ type: 'SUPPRESS', framework_id: { value: 'fw-1' }, suppress: { roles: ['sluice'] } });
    expect(connection.stats).toMatchObject({ state: 'subscribed', master: m.address, subscriptions: 1, resubscriptions: 0, disconnections: 0 });
  });

  it('resubscribes with the framework id the scheduler stored, at the top level and in framework_info', async () => {
    const m = await startMaster();
    const { connection, scheduler, log } = connect({ master: m.address });
    let stored: string | undefined;
    scheduler.onSubscribedHook = () => {
      stored = scheduler.subscribed.at(-1)?.frameworkId;
    };
    connection.start(() => ({ ...FRAMEWORK, ...(stored === undefined ? {} : { id: { value: stored } }) }), scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    (await m.stream(0)).end();
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');

    expect(m.subscribes()[1]?.call).toEqual({ type: 'SUBSCRIBE', framework_id: { value: 'fw-1' }, subscribe: { framework_info: { ...FRAMEWORK, id: { value: 'fw-1' } } } });
    expect(m.subscribes()[1]?.headers['mesos-stream-id']).toBeUndefined();
    expect(scheduler.log).toEqual(['subscribed', 'disconnected', 'subscribed']);
    expect(scheduler.disconnects).toEqual([`master ${m.address} closed the event stream`]);
    expect(log.lines.some((l) => l.includes(`master ${m.address} closed the event stream; subscribing again in`))).toBe(true);
    // Calls go with the new stream's id.
    await connection.call({ type: 'REVIVE', revive: {} });
    expect(m.calls()[0]?.headers['mesos-stream-id']).toBe(m.streams[1]?.streamId);
    expect(connection.stats).toMatchObject({ subscriptions: 2, resubscriptions: 1, disconnections: 1 });
  });

  it('refuses calls while not subscribed, and SUBSCRIBE through call()', async () => {
    const m = await startMaster();
    m.onSubscribe = (ctx) => void ctx.accept(); // a stream that never says SUBSCRIBED
    const { connection, scheduler } = connect({ master: m.address });
    await expect(connection.call({ type: 'REVIVE' })).rejects.toMatchObject({ code: 'MESOS_NOT_SUBSCRIBED', retriable: true });
    connection.start(() => FRAMEWORK, scheduler);
    await m.stream(0);
    expect(connection.state).toBe('subscribing');
    await expect(connection.call({ type: 'REVIVE' })).rejects.toMatchObject({ code: 'MESOS_NOT_SUBSCRIBED', message: expect.stringContaining("state 'subscribing'") });
    await expect(connection.call({ type: 'SUBSCRIBE' })).rejects.toMatchObject({ code: 'MESOS_CALL_INVALID' });
    await connection.close();
    await expect(connection.call({ type: 'REVIVE' })).rejects.toMatchObject({ code: 'MESOS_NOT_SUBSCRIBED', retriable: false });
    expect(m.calls()).toEqual([]);
  });

  it("rejects a refused call with MesosCallError carrying the status, the master's body and the call type", async () => {
    const m = await startMaster();
    const { connection, scheduler } = connect({ master: m.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');

    m.onCall = () => ({ status: 400, body: 'Framework cannot be found' });
    const refused = await connection.call({ type: 'KILL', kill: { task_id: { value: 't1' } } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MesosCallError);
    expect(refused).toMatchObject({ code: 'MESOS_CALL_REJECTED', status: 400, body: 'Framework cannot be found', callType: 'KILL', retriable: false });
    expect((refused as Error).message).toBe(`Mesos master ${m.address} answered KILL with HTTP 400: Framework cannot be found`);

    m.onCall = () => ({ status: 503 });
    await expect(connection.call({ type: 'REVIVE' })).rejects.toMatchObject({ code: 'MESOS_CALL_REJECTED', status: 503, retriable: true });

    m.onCall = () => 'destroy';
    const failed = await connection.call({ type: 'REVIVE' }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'MESOS_CALL_FAILED', status: undefined, callType: 'REVIVE', retriable: true });

    // UPDATE_FRAMEWORK is answered 200, not 202.
    m.onCall = () => ({ status: 200 });
    await connection.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...FRAMEWORK, id: { value: 'fw-1' } } } });
    expect(connection.state).toBe('subscribed');
  });
});

describe('TEARDOWN', () => {
  /** Subscribed to a master that ends the framework's stream while it answers the next call with `status`, as Mesos does on TEARDOWN. */
  async function subscribedTo(status: number) {
    const m = await startMaster();
    const connected = connect({ master: m.address });
    connected.connection.start(() => FRAMEWORK, connected.scheduler);
    await connected.scheduler.until(() => connected.scheduler.subscribed.length === 1, 'SUBSCRIBED');
    const stream = await m.stream(0);
    m.onCall = () => {
      stream.end();
      return { status };
    };
    return { m, ...connected };
  }

  it('closes the connection once the master accepted it: the stream it ends is no disconnection and nothing resubscribes', async () => {
    const { m, connection, scheduler, log, states } = await subscribedTo(202);
    await connection.call({ type: 'TEARDOWN' });
    expect(connection.state).toBe('closed');
    await m.until(() => m.connections === 0, 'every connection closed');
    expect(states.at(-1)).toBe('closed');
    expect(scheduler.disconnects).toEqual([]);
    expect(m.subscribes()).toHaveLength(1);
    expect(log.lines.filter((l) => / WARN | ERROR /.test(l))).toEqual([]);
  });

  it('keeps the subscription when the master refuses it; a stream lost meanwhile is a disconnection as any other', async () => {
    const { connection, scheduler } = await subscribedTo(503);
    await expect(connection.call({ type: 'TEARDOWN' })).rejects.toMatchObject({ code: 'MESOS_CALL_REJECTED', status: 503 });
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');
    expect(scheduler.disconnects).toHaveLength(1);
    expect(connection.state).toBe('subscribed');
  });
});

describe('finding the leader', () => {
  it('follows a protocol-relative 307 to the leader and goes back to it directly after a disconnection', async () => {
    const follower = await startMaster();
    const leader = await startMaster();
    follower.onSubscribe = (ctx) => ctx.answer(307, '', { Location: `//127.0.0.1:${leader.port}/api/v1/scheduler` });
    const { connection, scheduler, log } = connect({ master: follower.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    expect(scheduler.subscribed[0]?.masterHost).toBe(leader.address);
    expect(log.lines.some((l) => l.includes(`Mesos master ${follower.address} is not the leader; following its redirect to ${leader.address}`))).toBe(true);

    await connection.call({ type: 'REVIVE' });
    expect(leader.calls()).toHaveLength(1);
    (await leader.stream(0)).end();
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');
    expect(follower.subscribes()).toHaveLength(1);
    expect(leader.subscribes()).toHaveLength(2);
  });

  it('breaks a redirect loop with a log line and a backoff', async () => {
    const a = await startMaster();
    const b = await startMaster();
    a.onSubscribe = (ctx) => ctx.answer(307, '', { Location: `//127.0.0.1:${b.port}/api/v1/scheduler` });
    b.onSubscribe = (ctx) => {
      if (b.subscribes().length === 1) ctx.answer(307, '', { Location: `//127.0.0.1:${a.port}/api/v1/scheduler` });
      else ctx.accept().subscribed('fw-1');
    };
    const { connection, scheduler, log } = connect({ master: a.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    expect(log.lines.some((l) => l.includes(`redirect loop among the Mesos masters (${a.address} → ${b.address} → ${a.address})`))).toBe(true);
    // a was not asked again within the loop; the retry went to b, the leader a had named.
    expect(scheduler.subscribed[0]?.masterHost).toBe(b.address);
    expect(a.subscribes()).toHaveLength(1);
    expect(b.subscribes()).toHaveLength(2);
  });

  it('tries the masters of a list in turn, past one that does not answer', async () => {
    const gone = await startMaster();
    const port = gone.port;
    await gone.stop();
    masters.splice(masters.indexOf(gone), 1);
    const up = await startMaster();
    const { connection, scheduler } = connect({ master: `127.0.0.1:${port},http://${up.address}` });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    expect(scheduler.subscribed[0]?.masterHost).toBe(up.address);
  });

  it('retries a 503 (no leader yet) with a growing backoff', async () => {
    const m = await startMaster();
    m.onSubscribe = (ctx) => {
      if (m.subscribes().length <= 3) ctx.answer(503, 'No leader elected');
      else ctx.accept().subscribed('fw-1');
    };
    const { connection, scheduler, log, states } = connect({ master: m.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    const retries = log.lines.filter((l) => l.includes(`master ${m.address} has no elected leader or is still recovering (503): "No leader elected"; subscribing again in`));
    // 5 ms doubling, half of it random (0.5 here): 4, 8, 15 ms.
    expect(retries.map((l) => /again in (\d+) ms/.exec(l)?.[1])).toEqual(['4', '8', '15']);
    expect(retries.every((l) => l.includes(' WARN '))).toBe(true);
    expect(states).toEqual(['subscribing', 'subscribed']);
    expect(connection.stats.lastError).toContain('(503)');
  });

  it('logs what to do about a 401 and keeps retrying', async () => {
    const m = await startMaster();
    m.onSubscribe = (ctx) => {
      if (m.subscribes().length <= 2) ctx.answer(401, '');
      else ctx.accept().subscribed('fw-1');
    };
    const { connection, scheduler, log } = connect({ master: m.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    const lines = log.lines.filter((l) => l.includes('(401)'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(' ERROR ');
    expect(lines[0]).toContain(`master ${m.address} requires authentication (401) and no credentials were given: give --mesos-principal and --mesos-secret-file; subscribing again in`);
  });
});

describe('masters that do not answer as Mesos does', () => {
  it.each([
    ['never answers SUBSCRIBE', () => {}, /no SUBSCRIBED event from master .* within 50 ms; subscribing again in/],
    ['opens a stream but never sends SUBSCRIBED', (ctx: SubscribeContext) => void ctx.accept(), /no SUBSCRIBED event from master .* within 50 ms; subscribing again in/],
    ['answers 200 without a Mesos-Stream-Id', (ctx: SubscribeContext) => ctx.answer(200, ''), /answered SUBSCRIBE without a Mesos-Stream-Id header: is it a Mesos master \(1.0 or later\)\?; subscribing again in/],
  ])('gives up on a master that %s and tries again', async (_what, first, pattern) => {
    const m = await startMaster();
    m.onSubscribe = (ctx) => {
      if (m.subscribes().length === 1) first(ctx);
      else ctx.accept().subscribed('fw-1');
    };
    const { connection, scheduler, log } = connect({ master: m.address, subscribeTimeoutMs: 50 });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    expect(log.lines.some((l) => pattern.test(l))).toBe(true);
    expect(scheduler.log).toEqual(['subscribed']);
  });
});

describe('close', () => {
  it('ends the stream, the keep-alive sockets and the retry timer', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const m = await startMaster();
    const { connection, scheduler, states } = connect({ master: m.address });
    connection.start(() => FRAMEWORK, scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    await connection.call({ type: 'REVIVE' });
    await connection.call({ type: 'REVIVE' });
    expect(m.connections).toBeGreaterThanOrEqual(2);

    await connection.close();
    await m.until(() => m.connections === 0, 'every connection closed');
    expect(m.streams[0]?.closed).toBe(true);
    expect(connection.state).toBe('closed');
    expect(states.at(-1)).toBe('closed');
    expect(scheduler.disconnects).toEqual([]);
    expect(timers()).toBe(before);
  });

  it('stops retrying when closed during a backoff', async () => {
    const m = await startMaster();
    m.onSubscribe = (ctx) => ctx.answer(503);
    const { connection, scheduler, log } = connect({ master: m.address, backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    connection.start(() => FRAMEWORK, scheduler);
    await log.until(/subscribing again in/);
    expect(timers()).toBe(before + 1);
    await connection.close();
    expect(timers()).toBe(before);
    await m.until(() => m.connections === 0, 'every connection closed');
    expect(m.subscribes()).toHaveLength(1);
  });
});
