/**
 * The event stream of the master connection: records split anywhere, bad input (broken framing,
 * oversize records, undecodable and unknown events), ERROR events, missed heartbeats, and the
 * order of delivery around an asynchronous onSubscribed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord, encodeSchedulerEvent, type FrameworkInfo, type Offer, type SchedulerEvent } from '@sluice/mesos-proto';
import { createMasterConnection, type HttpMasterConnection } from './connection.js';
import type { MasterConnectionOptions } from './options.js';
import { capturingLogger, RecordingScheduler, TestingMesosMaster, type TestingStream } from './testing-master.test-helper.js';

const FRAMEWORK: FrameworkInfo = { user: 'sluice', name: 'sluice-test' };
const OFFER: Offer = {
  id: { value: 'offer-1' },
  framework_id: { value: 'fw-1' },
  agent_id: { value: 'agent-1' },
  hostname: 'agent-1.example.com',
  resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 4 } }],
};
const OFFERS: SchedulerEvent = { type: 'OFFERS', offers: { offers: [OFFER] } };
const RESCIND: SchedulerEvent = { type: 'RESCIND', rescind: { offer_id: { value: 'offer-1' } } };

const masters: TestingMesosMaster[] = [];
const connections: HttpMasterConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(masters.splice(0).map((m) => m.stop()));
});

/** A master whose first stream runs `script` after SUBSCRIBED; later SUBSCRIBEs are accepted plainly. */
async function setUp(script: (stream: TestingStream) => void | Promise<void>, options: Partial<MasterConnectionOptions> = {}) {
  const master = await TestingMesosMaster.start();
  masters.push(master);
  master.onSubscribe = (ctx) => {
    const stream = ctx.accept();
    if (master.streams.length > 1) return stream.subscribed('fw-1');
    void script(stream);
  };
  const log = capturingLogger();
  const connection = createMasterConnection({ master: master.address, logger: log.logger, backoffInitialMs: 5, backoffMaxMs: 40, random: () => 0.5, ...options });
  connections.push(connection);
  const scheduler = new RecordingScheduler();
  connection.start(() => FRAMEWORK, scheduler);
  return { master, connection, scheduler, log };
}

describe('reading the event stream', () => {
  it('reassembles records split at every byte', async () => {
    const bytes = Buffer.concat(
      [
        { type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' }, heartbeat_interval_seconds: 15 } },
        OFFERS,
        { type: 'HEARTBEAT' },
        RESCIND,
      ].map((e) => encodeRecord(encodeSchedulerEvent(e as SchedulerEvent, 'protobuf'))),
    );
    const { scheduler } = await setUp(async (stream) => {
      for (const byte of bytes) {
        stream.sendRaw(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await scheduler.until(() => scheduler.events.length === 2, 'OFFERS and RESCIND');
    expect(scheduler.log).toEqual(['subscribed', 'OFFERS', 'RESCIND']);
    expect(scheduler.events).toEqual([OFFERS, RESCIND]);
  });

  it('skips a record of an unknown event type and one that does not decode, and keeps the stream', async () => {
    const { master, scheduler, log } = await setUp((stream) => {
      stream.subscribed('fw-1');
      stream.sendRaw(encodeRecord(Buffer.from([0x08, 0x63]))); // Event.type = 99, newer than our schema
      stream.sendRaw(encodeRecord(Buffer.from([0xff, 0xff, 0xff, 0xff])));
      stream.send(RESCIND);
    });
    await scheduler.until(() => scheduler.events.length === 1, 'RESCIND');
    expect(scheduler.log).toEqual(['subscribed', 'RESCIND']);
    expect(log.lines.some((l) => l.includes(`skipping an event of a type this scheduler does not know from master ${master.address}`))).toBe(true);
    expect(log.lines.some((l) => l.includes(`skipping an event from master ${master.address} that does not decode (4 bytes)`))).toBe(true);
    expect(master.subscribes()).toHaveLength(1);
  });

  it.each([
    ['a truncated stream', (s: TestingStream) => (s.sendRaw('50\n{"type":'), s.end()), 'the event stream was truncated from master .*: RecordIO stream ended inside a record: 8 of 50 bytes received'],
    ['a record over the size limit', (s: TestingStream) => s.sendRaw('100000\n'), 'bad framing on the event stream from master .*: RecordIO record of 100000 bytes exceeds the limit of 4096 bytes'],
    ['a garbage length line', (s: TestingStream) => s.sendRaw('HTTP/1.1 200\n'), 'bad framing on the event stream from master .*: RecordIO length line is not a decimal byte count'],
    ['a cut connection', (s: TestingStream) => s.cut(), 'the event stream from master .* (was cut off|broke)'],
  ])('drops %s with a log line and subscribes again', async (_what, breakIt, pattern) => {
    const { master, scheduler, log } = await setUp(
      (stream) => {
        stream.subscribed('fw-1');
        stream.send(OFFERS);
        breakIt(stream);
      },
      { maxRecordBytes: 4096 },
    );
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');
    expect(scheduler.log).toEqual(['subscribed', 'OFFERS', 'disconnected', 'subscribed']);
    expect(scheduler.disconnects[0]).toMatch(new RegExp(pattern));
    expect(log.lines.some((l) => new RegExp(`WARN .*${pattern}.*; subscribing again in \\d+ ms`).test(l))).toBe(true);
    expect(master.streams[0]?.closed).toBe(true);
  });

  it('skips an unknown event type in JSON too', async () => {
    const { scheduler, log } = await setUp(
      (stream) => {
        stream.subscribed('fw-1');
        stream.sendRaw(encodeRecord('{"type":"FANCY_NEW_EVENT","fancy_new_event":{}}'));
        stream.sendRaw(encodeRecord('{"type":'));
        stream.send(RESCIND);
      },
      { encoding: 'json' },
    );
    await scheduler.until(() => scheduler.events.length === 1, 'RESCIND');
    expect(scheduler.log).toEqual(['subscribed', 'RESCIND']);
    expect(log.lines.filter((l) => l.includes('skipping an event'))).toHaveLength(2);
  });

  it('delivers an ERROR that comes instead of SUBSCRIBED, so the scheduler can drop a removed framework id', async () => {
    const master = await TestingMesosMaster.start();
    masters.push(master);
    master.onSubscribe = (ctx) => {
      const stream = ctx.accept();
      if (ctx.request.call?.framework_id === undefined) stream.subscribed('fw-new');
      else stream.send({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    };
    const connection = createMasterConnection({ master: master.address, logger: capturingLogger().logger, backoffInitialMs: 5 });
    connections.push(connection);
    const scheduler = new RecordingScheduler();
    let stored: string | undefined = 'fw-removed';
    const onEvent = scheduler.onEvent.bind(scheduler);
    scheduler.onEvent = (event) => {
      onEvent(event);
      if (event.type === 'ERROR') stored = undefined;
    };
    connection.start(() => ({ ...FRAMEWORK, ...(stored === undefined ? {} : { id: { value: stored } }) }), scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED as a new framework');
    expect(scheduler.log).toEqual(['ERROR', 'subscribed']);
    expect(scheduler.disconnects).toEqual([]);
    expect(master.subscribes().map((r) => r.call?.framework_id?.value)).toEqual(['fw-removed', undefined]);
    expect(scheduler.subscribed[0]?.frameworkId).toBe('fw-new');
  });

  it('delivers an ERROR event, then treats the stream as ended and subscribes again', async () => {
    const { master, scheduler } = await setUp((stream) => {
      stream.subscribed('fw-1');
      stream.send({ type: 'ERROR', error: { message: 'Framework has been removed' } });
      stream.send(OFFERS); // never read: Mesos closes the stream after an ERROR
    });
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');
    expect(scheduler.log).toEqual(['subscribed', 'ERROR', 'disconnected', 'subscribed']);
    expect(scheduler.events[0]).toEqual({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    expect(scheduler.disconnects).toEqual([`master ${master.address} sent ERROR: Framework has been removed`]);
  });

  it('drops a stream silent for heartbeatMissFactor heartbeat intervals and resubscribes with the stored framework id', async () => {
    let stored: string | undefined;
    const master = await TestingMesosMaster.start();
    masters.push(master);
    master.onSubscribe = (ctx) => {
      // The first stream announces 2 ms heartbeats and then says nothing.
      ctx.accept().subscribed('fw-7', master.streams.length === 1 ? 0.002 : 15);
    };
    const log = capturingLogger();
    const connection = createMasterConnection({ master: master.address, logger: log.logger, backoffInitialMs: 5, minHeartbeatTimeoutMs: 1, heartbeatMissFactor: 5 });
    connections.push(connection);
    const scheduler = new RecordingScheduler();
    scheduler.onSubscribedHook = () => {
      stored = scheduler.subscribed.at(-1)?.frameworkId;
    };
    connection.start(() => ({ ...FRAMEWORK, ...(stored === undefined ? {} : { id: { value: stored } }) }), scheduler);
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');

    expect(scheduler.disconnects[0]).toBe(`no bytes from master ${master.address} for 10 ms (5 × the heartbeat interval of 0.002 s); the stream is presumed dead`);
    expect(master.subscribes()[1]?.call).toMatchObject({ framework_id: { value: 'fw-7' }, subscribe: { framework_info: { id: { value: 'fw-7' } } } });
    expect(master.streams[0]?.closed).toBe(true);
  });

  it('holds later events until an asynchronous onSubscribed has finished', async () => {
    let finish!: () => void;
    const { scheduler } = await setUp((stream) => {
      // One write: both records reach the connection in the same chunk.
      stream.sendRaw(Buffer.concat([
        encodeRecord(encodeSchedulerEvent({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' } } }, 'protobuf')),
        encodeRecord(encodeSchedulerEvent(OFFERS, 'protobuf')),
      ]));
    });
    scheduler.onSubscribedHook = () => new Promise<void>((resolve) => (finish = resolve));
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    await new Promise((resolve) => setImmediate(resolve));
    expect(scheduler.events).toEqual([]);
    finish();
    await scheduler.until(() => scheduler.events.length === 1, 'OFFERS');
    expect(scheduler.log).toEqual(['subscribed', 'OFFERS']);
  });

  it('drops the subscription when onSubscribed fails, without delivering what followed', async () => {
    const { scheduler, log } = await setUp((stream) => {
      stream.sendRaw(Buffer.concat([
        encodeRecord(encodeSchedulerEvent({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' } } }, 'protobuf')),
        encodeRecord(encodeSchedulerEvent(OFFERS, 'protobuf')),
      ]));
    });
    scheduler.onSubscribedHook = () => (scheduler.subscribed.length === 1 ? Promise.reject(new Error('disk full')) : undefined);
    await scheduler.until(() => scheduler.subscribed.length === 2, 'the second SUBSCRIBED');
    expect(scheduler.log).toEqual(['subscribed', 'disconnected', 'subscribed']);
    expect(scheduler.disconnects).toEqual(['the scheduler could not take the subscription as framework fw-1: disk full']);
    expect(log.lines.some((l) => l.includes('ERROR') && l.includes('could not take the subscription as framework fw-1: disk full; subscribing again in'))).toBe(true);
  });

  it('survives handlers that throw', async () => {
    const { scheduler, log } = await setUp((stream) => {
      stream.subscribed('fw-1');
      stream.send(OFFERS);
      stream.send(RESCIND);
    });
    const onEvent = scheduler.onEvent.bind(scheduler);
    scheduler.onEvent = (event) => {
      onEvent(event);
      if (event.type === 'OFFERS') throw new Error('matcher bug');
    };
    await scheduler.until(() => scheduler.events.length === 2, 'both events');
    expect(scheduler.log).toEqual(['subscribed', 'OFFERS', 'RESCIND']);
    expect(log.lines.some((l) => l.includes("the scheduler's handler of a OFFERS event threw: matcher bug"))).toBe(true);
  });
});
