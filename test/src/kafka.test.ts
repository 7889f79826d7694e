/**
 * The Kafka connector against a real single-node broker (infra/kafka): jobs read topics with
 * KafkaSource and write with KafkaSink on the embedded cluster, and the test reads the results
 * back with its own kafkajs consumer. Gated: runs only with SLUICE_KAFKA_TESTS=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, Partitioners, logLevel, type Admin, type IHeaders, type Producer } from 'kafkajs';
import { randomId } from '@sluice/common';
import { DLQ_HEADERS, KafkaDeserializers, KafkaSource, headerText } from '@sluice/kafka';
import { kafkaForTests, type KafkaBroker } from './kafka-broker.js';
import { runJob, sortBy } from './harness.js';
import type { Order } from './jobs/kafka-json-roundtrip.js';
import type { Payment } from './jobs/kafka-keyed-sums.js';

const enabled = process.env.SLUICE_KAFKA_TESTS === '1';
if (!enabled) console.log('kafka.test.ts: Kafka integration tests skipped; run them with SLUICE_KAFKA_TESTS=1 (needs Java 17+ and Maven, or SLUICE_KAFKA_BOOTSTRAP=host:port)');

const broker: KafkaBroker | undefined = enabled ? await kafkaForTests('kafka.test.ts') : undefined;

interface ReadBack {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: IHeaders;
}

describe.runIf(broker !== undefined)('Kafka connector (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const bootstrap = broker?.bootstrap ?? '';

  beforeAll(async () => {
    kafka = new Kafka({ brokers: [bootstrap], clientId: 'kafka-test', logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
  });

  async function topic(partitions = 1): Promise<string> {
    const name = `t-${randomId(5)}`;
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    return name;
  }

  /** Every record of `name` until `count` arrived, read by a plain kafkajs consumer. */
  async function readAll(name: string, count: number, timeoutMs = 20_000): Promise<ReadBack[]> {
    const consumer = kafka.consumer({ groupId: `reader-${randomId(4)}`, maxWaitTimeInMs: 100 });
    const out: ReadBack[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [name], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          timestamp: Number(message.timestamp),
          headers: message.headers ?? {},
        });
        if (out.length >= count) done();
      },
    });
    const timer = setTimeout(done, timeoutMs);
    await finished;
    clearTimeout(timer);
    await consumer.disconnect();
    return out;
  }

  it('round-trips JSON topic → job → topic exactly (bounded source, at-least-once sink)', async () => {
    const input = await topic(2);
    const output = await topic(3);
    const orders: Order[] = Array.from({ length: 500 }, (_, i) => ({ id: `o${i}`, qty: (i % 7) + 1, price: i * 0.5 }));
    await producer.send({ topic: input, messages: orders.map((o) => ({ key: o.id, value: JSON.stringify(o) })) });

    const r = await runJob('kafka-json-roundtrip.ts', { parallelism: 2, params: { bootstrap, input, output } });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');

    const back = await readAll(output, orders.length);
    expect(back.length).toBe(orders.length);
    expect(sortBy(back.map((b) => ({ key: b.key, value: JSON.parse(b.value!) as unknown, qty: headerText(b.headers, 'qty') })), (x) => x.key!)).toEqual(
      sortBy(
        orders.map((o) => ({ key: o.id, value: { ...o, total: o.qty * o.price }, qty: String(o.qty) })),
        (x) => x.key,
      ),
    );
  });

  it('reads a 3-partition topic with the same keyed results at parallelism 1 and 3, with record metadata', async () => {
    const input = await topic(3);
    const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
    const messages = Array.from({ length: 300 }, (_, i) => ({
      key: users[i % users.length]!,
      value: JSON.stringify({ user: users[i % users.length], amount: i }),
      timestamp: String(1_700_000_000_000 + i),
      headers: { trace: `t${i}` },
    }));
    await producer.send({ topic: input, messages });
    const expected = new Map<string, number>();
    for (let i = 0; i < 300; i++) expected.set(users[i % users.length]!, (expected.get(users[i % users.length]!) ?? 0) + i);

    const finals: Record<number, [string, number][]> = {};
    for (const parallelism of [1, 3]) {
      const r = await runJob('kafka-keyed-sums.ts', { parallelism, params: { bootstrap, input } });
      expect(r.status).toBe('FINISHED');
      const raw = r.collected.raw as Payment[];
      expect(raw.length).toBe(300);
      // Offsets of each partition are 0..n-1 without gaps or duplicates, and metadata is intact.
      for (let p = 0; p < 3; p++) {
        const offsets = raw.filter((x) => x.partition === p).map((x) => x.offset).sort((a, b) => a - b);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
      for (const x of raw) {
        expect(x.key).toBe(x.user);
        expect(x.trace).toBe(`t${x.amount}`);
        expect(x.timestamp).toBe(1_700_000_000_000 + x.amount);
      }
      const best = new Map<string, number>();
      for (const s of r.collected.sums as { user: string; amount: number }[]) best.set(s.user, Math.max(best.get(s.user) ?? 0, s.amount));
      finals[parallelism] = [...best].sort();
    }
    expect(finals[1]).toEqual([...expected].sort());
    expect(finals[3]).toEqual(finals[1]);
  });

  /**
   * Partition 0 gets a steady trickle of readings (event time 1000, 1100, …; one every 50 ms of
   * wall time, so it never goes idle); partition 1 stays empty. Runs the job until `until` says
   * stop, then cancels it.
   */
  async function windowsWithOneEmptyPartition(idleMs: string, until: (output: string) => Promise<void>): Promise<void> {
    const input = await topic(2);
    const output = await topic(1);
    let stop = false;
    const trickle = (async () => {
      for (let i = 0; !stop && i < 600; i++) {
        await producer.send({ topic: input, messages: [{ partition: 0, timestamp: String(1_000 + 100 * i), value: JSON.stringify({ sensor: 'a', value: 1 }) }] });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const abort = new AbortController();
    const job = runJob('kafka-idle-windows.ts', { parallelism: 1, params: { bootstrap, input, output, idleMs }, embedded: { signal: abort.signal } });
    try {
      await until(output);
    } finally {
      stop = true;
      abort.abort();
      await trickle;
      expect((await job).status).toBe('CANCELED');
    }
  }

  it('fires event-time windows from per-partition watermarks once the empty partition is marked idle', async () => {
    await windowsWithOneEmptyPartition('300', async (output) => {
      const back = await readAll(output, 2, 30_000);
      const windows = back.map((b) => JSON.parse(b.value!) as { sensor: string; windowStart: number; sum: number });
      expect(sortBy(windows, (x) => x.windowStart).slice(0, 2)).toEqual([
        { sensor: 'a', windowStart: 1000, sum: 10 },
        { sensor: 'a', windowStart: 2000, sum: 10 },
      ]);
    });
  });

  it('holds event-time windows back while the empty partition is not marked idle (no idleness)', async () => {
    await windowsWithOneEmptyPartition('0', async (output) => {
      // 3 s of readings is event time well past 3000; without idleness nothing may fire.
      await new Promise((r) => setTimeout(r, 3_000));
      const offsets = await admin.fetchTopicOffsets(output);
      expect(offsets.map((o) => o.high)).toEqual(['0']);
    });
  });

  describe('bad records', () => {
    async function poisoned(): Promise<string> {
      const input = await topic(1);
      const values = ['{"n":0}', '{"n":1}', '{not json', '{"n":3}', 'x'.repeat(2000), '{"n":5}'];
      await producer.send({ topic: input, messages: values.map((v, i) => ({ key: `k${i}`, value: v, headers: { origin: 'test' } })) });
      return input;
    }

    it("'dead-letter' sends malformed and oversized records to the DLQ topic with headers naming their origin", async () => {
      const input = await poisoned();
      const dlq = await topic(1);
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'dead-letter', dlq } });
      expect(r.status).toBe('FINISHED');
      expect(sortBy(r.collected.good as { n: number }[], (x) => x.n)).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }, { n: 5 }]);
      const dead = sortBy(await readAll(dlq, 2), (d) => d.offset);
      expect(dead.map((d) => ({ key: d.key, value: d.value?.slice(0, 10) }))).toEqual([
        { key: 'k2', value: '{not json' },
        { key: 'k4', value: 'xxxxxxxxxx' },
      ]);
      for (const [i, d] of dead.entries()) {
        expect(headerText(d.headers, DLQ_HEADERS.topic)).toBe(input);
        expect(headerText(d.headers, DLQ_HEADERS.partition)).toBe('0');
        expect(headerText(d.headers, DLQ_HEADERS.offset)).toBe(i === 0 ? '2' : '4');
        expect(headerText(d.headers, DLQ_HEADERS.job)).toBeTruthy();
        expect(headerText(d.headers, 'origin')).toBe('test');
      }
      expect(headerText(dead[0]!.headers, DLQ_HEADERS.error)).toMatch(/JSON/);
      expect(headerText(dead[1]!.headers, DLQ_HEADERS.error)).toMatch(/exceeds maxRecordBytes 1000/);
    });

    it("'skip' drops them and the job finishes with the good records", async () => {
      const input = await poisoned();
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'skip' } });
      expect(r.status).toBe('FINISHED');
      expect(sortBy(r.collected.good as { n: number }[], (x) => x.n)).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }, { n: 5 }]);
    });

    it("'skip' past maxErrorRate fails the job with a clear error", async () => {
      const input = await topic(1);
      await producer.send({ topic: input, messages: Array.from({ length: 20 }, (_, i) => ({ value: i % 2 === 0 ? `{"n":${i}}` : 'oops' })) });
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'skip', maxErrorRate: '0.2' } });
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toMatch(/records were bad .* > maxErrorRate 20\.0%/);
    });

    it("'fail' fails the job naming topic, partition and offset", async () => {
      const input = await poisoned();
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'fail' } });
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toContain(`bad record in Kafka topic '${input}' partition 0 at offset 2`);
    });
  });

  describe('misconfiguration', () => {
    it('a wrong broker address fails the job within bounded time, naming the address', async () => {
      const t0 = Date.now();
      const r = await runJob('kafka-unreachable.ts', { parallelism: 1, params: { bootstrap: '127.0.0.1:1', input: 'anything' } });
      const took = Date.now() - t0;
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toContain('127.0.0.1:1');
      expect(took).toBeLessThan(20_000);
    });

    it('a missing topic is named in the error', async () => {
      const source = new KafkaSource({ bootstrapServers: bootstrap, topics: ['no-such-topic-here'], deserializer: KafkaDeserializers.string() });
      await expect(source.enumerateSplits({ parallelism: 1, params: {} })).rejects.toThrow(/'no-such-topic-here' does not exist on 127\.0\.0\.1:\d+/);
    });
  });
});
