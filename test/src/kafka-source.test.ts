/**
 * KafkaSource against the run's real broker (kafka-global-setup.ts): where reading starts
 * (latest, a timestamp, a group's committed offsets), topic patterns, partition discovery while
 * running, and protobuf values. Pipelines, watermarks and bad records: kafka.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compileJob } from '@sluice/cli';
import { startEmbeddedCluster, type EmbeddedCluster } from '@sluice/minicluster';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomId } from '@sluice/common';
import { DLQ_HEADERS, headerText, type KafkaRecordWithValue } from '@sluice/kafka';
import type { JobResult } from '@sluice/protocol';
import { jobPath, runJob, sortBy } from './harness.js';
import { KafkaTestKit, located, sleep, values } from './kafka-test-kit.js';
import type { Origin } from './jobs/kafka-read.js';
import type { Payment } from './jobs/kafka-protobuf.js';

const bootstrap = inject('kafkaBootstrap');

describe.runIf(bootstrap !== '')('KafkaSource (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-source-test');

  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  describe('start modes', () => {
    it("'latest' skips what the topic held when the job started and reads what comes after", async () => {
      const input = await kit.topic(2);
      const output = await kit.topic(1);
      await kit.producer.send({ topic: input, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `old-${i}` })) });
      let sent = 0;
      const newRecords = (n: number) => Array.from({ length: n }, () => ({ key: `n${sent}`, value: `new-${sent++}` }));
      const finals: string[] = [];
      const r = await kit.runUntil('kafka-read.ts', { parallelism: 2, params: { bootstrap, topics: input, start: 'latest', bounded: 'false', output } }, async () => {
        // The start offsets are fixed when the job starts, which the test cannot observe: write
        // new records until some come through; the ten written after that must all come through.
        while ((await kit.count(output)) === 0) {
          await kit.producer.send({ topic: input, messages: newRecords(1) });
          await sleep(100);
        }
        const last = newRecords(10);
        finals.push(...last.map((m) => m.value));
        await kit.producer.send({ topic: input, messages: last });
        await readUntil(output, (vs) => finals.every((f) => vs.some((v) => v.value === f)));
      });
      expect(r.status).toBe('CANCELED');
      const read = values<Origin>(await kit.readAll(output, finals.length));
      expect(read.filter((v) => v.value.startsWith('old-'))).toEqual([]);
      expect(finals.filter((f) => !read.some((v) => v.value === f))).toEqual([]);
      // Per partition, a gap-free run of offsets: nothing skipped once reading started.
      for (const p of [0, 1]) {
        const offsets = read.filter((v) => v.partition === p).map((v) => v.offset).sort((a, b) => a - b);
        expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] ?? 0) + i));
      }
    });

    /** Reads `topic` (JSON Origins) until `done` says so. */
    async function readUntil(topic: string, done: (vs: Origin[]) => boolean): Promise<Origin[]> {
      for (let i = 0; i < 100; i++) {
        const vs = values<Origin>(await kit.readAll(topic, 1));
        if (done(vs)) return vs;
        await sleep(200);
      }
      throw new Error(`gave up waiting for the expected records in ${topic}`);
    }

    it('a timestamp starts each partition at its first record at or after that time', async () => {
      const input = await kit.topic(2);
      // Partition 0: times 1000..1900; partition 1: 5000..5900. Start at 1500.
      for (const [partition, base] of [
        [0, 1_000],
        [1, 5_000],
      ] as const) {
        await kit.producer.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ partition, timestamp: String(base + 100 * i), value: `p${partition}-${i}` })) });
      }
      const r = await runJob('kafka-read.ts', { parallelism: 1, params: { bootstrap, topics: input, start: 'ts:1500' } });
      expect(r.status).toBe('FINISHED');
      const read = r.collected.records as Origin[];
      expect(located(read)).toEqual(located([...[5, 6, 7, 8, 9].map((i) => ({ partition: 0, offset: i, value: `p0-${i}` })), ...Array.from({ length: 10 }, (_, i) => ({ partition: 1, offset: i, value: `p1-${i}` }))]));
      for (const x of read) expect(x.timestamp).toBeGreaterThanOrEqual(1_500);
    });

    it("committed group offsets: where the group left off, and the fallback where it has none", async () => {
      const input = await kit.topic(2);
      for (const partition of [0, 1]) {
        await kit.producer.send({ topic: input, messages: Array.from({ length: 6 }, (_, i) => ({ partition, value: `p${partition}-${i}` })) });
      }
      const groupId = `app-${randomId(6)}`;
      await kit.commitGroupOffsets(groupId, input, [{ partition: 0, offset: 4 }]);
      expect((await kit.admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions.find((p) => p.partition === 0)?.offset).toBe('4');

      const fromEarliest = await runJob('kafka-read.ts', { parallelism: 1, params: { bootstrap, topics: input, start: `committed:${groupId}:earliest` } });
      expect(fromEarliest.status).toBe('FINISHED');
      expect(located(fromEarliest.collected.records as Origin[])).toEqual(
        located([...[4, 5].map((i) => ({ partition: 0, offset: i, value: `p0-${i}` })), ...Array.from({ length: 6 }, (_, i) => ({ partition: 1, offset: i, value: `p1-${i}` }))]),
      );
      const fromLatest = await runJob('kafka-read.ts', { parallelism: 1, params: { bootstrap, topics: input, start: `committed:${groupId}:latest` } });
      expect(located(fromLatest.collected.records as Origin[])).toEqual(located([4, 5].map((i) => ({ partition: 0, offset: i, value: `p0-${i}` }))));
      // Sluice reads the group's offsets but never commits to it.
      expect((await kit.admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions.map((p) => p.offset).sort()).toEqual(['-1', '4']);
    });
  });

  it('a topic pattern reads every matching topic and no other', async () => {
    const prefix = `pat-${randomId(6)}`;
    const a = await kit.topic(2, `${prefix}-a`);
    const b = await kit.topic(1, `${prefix}-b`);
    const other = await kit.topic(1, `x${prefix}-c`);
    for (const topic of [a, b, other]) await kit.producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `${topic}-${i}` })) });
    const r = await runJob('kafka-read.ts', { parallelism: 2, params: { bootstrap, pattern: `^${prefix}-` } });
    expect(r.status).toBe('FINISHED');
    const read = r.collected.records as Origin[];
    expect(read.map((x) => x.value).sort()).toEqual([...[0, 1, 2, 3, 4].map((i) => `${a}-${i}`), ...[0, 1, 2, 3, 4].map((i) => `${b}-${i}`)].sort());
    expect(new Set(read.map((x) => x.topic))).toEqual(new Set([a, b]));
  });

  it('discovers new partitions and new matching topics while running; each is read by exactly one subtask', async () => {
    const prefix = `disc-${randomId(6)}`;
    const first = await kit.topic(1, `${prefix}-a`);
    const output = await kit.topic(1);
    const sent: { topic: string; partition: number; value: string }[] = [];
    const send = async (topic: string, partition: number, n: number): Promise<void> => {
      const messages = Array.from({ length: n }, (_, i) => ({ partition, value: `${topic}/${partition}/${i}` }));
      await kit.sendFresh(topic, messages);
      sent.push(...messages.map((m) => ({ topic, partition, value: m.value })));
    };
    await send(first, 0, 5);
    const r = await kit.runUntil(
      'kafka-read.ts',
      // Parallelism 3 over one partition: two subtasks start with nothing and must stay (idle) for what discovery finds.
      { parallelism: 3, params: { bootstrap, pattern: `^${prefix}-`, start: 'earliest', bounded: 'false', discoveryMs: '300', output } },
      async () => {
        await kit.waitForCount(output, 5);
        await kit.admin.createPartitions({ topicPartitions: [{ topic: first, count: 4 }] });
        const second = await kit.topic(2, `${prefix}-b`);
        for (const p of [1, 2, 3]) await send(first, p, 5);
        for (const p of [0, 1]) await send(second, p, 5);
        expect((await kit.count(first)) + (await kit.count(second))).toBe(sent.length);
        await kit.waitForCount(output, sent.length);
        // A few more discovery rounds: nothing may be read twice.
        await sleep(1_200);
      },
    );
    expect(r.status).toBe('CANCELED');
    const read = values<Origin>(await kit.readAll(output, sent.length));
    expect(read.map((x) => x.value).sort()).toEqual(sent.map((s) => s.value).sort());
    for (const x of read) expect(x.value).toBe(`${x.topic}/${x.partition}/${x.offset}`);
  });

  it('decodes protobuf values from a .proto file with their metadata, and dead-letters bytes that do not decode', async () => {
    const protoFile = fileURLToPath(new URL('./fixtures/payment.proto', import.meta.url));
    const Payment = protobuf.loadSync(protoFile).lookupType('sluice.test.Payment');
    const input = await kit.topic(2);
    const dlq = await kit.topic(1);
    const payments = [
      { user: 'ann', cents: '1250', method: 'CARD' },
      { user: 'bob', cents: '9007199254740993', method: 'TRANSFER' },
      { user: 'cy', cents: '0', method: 'CARD' },
    ];
    await kit.producer.send({
      topic: input,
      messages: [
        ...payments.map((p, i) => ({ partition: 0, key: p.user, timestamp: String(1_000 + i), headers: { trace: `t${i}` }, value: Buffer.from(Payment.encode(Payment.fromObject(p)).finish()) })),
        // Field 1, length-delimited, claiming 127 bytes that are not there.
        { partition: 1, key: 'broken', value: Buffer.from([0x0a, 0x7f, 0x01]) },
      ],
    });
    const r = await runJob('kafka-protobuf.ts', { parallelism: 2, params: { bootstrap, input, protoFile, dlq } });
    expect(r.status).toBe('FINISHED');
    const got = sortBy(r.collected.payments as KafkaRecordWithValue<Payment>[], (p) => p.offset);
    expect(got).toEqual(payments.map((p, i) => ({ topic: input, partition: 0, offset: i, timestamp: 1_000 + i, key: p.user, headers: { trace: `t${i}` }, value: p })));
    const [dead] = await kit.readAll(dlq, 1);
    expect(dead?.key).toBe('broken');
    expect(headerText(dead!.headers, DLQ_HEADERS.reason)).toBe('deserialization');
    expect(headerText(dead!.headers, DLQ_HEADERS.partition)).toBe('1');
    expect(headerText(dead!.headers, DLQ_HEADERS.error)).toMatch(/not a valid protobuf sluice\.test\.Payment/);
  });

  describe('resumed from a savepoint taken early', () => {
    const TOTAL = 3_000;
    const padding = 'x'.repeat(2_000);

    /**
     * Fills a one-partition topic with TOTAL large records and runs kafka-slow-read.ts on
     * `embedded` until a savepoint stops it, as soon as it runs. Returns what a resumed run needs
     * and how much was read.
     */
    async function readPartWay(embedded: EmbeddedCluster, scratch: string, bounded: boolean) {
      const input = await kit.topic(1);
      for (let i = 0; i < TOTAL; i += 200) {
        await kit.producer.send({ topic: input, messages: Array.from({ length: 200 }, (_, j) => ({ value: `v${i + j} ${padding}` })) });
      }
      const entry = await compileJob(jobPath('kafka-slow-read.ts'));
      const params = { bootstrap, topic: input, delayMs: '2', checkpointDir: join(scratch, 'checkpoints'), bounded: String(bounded) };
      const first = await embedded.submit({ entry, params, parallelism: 1 });
      // The savepoint is taken once every subtask runs, long before the map (2 ms a record) could
      // have taken all TOTAL records: how many it took before the barrier varies, and is `read`.
      while ((await embedded.cluster.dispatcher.requestJobStatus(first.handle.jobId)) === 'CREATED') await sleep(20);
      const { path } = await embedded.cluster.dispatcher.triggerSavepoint(first.handle.jobId, join(scratch, 'savepoints'), 'terminate');
      const r1 = await first.handle.result();
      expect(r1.status).toBe('FINISHED');
      const read = r1.collected['records']?.length ?? 0;
      expect(read).toBeLessThan(TOTAL);
      return { input, entry, params, path, read };
    }

    /** Deletes every record up to TOTAL, as retention would while the job is down. */
    async function deleteAll(input: string): Promise<void> {
      // kafkajs finds the partition's leader only in metadata it has fetched for this topic.
      await kit.admin.fetchTopicMetadata({ topics: [input] });
      await kit.admin.deleteTopicRecords({ topic: input, partitions: [{ partition: 0, offset: String(TOTAL) }] });
      expect((await kit.admin.fetchTopicOffsets(input))[0]).toMatchObject({ low: String(TOTAL), high: String(TOTAL) });
    }

    /** The result of `job`, which must finish (a guard against waiting forever, not a time limit on the run). */
    async function finished(job: { handle: { result(): Promise<JobResult> } }): Promise<JobResult> {
      return Promise.race([
        job.handle.result(),
        sleep(60_000).then(() => {
          throw new Error('the resumed bounded job did not finish within 60 s');
        }),
      ]);
    }

    it("a bounded job resumed from a bounded run's savepoint reads on to the end offsets current when it resumes", async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'sluice-kafka-resume-'));
      const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2 });
      try {
        const { input, entry, params, path, read } = await readPartWay(embedded, scratch, true);
        await kit.producer.send({ topic: input, messages: Array.from({ length: 50 }, (_, j) => ({ value: `new${j}` })) });
        const r2 = await finished(await embedded.submit({ entry, params, parallelism: 1 }, { restoreFrom: { path } }));
        expect(r2.error?.message).toBeUndefined();
        expect(r2.status).toBe('FINISHED');
        const rest = Array.from({ length: TOTAL - read }, (_, i) => `v${read + i}`);
        expect((r2.collected['records'] as string[]).map((v) => v.split(' ')[0])).toEqual([...rest, ...Array.from({ length: 50 }, (_, j) => `new${j}`)]);
      } finally {
        await embedded.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    }, 90_000);

    it('a bounded job resumed after retention deleted the rest of its range finishes instead of waiting forever', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'sluice-kafka-deleted-'));
      const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2 });
      try {
        const { input, entry, params, path } = await readPartWay(embedded, scratch, true);
        await deleteAll(input);
        const r2 = await finished(await embedded.submit({ entry, params, parallelism: 1 }, { restoreFrom: { path } }));
        expect(r2.error?.message).toBeUndefined();
        expect(r2.status).toBe('FINISHED');
        expect(r2.collected['records'] ?? []).toEqual([]);
      } finally {
        await embedded.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    }, 90_000);

    it('an unbounded job resumed below the log start counts and reports the deleted records, then reads on', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'sluice-kafka-deleted-'));
      const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, metricsPort: 0 });
      try {
        const { input, entry, params, path, read } = await readPartWay(embedded, scratch, false);
        await deleteAll(input);
        // New records arrive after the deleted ones.
        await kit.producer.send({ topic: input, messages: Array.from({ length: 50 }, (_, j) => ({ value: `new${j}` })) });
        const second = await embedded.submit({ entry, params, parallelism: 1 }, { restoreFrom: { path } });
        const deleted = new RegExp(`^sluice_kafka_source_records_deleted_total\\{[^}]*topic="${input}"[^}]*\\} (\\d+)`, 'm');
        let count: number | undefined;
        for (let i = 0; i < 200 && count === undefined; i++) {
          await sleep(100);
          for (const url of embedded.metricsUrls()) {
            const m = deleted.exec(await fetch(url).then((res) => res.text()));
            if (m !== null) count = Number(m[1]);
          }
        }
        await second.handle.cancel();
        const r2 = await second.handle.result();
        expect(count).toBe(TOTAL - read);
        expect(r2.collected['records']).toEqual(Array.from({ length: 50 }, (_, j) => `new${j}`));
      } finally {
        await embedded.close();
        rmSync(scratch, { recursive: true, force: true });
      }
    }, 90_000);
  });

  describe('metrics', () => {
    it('exports records, bytes and consumer lag per partition while an unbounded source runs', async () => {
      const input = await kit.topic(2);
      const output = await kit.topic(1);
      await kit.producer.send({ topic: input, messages: Array.from({ length: 300 }, (_, i) => ({ partition: i % 2, value: `v${i}` })) });
      let metricsUrl: string | undefined;
      let text = '';
      const r = await kit.runUntil(
        'kafka-read.ts',
        { parallelism: 1, params: { bootstrap, topics: input, bounded: 'false', output }, embedded: { metricsPort: 0, onStarted: (info) => (metricsUrl = info.metricsUrl) } },
        async () => {
          await kit.waitForCount(output, 300);
          // Custom series reach the TaskManager every 500 ms.
          for (let i = 0; i < 60 && !/^sluice_kafka_consumer_lag\{[^}]*partition="1"/m.test(text); i++) {
            await sleep(100);
            if (metricsUrl !== undefined) text = await fetch(metricsUrl).then((res) => res.text());
          }
        },
      );
      expect(r.status).toBe('CANCELED');
      for (const partition of ['0', '1']) {
        const labels = `[^}]*topic="${input}",partition="${partition}"[^}]*`;
        expect(text).toMatch(new RegExp(`^sluice_kafka_source_records_in_total\\{${labels}\\} 150$`, 'm'));
        expect(text).toMatch(new RegExp(`^sluice_kafka_source_bytes_in_total\\{${labels}\\} [1-9]`, 'm'));
        // Caught up: nothing after the position.
        expect(text).toMatch(new RegExp(`^sluice_kafka_consumer_lag\\{${labels}\\} 0$`, 'm'));
      }
    }, 60_000);
  });
});
