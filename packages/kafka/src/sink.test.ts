import type { MetricGroup } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { KafkaSink, KafkaSinkWriter, resolveSinkOptions, userPartitioner } from './sink.js';
import type { TopicMessages } from './sink-writer.js';
import { KafkaSinkMetrics } from './kafka-metrics.js';
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
  private pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  disconnected = false;
  constructor(private readonly hangOnDisconnect = false) {}
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch);
    return new Promise((resolve, reject) => this.pending.push({ resolve: () => resolve([]), reject }));
  }
  /** Requests sent and not answered yet. */
  get unanswered(): number {
    return this.pending.length;
  }
  ack(): void {
    for (const p of this.pending.splice(0)) p.resolve();
  }
  /** Answers the oldest request only, then lets the writer react to it. */
  async ackOldest(): Promise<void> {
    this.pending.shift()?.resolve();
    await settle();
  }
  async failOldest(err: Error): Promise<void> {
    this.pending.shift()?.reject(err);
    await settle();
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

/** Lets promise callbacks (the writer's reaction to an answer) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The values of one request, in the order sent, as `topic:n`. */
function valuesOf(batch: ProducerBatch): string[] {
  return (batch.topicMessages ?? []).flatMap((t) => t.messages.map((m) => `${t.topic}:${(JSON.parse(String(m.value)) as Reading).n}`));
}

/** A writer whose dispatch target can be switched, as the exactly-once writer's transactions are. */
class TargetedWriter extends KafkaSinkWriter<Reading> {
  current = 'T1';
  readonly requests: { target: unknown; values: string[] }[] = [];
  private readonly answers: (() => void)[] = [];
  protected override target(): unknown {
    return this.current;
  }
  protected override dispatch(topicMessages: TopicMessages, target: unknown): Promise<unknown> {
    this.requests.push({ target, values: valuesOf({ topicMessages }) });
    return new Promise<void>((resolve) => this.answers.push(resolve));
  }
  async ackOldest(): Promise<void> {
    this.answers.shift()?.();
    await settle();
  }
  waitForTarget(target: string): Promise<void> {
    return this.sentAll(target);
  }
}

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
    // Waited about its 200 ms for the acknowledgements, then gave up; a close without that
    // bound would wait until the test times out.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(p.disconnected).toBe(true);
    expect(() => w.write({ id: 'b', n: 2 }, 2)).toThrow(/closed/);
  });

  it('keeps one request in flight; records written meanwhile go out together next, in write order', async () => {
    const p = new TestingProducer();
    const w = new KafkaSinkWriter<Reading>(resolveSinkOptions<Reading>({ ...base, batchSize: 1 }), p.asProducer());
    for (let n = 1; n <= 4; n++) w.write({ id: 'a', n }, n);
    // The first record went out alone; the rest wait, as they would while kafkajs retries it.
    expect(p.batches.map(valuesOf)).toEqual([['out:1']]);
    await settle();
    expect(p.unanswered).toBe(1);
    await p.ackOldest();
    expect(p.batches.map(valuesOf)).toEqual([['out:1'], ['out:2', 'out:3', 'out:4']]);
    w.write({ id: 'a', n: 5 }, 5);
    expect(p.batches).toHaveLength(2);
    const flushed = w.flush(false);
    await p.ackOldest();
    await p.ackOldest();
    await flushed;
    expect(p.batches.map(valuesOf)).toEqual([['out:1'], ['out:2', 'out:3', 'out:4'], ['out:5']]);
    await w.close();
  });

  it('with maxConcurrentSends, that many requests are in flight at once', async () => {
    const p = new TestingProducer();
    const w = new KafkaSinkWriter<Reading>(resolveSinkOptions<Reading>({ ...base, batchSize: 1, maxConcurrentSends: 3 }), p.asProducer());
    for (let n = 1; n <= 5; n++) w.write({ id: 'a', n }, n);
    expect(p.unanswered).toBe(3);
    expect(p.batches.map(valuesOf)).toEqual([['out:1'], ['out:2'], ['out:3']]);
    await p.ackOldest();
    expect(p.batches.map(valuesOf).at(-1)).toEqual(['out:4', 'out:5']);
    p.ack();
    await w.close();
  });

  it('splits what queued up into requests of at most maxRequestBytes, in order; a larger record goes alone', async () => {
    const p = new TestingProducer();
    const acked: { topic: string; records: number; bytes: number }[] = [];
    const metrics = new (class extends KafkaSinkMetrics {
      override acknowledged(topic: string, records: number, bytes: number): void {
        acked.push({ topic, records, bytes });
      }
    })(undefined);
    // Each record: about 20 bytes of JSON plus 24 bytes of framing, so 100 bytes hold two.
    const w = new KafkaSinkWriter<Reading>(
      resolveSinkOptions<Reading>({ ...base, topic: (r) => (r.id === 'big' ? 'big' : r.n % 2 === 0 ? 'even' : 'odd'), batchSize: 1, maxRequestBytes: 100 }),
      p.asProducer(),
      metrics,
    );
    for (let n = 1; n <= 7; n++) w.write({ id: n === 4 ? 'big'.padEnd(200, '!') : 'r', n }, n);
    const flushed = w.flush(false);
    while (p.unanswered > 0) await p.ackOldest();
    await flushed;
    const requests = p.batches.map(valuesOf);
    expect(requests[0]).toEqual(['odd:1']);
    for (const r of requests.slice(1)) expect(r.length).toBeLessThanOrEqual(2);
    const sent = requests.flat();
    expect(sent).toHaveLength(7);
    // Per topic, the order written.
    for (const topic of ['odd', 'even']) expect(sent.filter((v) => v.startsWith(`${topic}:`))).toEqual(sent.filter((v) => v.startsWith(`${topic}:`)).sort());
    expect(requests.find((r) => r.some((v) => v.endsWith(':4')))).toHaveLength(1);
    // Acknowledged records and their value bytes (no keys here), per topic entry of each request.
    const valueBytes = (n: number): number => JSON.stringify({ id: n === 4 ? 'big'.padEnd(200, '!') : 'r', n }).length;
    const want = p.batches.flatMap((b) => (b.topicMessages ?? []).map((t) => ({ topic: t.topic, records: t.messages.length, bytes: t.messages.reduce((sum, m) => sum + valueBytes((JSON.parse(String(m.value)) as Reading).n), 0) })));
    expect(acked).toEqual(want);
    expect(acked.reduce((n, a) => n + a.records, 0)).toBe(7);
    await w.close();
  });

  it('a failed request stops the queue: nothing queued behind it is sent, and the writer reports the failure', async () => {
    const p = new TestingProducer();
    const w = new KafkaSinkWriter<Reading>(resolveSinkOptions<Reading>({ ...base, batchSize: 1 }), p.asProducer());
    w.write({ id: 'a', n: 1 }, 1);
    w.write({ id: 'a', n: 2 }, 2);
    const flushed = w.flush(false).then(
      () => 'flushed',
      (err: unknown) => err,
    );
    await p.failOldest(new Error('NOT_ENOUGH_REPLICAS after retries'));
    expect(String(await flushed)).toMatch(/could not write 1 record\(s\) to 'out'.*NOT_ENOUGH_REPLICAS/);
    expect(p.batches).toHaveLength(1);
    expect(() => w.write({ id: 'a', n: 3 }, 3)).toThrow(/NOT_ENOUGH_REPLICAS/);
    await w.close();
  });

  it('records keep the target they were written for: a switch (a new transaction) sends them after the old target\'s, separately', async () => {
    const w = new TargetedWriter(resolveSinkOptions<Reading>({ ...base, batchSize: 1 }), undefined);
    w.write({ id: 'a', n: 1 }, 1);
    w.write({ id: 'a', n: 2 }, 2);
    w.current = 'T2';
    w.write({ id: 'a', n: 3 }, 3);
    let t1Done = false;
    const t1 = w.waitForTarget('T1').then(() => (t1Done = true));
    expect(w.requests).toEqual([{ target: 'T1', values: ['out:1'] }]);
    await w.ackOldest();
    expect(w.requests.at(-1)).toEqual({ target: 'T1', values: ['out:2'] });
    expect(t1Done).toBe(false);
    await w.ackOldest();
    await t1;
    // T1 is fully acknowledged while T2's request is still out.
    expect(w.requests.at(-1)).toEqual({ target: 'T2', values: ['out:3'] });
    await w.ackOldest();
    await w.close();
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
    expect(() => new KafkaSink({ ...base, maxConcurrentSends: 0 })).toThrow(/maxConcurrentSends must be a positive integer/);
    expect(() => new KafkaSink({ ...base, maxRequestBytes: 1.5 })).toThrow(/maxRequestBytes must be a positive integer/);
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
