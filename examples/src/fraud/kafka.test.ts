import { SeededRandom } from '@sluice/api';
import type { KafkaRecord } from '@sluice/kafka';
import { describe, expect, it } from 'vitest';
import { fraudKafkaConfig, fraudProduceConfig, parseTransaction, serializeTransaction, transactionDeserializer, transactionKey, transactionSourceKind } from './kafka.js';
import { generateTransaction } from './transactions.js';

const record = (value: string | null): KafkaRecord => ({
  topic: 'transactions',
  partition: 0,
  offset: 0,
  timestamp: 0,
  key: null,
  value: value === null ? null : Buffer.from(value),
  headers: {},
});

describe('fraud detection over Kafka: records', () => {
  it('round-trips generated transactions through JSON exactly, so Kafka mode sees what the generator made', () => {
    const rng = new SeededRandom();
    for (let i = 0; i < 20_000; i++) {
      const tx = generateTransaction(i, rng.reseed(7, i));
      expect(transactionDeserializer(record(serializeTransaction(tx)))).toEqual(tx);
    }
  });

  it('keys a transaction by its account', () => {
    expect(transactionKey({ accountId: 4432, amount: 1, timestamp: 0 })).toBe('4432');
  });

  it('skips tombstones and rejects what is not a transaction, saying why', () => {
    expect(transactionDeserializer(record(null))).toBeUndefined();
    expect(() => parseTransaction('{"accountId":1,')).toThrow(/transaction is not JSON/);
    expect(() => parseTransaction('{"accountId":"1","amount":2,"timestamp":3}')).toThrow(/expected a transaction .*"accountId":"1"/);
    expect(() => parseTransaction('{"accountId":1,"amount":null,"timestamp":3}')).toThrow(/expected a transaction/);
    expect(() => parseTransaction('[1,2,3]')).toThrow(/expected a transaction/);
    expect(() => parseTransaction('null')).toThrow(/expected a transaction/);
  });
});

describe('fraud detection over Kafka: parameters', () => {
  const full = { source: 'kafka', bootstrap: '127.0.0.1:9092', 'input-topic': 'tx', 'output-topic': 'alerts' };

  it('uses the generator unless -D source=kafka, and rejects other sources', () => {
    expect(transactionSourceKind({})).toBe('generator');
    expect(transactionSourceKind({ source: 'kafka' })).toBe('kafka');
    expect(() => transactionSourceKind({ source: 'file' })).toThrow(/-D source=file is invalid: expected generator or kafka/);
  });

  it('reads the Kafka settings, unbounded unless asked', () => {
    expect(fraudKafkaConfig(full)).toEqual({ bootstrap: '127.0.0.1:9092', inputTopic: 'tx', outputTopic: 'alerts', bounded: false });
    expect(fraudKafkaConfig({ ...full, bounded: 'true' }).bounded).toBe(true);
    expect(() => fraudKafkaConfig({ ...full, bounded: 'maybe' })).toThrow(/-D bounded=maybe/);
  });

  it('names each missing parameter', () => {
    for (const name of ['bootstrap', 'input-topic', 'output-topic'] as const) {
      const params: Record<string, string> = { ...full };
      delete params[name];
      expect(() => fraudKafkaConfig(params)).toThrow(new RegExp(`-D ${name}=\\.\\.\\. is missing`));
    }
    expect(() => fraudProduceConfig({ bootstrap: '127.0.0.1:9092' })).toThrow(/-D topic=\.\.\. is missing/);
    expect(() => fraudProduceConfig({ topic: 'tx' })).toThrow(/-D bootstrap=\.\.\. is missing/);
  });
});
