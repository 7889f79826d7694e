/**
 * The Kafka connector against a real single-node broker (infra/kafka, one per test run, started
 * by kafka-global-setup.ts): jobs read topics with KafkaSource and write with KafkaSink on the
 * embedded cluster, and the test reads the results back with its own kafkajs consumer. This file:
 * whole pipelines, watermarks, bad records, misconfiguration and the sink. kafka-source.test.ts:
 * start modes, topic patterns, partition discovery, protobuf.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DLQ_HEADERS, KafkaDeserializers, KafkaSource, headerText } from '@sluice/kafka';
import { runJob, sortBy } from './harness.js';
import { KafkaTestKit, sleep, values } from './kafka-test-kit.js';
import { scrape, sum, type Sample } from './prometheus.js';
import type { Order } from './jobs/kafka-json-roundtrip.js';
import type { Payment } from './jobs/kafka-keyed-sums.js';
import type { Origin } from './jobs/kafka-read.js';

/** The run's broker (kafka-global-setup.ts), or '' when the Kafka tests are skipped. */
const bootstrap = inject('kafkaBootstrap');

describe.runIf(bootstrap !== '')('Kafka connector (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-test');

  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  describe('pipelines', () => {
    it('round-trips JSON topic → job → topic exactly: key, value, headers and timestamp of every record', async () => {
      const input = await kit.topic(2);
      const output = await kit.topic(3);
      const orders: Order[] = Array.from({ length: 500 }, (_, i) => ({ id: `o${i}`, qty: (i % 7) + 1, price: i * 0.5 }));
      await kit.producer.send({ topic: input, messages: orders.map((o, i) => ({ key: o.id, value: JSON.stringify(o), timestamp: String(1_700_000_000_000 + i) })) });

      const r = await runJob('kafka-json-roundtrip.ts', { parallelism: 2, params: { bootstrap, input, output } });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe('FINISHED');

      const back = await kit.readAll(output, orders.length);
      expect(back.length).toBe(orders.length);
      const got = back.map((b) => ({ key: b.key, value: JSON.parse(b.value!) as unknown, headers: { source: headerText(b.headers, 'source'), qty: headerText(b.headers, 'qty') }, timestamp: b.timestamp }));
      const want = orders.map((o, i) => ({ key: o.id, value: { ...o, total: o.qty * o.price }, headers: { source: 'sluice', qty: String(o.qty) }, timestamp: 1_700_000_000_000 + i }));
      expect(sortBy(got, (x) => x.key!)).toEqual(sortBy(want, (x) => x.key));
    });

    it('reads a 3-partition topic with the same keyed results at parallelism 1 and 3, with record metadata', async () => {
      const input = await kit.topic(3);
      const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
      const messages = Array.from({ length: 300 }, (_, i) => ({
        key: users[i % users.length]!,
        value: JSON.stringify({ user: users[i % users.length], amount: i }),
        timestamp: String(1_700_000_000_000 + i),
        headers: { trace: `t${i}` },
      }));
      await kit.producer.send({ topic: input, messages });
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

    it('bounded mode stops at the offsets current at start while producers keep writing', async () => {
      const input = await kit.topic(2);
      const before = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 10}`, value: `before-${i}` }));
      await kit.producer.send({ topic: input, messages: before });
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await kit.producer.send({ topic: input, messages: [{ key: `k${written % 10}`, value: `during-${written++}` }] });
          await sleep(5);
        }
      })();
      let r;
      try {
        r = await runJob('kafka-read.ts', { parallelism: 2, params: { bootstrap, topics: input } });
      } finally {
        writing = false;
        await writer;
      }
      expect(r.status).toBe('FINISHED');
      const read = r.collected.records as Origin[];
      // Everything there at start was read; each partition was read as one gap-free prefix; and
      // the job stopped although the topic kept growing past what it read.
      expect(read.filter((x) => x.value.startsWith('before-')).length).toBe(before.length);
      for (const p of [0, 1]) {
        const offsets = read.filter((x) => x.partition === p).map((x) => x.offset).sort((a, b) => a - b);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
      expect(written).toBeGreaterThan(0);
      expect(await kit.count(input)).toBeGreaterThan(read.length);
    });
  });

  describe('event time', () => {
    /**
     * Partition 0 gets a steady trickle of readings (event time 1000, 1100, …; one every 50 ms of
     * wall time, so it never goes idle); partition 1 stays empty. Runs the job until `until` says
     * stop, then cancels it. With `timeFrom: 'field'` the event time is the reading's `ts` field and
     * the Kafka timestamps are far away (so windows prove which one was used).
     */
    async function windowsWithOneEmptyPartition(
      params: { idleMs: string; timeFrom?: 'field' },
      until: (output: string, metricsUrl: () => string | undefined) => Promise<void>,
    ): Promise<void> {
      const input = await kit.topic(2);
      const output = await kit.topic(1);
      let stop = false;
      const trickle = (async () => {
        for (let i = 0; !stop && i < 600; i++) {
          const ts = 1_000 + 100 * i;
          const kafkaTs = params.timeFrom === 'field' ? 9_000_000 + 100 * i : ts;
          await kit.producer.send({ topic: input, messages: [{ partition: 0, timestamp: String(kafkaTs), value: JSON.stringify({ sensor: 'a', value: 1, ts }) }] });
          await sleep(50);
        }
      })();
      let metricsUrl: string | undefined;
      try {
        const r = await kit.runUntil(
          'kafka-idle-windows.ts',
          { parallelism: 1, params: { bootstrap, input, output, ...params }, embedded: { metricsPort: 0, onStarted: (info) => (metricsUrl = info.metricsUrl) } },
          () => until(output, () => metricsUrl),
        );
        expect(r.status).toBe('CANCELED');
      } finally {
        stop = true;
        await trickle;
      }
    }

    it('fires event-time windows from per-partition watermarks once the empty partition is marked idle', async () => {
      await windowsWithOneEmptyPartition({ idleMs: '300' }, async (output) => {
        const windows = values<{ sensor: string; windowStart: number; sum: number }>(await kit.readAll(output, 2, 30_000));
        expect(sortBy(windows, (x) => x.windowStart).slice(0, 2)).toEqual([
          { sensor: 'a', windowStart: 1000, sum: 10 },
          { sensor: 'a', windowStart: 2000, sum: 10 },
        ]);
      });
    });

    it('holds event-time windows back while the empty partition is not marked idle (no idleness)', async () => {
      await windowsWithOneEmptyPartition({ idleMs: '0' }, async (output, metricsUrl) => {
        // Watermarks travel in-band: once the window operator has taken 60 readings (event time
        // 7000), it has also taken any watermark the source sent before the last of them; with
        // partition 1 never marked idle there is none, so no window may have fired.
        const window = { operator: 'window sums' };
        const taken = (s: readonly Sample[]) => (s.some((x) => x.name === 'sluice_operator_records_in_total' && x.labels.operator === window.operator) ? sum(s, 'sluice_operator_records_in_total', window) : 0);
        let samples: Sample[] = [];
        while (taken(samples) < 60) {
          await sleep(100);
          const url = metricsUrl();
          if (url !== undefined) samples = await scrape(url);
        }
        expect(sum(samples, 'sluice_operator_records_out_total', window)).toBe(0);
        expect(await kit.count(output)).toBe(0);
      });
    });

    it('takes event time from a field of the value when the strategy has a timestamp assigner', async () => {
      await windowsWithOneEmptyPartition({ idleMs: '300', timeFrom: 'field' }, async (output) => {
        const windows = values<{ sensor: string; windowStart: number; sum: number }>(await kit.readAll(output, 2, 30_000));
        expect(sortBy(windows, (x) => x.windowStart).slice(0, 2)).toEqual([
          { sensor: 'a', windowStart: 1000, sum: 10 },
          { sensor: 'a', windowStart: 2000, sum: 10 },
        ]);
      });
    });
  });

  describe('bad records', () => {
    async function poisoned(): Promise<string> {
      const input = await kit.topic(1);
      const vals = ['{"n":0}', '{"n":1}', '{not json', '{"n":3}', 'x'.repeat(2000), '{"n":5}'];
      await kit.producer.send({ topic: input, messages: vals.map((v, i) => ({ key: `k${i}`, value: v, headers: { origin: 'test' } })) });
      return input;
    }

    it("'dead-letter' sends malformed and oversized records to the DLQ topic with headers naming their origin and reason", async () => {
      const input = await poisoned();
      const dlq = await kit.topic(1);
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'dead-letter', dlq } });
      expect(r.status).toBe('FINISHED');
      expect(sortBy(r.collected.good as { n: number }[], (x) => x.n)).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }, { n: 5 }]);
      const dead = sortBy(await kit.readAll(dlq, 2), (d) => d.offset);
      expect(dead.map((d) => ({ key: d.key, value: d.value?.slice(0, 10) }))).toEqual([
        { key: 'k2', value: '{not json' },
        { key: 'k4', value: 'xxxxxxxxxx' },
      ]);
      for (const [i, d] of dead.entries()) {
        expect(headerText(d.headers, DLQ_HEADERS.topic)).toBe(input);
        expect(headerText(d.headers, DLQ_HEADERS.partition)).toBe('0');
        expect(headerText(d.headers, DLQ_HEADERS.offset)).toBe(i === 0 ? '2' : '4');
        expect(headerText(d.headers, DLQ_HEADERS.job)).toBe('kafka bad records');
        expect(headerText(d.headers, 'origin')).toBe('test');
      }
      expect(headerText(dead[0]!.headers, DLQ_HEADERS.error)).toMatch(/JSON/);
      expect(headerText(dead[0]!.headers, DLQ_HEADERS.reason)).toBe('deserialization');
      expect(headerText(dead[1]!.headers, DLQ_HEADERS.error)).toBe('record of 2002 bytes (key + value) exceeds maxRecordBytes 1000');
      expect(headerText(dead[1]!.headers, DLQ_HEADERS.reason)).toBe('too-large');
    });

    it("'skip' drops them and the job finishes with the good records", async () => {
      const input = await poisoned();
      const r = await runJob('kafka-bad-records.ts', { parallelism: 1, params: { bootstrap, input, onError: 'skip' } });
      expect(r.status).toBe('FINISHED');
      expect(sortBy(r.collected.good as { n: number }[], (x) => x.n)).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }, { n: 5 }]);
    });

    it("'skip' past maxErrorRate fails the job with a clear error", async () => {
      const input = await kit.topic(1);
      await kit.producer.send({ topic: input, messages: Array.from({ length: 20 }, (_, i) => ({ value: i % 2 === 0 ? `{"n":${i}}` : 'oops' })) });
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

  describe('sink', () => {
    it('places records with a user partitioner', async () => {
      const input = await kit.topic(1);
      const output = await kit.topic(4);
      const orders: Order[] = Array.from({ length: 40 }, (_, i) => ({ id: `o${i}`, qty: i % 9, price: 1 }));
      await kit.producer.send({ topic: input, messages: orders.map((o) => ({ key: o.id, value: JSON.stringify(o) })) });
      const r = await runJob('kafka-json-roundtrip.ts', { parallelism: 1, params: { bootstrap, input, output, partitioner: 'qty' } });
      expect(r.status).toBe('FINISHED');
      const back = await kit.readAll(output, orders.length);
      expect(back.length).toBe(orders.length);
      for (const b of back) expect(b.partition).toBe((JSON.parse(b.value!) as Order).qty % 4);
    });
  });

  describe('misconfiguration', () => {
    // Without a bound these would wait for the broker or topic forever; the test's timeout catches that.
    it('a wrong broker address fails the job, naming the address', async () => {
      const r = await runJob('kafka-unreachable.ts', { parallelism: 1, params: { bootstrap: '127.0.0.1:1', input: 'anything' } });
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toContain('127.0.0.1:1');
    });

    it('a missing sink topic fails the job, naming the topic and the broker', async () => {
      const input = await kit.topic(1);
      await kit.producer.send({ topic: input, messages: [{ key: 'o1', value: JSON.stringify({ id: 'o1', qty: 1, price: 1 }) }] });
      const r = await runJob('kafka-json-roundtrip.ts', { parallelism: 1, params: { bootstrap, input, output: 'no-such-output-topic' } });
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toMatch(/'no-such-output-topic' does not exist on 127\.0\.0\.1:\d+/);
    });

    it('a missing topic is named in the error', async () => {
      const source = new KafkaSource({ bootstrapServers: bootstrap, topics: ['no-such-topic-here'], deserializer: KafkaDeserializers.string() });
      await expect(source.enumerateSplits({ parallelism: 1, params: {} })).rejects.toThrow(/'no-such-topic-here' does not exist on 127\.0\.0\.1:\d+/);
    });
  });
});
