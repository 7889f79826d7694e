import { describe, expect, it } from 'vitest';
import {
  decodeExecutorCall, decodeMessage, decodeSchedulerCall, decodeSchedulerEvent, encodeExecutorCall, encodeMessage,
  encodeSchedulerCall, encodeSchedulerEvent, encodingOfMediaType, MesosCodecError, MESOS_MEDIA_TYPES,
  type MesosEncoding, type SchedulerCall,
} from './index.js';

const FW = { value: 'fw-1' };
const ENCODINGS: MesosEncoding[] = ['protobuf', 'json'];

function codecError(fn: () => unknown): MesosCodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MesosCodecError);
    return err as MesosCodecError;
  }
  throw new Error('expected a MesosCodecError');
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const event = (value: unknown) => decodeSchedulerEvent(json(value), 'json');

describe('media types', () => {
  it('accepts exactly the two media types Mesos accepts', () => {
    expect(encodingOfMediaType(MESOS_MEDIA_TYPES.protobuf)).toBe('protobuf');
    expect(encodingOfMediaType('application/json')).toBe('json');
    expect(encodingOfMediaType('application/json; charset=utf-8')).toBeUndefined();
    expect(encodingOfMediaType(undefined)).toBeUndefined();
  });
});

describe('encoding', () => {
  it('round-trips a call through both encodings', () => {
    const call: SchedulerCall = {
      framework_id: FW, type: 'ACCEPT',
      accept: {
        offer_ids: [{ value: 'o-1' }],
        operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 't', task_id: { value: 't-1' }, agent_id: { value: 'a' }, command: { value: 'true' } }] } }],
        filters: { refuse_seconds: Infinity },
      },
    };
    for (const enc of ENCODINGS) expect(decodeSchedulerCall(encodeSchedulerCall(call, enc), enc), enc).toEqual(call);
  });

  it('refuses an unknown key, hinting at snake_case for a camelCase one, because Mesos would drop it silently', () => {
    const err = codecError(() => encodeSchedulerCall({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', failoverTimeout: 1 } } } as unknown as SchedulerCall, 'json'));
    expect(err.code).toBe('MESOS_ENCODE');
    expect(err.path).toBe('subscribe.framework_info.failoverTimeout');
    expect(err.message).toMatch(/mesos\.v1\.FrameworkInfo has no field 'failoverTimeout' \(field names are snake_case/);
  });

  it('names the message and the field when a required field is missing', () => {
    for (const enc of ENCODINGS) {
      const err = codecError(() => encodeSchedulerCall({ framework_id: FW, type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' } } } as unknown as SchedulerCall, enc));
      expect(err.message).toBe(`cannot encode mesos.v1.scheduler.Call as ${enc}: mesos.v1.scheduler.Call.Acknowledge is missing required field 'uuid' (at acknowledge)`);
    }
  });

  it.each([
    ['an enum number', { type: 1 }, /expected a mesos\.v1\.scheduler\.Call\.Type name/],
    ['an unknown enum name', { type: 'SUBSCRIBED' }, /'SUBSCRIBED' is not a mesos\.v1\.scheduler\.Call\.Type value/],
    ['a string for a double', { framework_id: FW, decline: { filters: { refuse_seconds: '5' } } }, /expected a number for double/],
    ['base64 text for bytes', { framework_id: FW, message: { agent_id: FW, executor_id: FW, data: 'aGk=' } }, /expected bytes/],
    ['an object for a repeated field', { framework_id: FW, revive: { roles: 'sluice' } }, /expected an array for repeated field 'roles'/],
    ['a fraction for an int64', { framework_id: FW, kill: { task_id: FW, kill_policy: { grace_period: { nanoseconds: 1.5 } } } }, /expected an integer/],
    ['an int64 beyond 2^53 as a number', { framework_id: FW, kill: { task_id: FW, kill_policy: { grace_period: { nanoseconds: 2 ** 60 } } } }, /beyond 2\^53; pass it as a decimal string/],
    ['an int64 out of range', { framework_id: FW, kill: { task_id: FW, kill_policy: { grace_period: { nanoseconds: '9223372036854775808' } } } }, /out of range for int64/],
    ['both alternatives of a oneof', {
      framework_id: FW,
      subscribe: { framework_info: { user: 'u', name: 'n' }, offer_constraints: { role_constraints: { r: { groups: [{ attribute_constraints: [{ selector: { attribute_name: 'a', pseudoattribute_type: 'ZONE' } }] }] } } } },
    }, /sets pseudoattribute_type and attribute_name, but they are alternatives/],
  ])('refuses %s', (_what, call, message) => {
    for (const enc of ENCODINGS) expect(() => encodeSchedulerCall(call as unknown as SchedulerCall, enc)).toThrow(message);
  });

  it('refuses an unknown encoding', () => {
    expect(() => encodeSchedulerCall({ type: 'TEARDOWN' }, 'xml' as MesosEncoding)).toThrow(/unknown encoding 'xml'/);
  });

  it('puts an explicit proto2 default on the wire: shell=false must reach Mesos, unset shell must not', () => {
    // field 3 (value) "/bin/tm", then field 6 (shell) varint 0
    expect(encodeMessage('mesos.v1.CommandInfo', { shell: false, value: '/bin/tm' }, 'protobuf').toString('hex')).toBe('1a072f62696e2f746d3000');
    expect(encodeMessage('mesos.v1.CommandInfo', { value: '/bin/tm' }, 'protobuf').toString('hex')).toBe('1a072f62696e2f746d');
  });

  it('writes int64 as JSON numbers when exact and as strings beyond 2^53, and doubles like Infinity as strings', () => {
    const text = encodeMessage('mesos.v1.Unavailability', { start: { nanoseconds: '1767225600000000001' }, duration: { nanoseconds: 10 } }, 'json').toString();
    expect(text).toBe('{"start":{"nanoseconds":"1767225600000000001"},"duration":{"nanoseconds":10}}');
    expect(encodeMessage('mesos.v1.Filters', { refuse_seconds: Infinity }, 'json').toString()).toBe('{"refuse_seconds":"Infinity"}');
  });

  it('keeps uint64 exact up to 2^64-1 in both encodings', () => {
    const range = { begin: '18446744073709551615', end: 9007199254740991 };
    for (const enc of ENCODINGS) expect(decodeMessage('mesos.v1.Value.Range', encodeMessage('mesos.v1.Value.Range', range, enc), enc)).toEqual(range);
  });

  it('emits declared defaults like the Mesos master only when asked, never deprecated ones', () => {
    const ev = { type: 'OFFERS' as const, offers: { offers: [{ id: FW, framework_id: FW, agent_id: FW, hostname: 'h', resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 1 } }] }] } };
    expect(JSON.parse(encodeSchedulerEvent(ev, 'json').toString())).toEqual(ev);
    const mesosStyle = JSON.parse(encodeSchedulerEvent(ev, 'json', { mesosDefaults: true }).toString());
    expect(mesosStyle.offers.offers[0].resources[0]).toEqual({ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }); // role "*" is deprecated
    const sub = JSON.parse(encodeMessage('mesos.v1.FrameworkInfo', { user: 'u', name: 'n' }, 'json', { mesosDefaults: true }).toString());
    expect(sub).toEqual({ user: 'u', name: 'n', failover_timeout: 0, checkpoint: false });
    const uri = JSON.parse(encodeMessage('mesos.v1.CommandInfo', { uris: [{ value: 'x' }] }, 'json', { mesosDefaults: true }).toString());
    expect(uri).toEqual({ uris: [{ value: 'x', extract: true }], shell: true });
  });
});

describe('decoding JSON as Mesos writes it', () => {
  it('ignores keys it does not know, at any depth', () => {
    expect(event({ type: 'ERROR', error: { message: 'm', code: 7 }, since: '1.13' })).toEqual({ type: 'ERROR', error: { message: 'm' } });
  });

  it('accepts int64 as numbers or strings and bytes as base64', () => {
    const decoded = event({ type: 'MESSAGE', message: { agent_id: FW, executor_id: FW, data: Buffer.from('hi ☃').toString('base64') } });
    expect(decoded.message?.data).toEqual(Buffer.from('hi ☃'));
    expect(decodeMessage('mesos.v1.DurationInfo', json({ nanoseconds: '15' }), 'json')).toEqual({ nanoseconds: 15 });
    expect(decodeMessage('mesos.v1.DurationInfo', json({ nanoseconds: 15 }), 'json')).toEqual({ nanoseconds: 15 });
  });

  it('accepts the output of Mesos with its defaults filled in', () => {
    const mesos = { type: 'SUBSCRIBED', subscribed: { framework_id: FW, heartbeat_interval_seconds: 15.0, master_info: { id: 'm', ip: 16777343, port: 5050 } } };
    expect(event(mesos)).toEqual(mesos);
  });

  it('refuses enum numbers, as Mesos answers 400 to them', () => {
    expect(codecError(() => event({ type: 8 })).message).toMatch(/expected a mesos\.v1\.scheduler\.Event\.Type name, got number 8 \(at type\)/);
  });

  it('drops an enum name it does not know from an optional field, so a newer event type is seen as untyped', () => {
    expect(event({ type: 'UPDATE_AGENT', update_agent: {} })).toEqual({});
    expect(decodeMessage('mesos.v1.FrameworkInfo', json({ user: 'u', name: 'n', capabilities: [{ type: 'TELEPORT' }, { type: 'MULTI_ROLE' }] }), 'json'))
      .toEqual({ user: 'u', name: 'n', capabilities: [{}, { type: 'MULTI_ROLE' }] });
  });

  it('refuses an enum name it does not know in a required field, naming it', () => {
    const err = codecError(() => event({ type: 'UPDATE', update: { status: { task_id: FW, state: 'TASK_TELEPORTED' } } }));
    expect(err.message).toMatch(/required field 'state' of mesos\.v1\.TaskStatus has a value this schema does not know: "TASK_TELEPORTED" \(at update\.status\.state\)/);
  });

  it('names the message and path of a missing required field', () => {
    const err = codecError(() => event({ type: 'OFFERS', offers: { offers: [{ id: FW, framework_id: FW, agent_id: FW }] } }));
    expect(err.code).toBe('MESOS_DECODE');
    expect(err.message).toBe("cannot decode mesos.v1.scheduler.Event as json: mesos.v1.Offer is missing required field 'hostname' (at offers.offers[0])");
  });

  it.each([
    ['invalid JSON', Buffer.from('{"type":'), /not valid JSON/],
    ['a top-level array', json([1]), /expected an object for mesos\.v1\.scheduler\.Event, got an array/],
    ['a number for a string', json({ type: 'ERROR', error: { message: 5 } }), /expected a string, got number 5 \(at error\.message\)/],
    ['bad base64', json({ type: 'MESSAGE', message: { agent_id: FW, executor_id: FW, data: 'not base64!' } }), /expected standard base64/],
    ['a non-numeric int64', json({ type: 'UPDATE', update: { status: { task_id: FW, state: 'TASK_LOST', unreachable_time: { nanoseconds: '12abc' } } } }), /expected an integer/],
  ])('refuses %s with a clear error', (_what, bytes, message) => {
    expect(() => decodeSchedulerEvent(bytes, 'json')).toThrow(message);
  });

  it('treats null as absent and reads the double spellings Infinity and NaN', () => {
    expect(decodeMessage('mesos.v1.Filters', json({ refuse_seconds: 'Infinity' }), 'json')).toEqual({ refuse_seconds: Infinity });
    expect(event({ type: 'HEARTBEAT', error: null })).toEqual({ type: 'HEARTBEAT' });
  });
});

describe('decoding protobuf', () => {
  it('skips fields it does not know and drops unknown enum numbers from optional fields', () => {
    const known = encodeSchedulerEvent({ type: 'HEARTBEAT' }, 'protobuf');
    const unknownField = Buffer.from([0xa2, 0x06, 0x02, 0x08, 0x01]); // field 100, length-delimited
    expect(decodeSchedulerEvent(Buffer.concat([known, unknownField]), 'protobuf')).toEqual({ type: 'HEARTBEAT' });
    expect(decodeSchedulerEvent(Buffer.from([0x08, 42]), 'protobuf')).toEqual({});
  });

  it('reports truncated or garbage bytes as MESOS_DECODE', () => {
    const bytes = encodeSchedulerEvent({ type: 'ERROR', error: { message: 'Framework has been removed' } }, 'protobuf');
    const err = codecError(() => decodeSchedulerEvent(bytes.subarray(0, bytes.length - 3), 'protobuf'));
    expect(err.code).toBe('MESOS_DECODE');
    expect(err.message).toMatch(/^cannot decode mesos\.v1\.scheduler\.Event as protobuf: not a valid protobuf encoding of it/);
  });

  it('checks required fields itself and says where', () => {
    const missingTask = Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x65, 0x12, 0x03, 0x0a, 0x01, 0x66, 0x18, 0x02, 0x2a, 0x02, 0x0a, 0x00]);
    expect(codecError(() => decodeExecutorCall(missingTask, 'protobuf')).message)
      .toMatch(/mesos\.v1\.TaskStatus is missing required field 'task_id' \(at update\.status\)/);
  });

  it('returns bytes as Buffers of their own', () => {
    const bytes = encodeExecutorCall({ executor_id: FW, framework_id: FW, type: 'MESSAGE', message: { data: Buffer.from('slots') } }, 'protobuf');
    const decoded = decodeExecutorCall(bytes, 'protobuf');
    bytes.fill(0);
    expect(Buffer.isBuffer(decoded.message?.data)).toBe(true);
    expect(decoded.message?.data.toString()).toBe('slots');
  });
});
