import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaDeserializers, type KafkaRecord } from './records.js';

const PROTO = `
syntax = "proto3";
package shop;
enum Channel { WEB = 0; STORE = 1; }
message Order {
  string id = 1;
  int64 cents = 2;
  Channel channel = 3;
  bytes token = 4;
  repeated string items = 5;
}
`;

const dir = mkdtempSync(join(tmpdir(), 'sluice-proto-'));
const protoFile = join(dir, 'shop.proto');
writeFileSync(protoFile, PROTO);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const Order = protobuf.parse(PROTO).root.lookupType('shop.Order');
const encoded = Buffer.from(Order.encode(Order.create({ id: 'o1', cents: 9_007_199_254_740_993n.toString(), channel: 1, token: Buffer.from([1, 2, 3]), items: ['a', 'b'] })).finish());

function rec(value: Buffer | null): KafkaRecord {
  return { topic: 'orders', partition: 2, offset: 41, timestamp: 1_700_000_000_000, key: Buffer.from('o1'), value, headers: { trace: Buffer.from('t-1'), hop: ['a', Buffer.from('b')] } };
}

describe('protobuf deserializer', () => {
  it('decodes with a protobufjs Type into plain data: longs and enums as strings, bytes as base64', () => {
    const d = KafkaDeserializers.protobuf({ type: Order });
    expect(d(rec(encoded))).toEqual({ id: 'o1', cents: '9007199254740993', channel: 'STORE', token: 'AQID', items: ['a', 'b'] });
    expect(d(rec(null))).toBeUndefined();
  });

  it('loads a .proto file by message name, and takes other conversion options', () => {
    const d = KafkaDeserializers.protobuf<{ id: string; cents: number }>({ protoFile, messageType: 'shop.Order' }, { conversion: { longs: Number } });
    expect(d(rec(encoded))).toMatchObject({ id: 'o1', cents: 9007199254740992, channel: 1 });
  });

  it('exposes key, headers, timestamp, partition and offset through withMetadata', () => {
    const d = KafkaDeserializers.withMetadata(KafkaDeserializers.protobuf({ protoFile, messageType: 'shop.Order' }));
    expect(d(rec(encoded))).toEqual({
      topic: 'orders',
      partition: 2,
      offset: 41,
      timestamp: 1_700_000_000_000,
      key: 'o1',
      headers: { trace: 't-1', hop: ['a', 'b'] },
      value: { id: 'o1', cents: '9007199254740993', channel: 'STORE', token: 'AQID', items: ['a', 'b'] },
    });
    expect(d(rec(null))).toBeUndefined();
  });

  it('throws for bytes that are not the message, so onError handles the record', () => {
    const d = KafkaDeserializers.protobuf({ type: Order });
    expect(() => d(rec(Buffer.from('{"id":"o1"}')))).toThrow(/not a valid protobuf shop\.Order/);
  });

  it('fails when the job is built for a missing file or an unknown message, naming what exists', () => {
    expect(() => KafkaDeserializers.protobuf({ protoFile: join(dir, 'nope.proto'), messageType: 'shop.Order' })).toThrow(/could not load .*nope\.proto/);
    expect(() => KafkaDeserializers.protobuf({ protoFile, messageType: 'shop.Payment' })).toThrow(/no message type 'shop.Payment' in .*shop\.proto; it defines shop\.Order/);
    expect(() => KafkaDeserializers.protobuf({ type: {} as protobuf.Type })).toThrow(/must be a protobufjs Type/);
  });
});
