import type { MetricGroup } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { KafkaSink, KafkaSinkWriter, resolveSinkOptions, userPartitioner } from './sink.js';
import { KafkaSerializers } from './records.js';

interface Reading {
  id: string;
  n: number;
}

/**
 * A producer double: records every sendBatch, acknowledges them when `ack()` is called (or never),
 * and can hang on disconnect like a client whose brokers went away.
 */
class TestingProducer {
  readonly batches: ProducerBatch[] = [];
  private pending: (() => void)[] = [];
  disconnected = false;
  constructor(private readonly hangOnDisconnect = false) {}
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch);
    return new Promise((resolve) => this.pending.push(() => resolve([])));
  }
  ack(): void {
    for (const p of this.pending.splice(0)) p();
  }
  disconnect(): Promise<void> {
    this.disconnected = true;
    return this.hangOnDisconnect ? new Promise(() => undefined) : Promise.resolve();
  }
  asProducer(): Producer {
    // Only sendBatch and disconnect are used by the writer; the rest of kafkajs's Producer is not needed.
    return this as unknown as Producer;
  }
}

const base = { bootstrapServers: 'k:9092', topic: 'out', valueSerializer: KafkaSerializers.json<Reading>() };

describe('KafkaSink writer', () => {
  it('serializes key, value and headers, keeps record timestamps, and routes by a topic function', async () => {
    const p = new TestingProducer();
    const w = new KafkaSinkWriter<Reading>(
      resolveSinkOptions<Reading>({ ...base, topic: (r) => (r.n % 2 === 0 ? 'even' : 'odd'), keySerializer: (r) => r.id, headers: (r) => ({ n: String(r.n), bin: Buffer.from([r.n]) }), lingerMs: 0 }),
      p.asProducer(),
    );
    w.write({ id: 'a', n: 1 }, 1000);
    w.write({ id: 'b', n: 2 }, undefined);
    const flushed = w.flush(false);
    p.ack();
    await flushed;
    const sent = p.batches.flatMap((b) => b.topicMessages ?? []).flatMap((t) => t.messages.map((m) => ({ topic: t.topic, ...m })));
    expect(sent).toEqual([
      { topic: 'odd', key: 'a', value: '{"id":"a","n":1}', headers: { n: '1', bin: Buffer.from([1]) }, timestamp: '1000' },
      { topic: 'even', key: 'b', value: '{"id":"b","n":2}', headers: { n: '2', bin: Buffer.from([2]) } },
    ]);
    expect(p.batches[0]?.acks).toBe(-1);
    await w.close();
  });

  it('close() is bounded when sends are never acknowledged and disconnect hangs', async () => {
    const p = new TestingProducer(true);
    const w = new KafkaSinkWriter<Reading>(resolveSinkOptions<Reading>({ ...base, closeTimeoutMs: 200 }), p.asProducer());
    w.write({ id: 'a', n: 1 }, 1);
    const t0 = Date.now();
    await w.close();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(2_000);
    expect(p.disconnected).toBe(true);
    expect(() => w.write({ id: 'b', n: 2 }, 2)).toThrow(/closed/);
  });

  it('a user partitioner sees the serialized record and must return a valid partition', () => {
    const pick = userPartitioner(({ key, partitionCount }) => (key === null ? 0 : key.length % partitionCount))();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
    expect(pick({ topic: 't', partitionMetadata, message: { key: 'abcd', value: 'v' } })).toBe(1);
    expect(pick({ topic: 't', partitionMetadata, message: { key: null, value: 'v' } })).toBe(0);
    const broken = userPartitioner(() => 3)();
    expect(() => broken({ topic: 't', partitionMetadata, message: { value: 'v' } })).toThrow("KafkaSink partitioner returned 3 for topic 't' with 3 partitions");
  });

  it('validates its options at the edge', () => {
    expect(() => new KafkaSink({ ...base, topic: '' })).toThrow(/needs a topic/);
    expect(() => new KafkaSink({ ...base, deliveryGuarantee: 'twice' as never })).toThrow(/'none', 'at-least-once' or 'exactly-once'/);
    expect(() => new KafkaSink({ ...base, closeTimeoutMs: 0 })).toThrow(/closeTimeoutMs must be a positive integer/);
  });
});

describe('KafkaSink exactly-once settings', () => {
  const eo = { bootstrapServers: '127.0.0.1:9', topic: 't', valueSerializer: (v: unknown) => JSON.stringify(v), deliveryGuarantee: 'exactly-once' as const };

  it('needs a transactional id prefix', () => {
    expect(() => new KafkaSink(eo)).toThrow(/transactionalIdPrefix/);
    expect(() => new KafkaSink({ ...eo, transactionalIdPrefix: 'has space' })).toThrow(/transactionalIdPrefix/);
    expect(() => new KafkaSink({ ...eo, transactionalIdPrefix: 'orders-job' })).not.toThrow();
  });

  it('refuses to start without checkpointing, or with a transaction timeout shorter than interval + checkpoint timeout', async () => {
    const sink = new KafkaSink({ ...eo, transactionalIdPrefix: 'p', transactionTimeoutMs: 60_000 });
    const taskInfo = { taskName: 'sink', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, attempt: 0 };
    const metrics = {} as MetricGroup; // never reached: the settings are refused first
    await expect(sink.createWriter({ taskInfo, params: {}, metrics, checkpointing: { intervalMs: 0, timeoutMs: 600_000 } })).rejects.toThrow(/checkpointing is off/);
    await expect(sink.createWriter({ taskInfo, params: {}, metrics, checkpointing: { intervalMs: 1_000, timeoutMs: 600_000 } })).rejects.toThrow(/transactionTimeoutMs \(60000 ms\) is shorter/);
  });
});
