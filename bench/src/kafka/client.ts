/**
 * The harness side of the Kafka benchmarks, on kafkajs directly: topics, pre-filling an input
 * topic as fast as the broker takes it, and reading an output topic back. Every wait is bounded;
 * a broker that stops answering fails the run with an error naming it instead of hanging it.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type ISocketFactory, type Message } from 'kafkajs';
import { benchRecordJson, preciseEpochMs } from './records.js';

/**
 * kafkajs's own sockets keep Nagle's algorithm on (Node's default), so a small request written
 * while an earlier one is unacknowledged can wait for that acknowledgement. Kafka's Java clients
 * set TCP_NODELAY; the harness does the same so that its producer and reader add as little as
 * possible to what is measured. (The bench's brokers are plaintext on loopback: no TLS here.)
 */
const noDelaySockets: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = net.connect({ host, port, noDelay: true }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function benchKafka(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    brokers: bootstrap.split(','),
    clientId,
    socketFactory: noDelaySockets,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

/** Rejects with `what` named once `ms` pass; the action itself is not cancelled, callers clean up. */
export async function within<T>(ms: number, what: string, action: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([action, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for a disconnect or cleanup at most `ms`, ignoring failures: teardown must not hang. */
export async function settleWithin(ms: number, p: Promise<unknown>): Promise<void> {
  await within(ms, 'cleanup', p).catch(() => undefined);
}

export async function connectAdmin(kafka: Kafka, bootstrap: string): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await within(15_000, `connecting to the Kafka broker at ${bootstrap}`, admin.connect());
  } catch (err) {
    await settleWithin(2_000, admin.disconnect());
    throw new Error(`no Kafka broker answers at ${bootstrap}: ${(err as Error).message}; start one with \`npm run kafka:start\` or let the benchmark start its own (unset SLUICE_KAFKA_BOOTSTRAP)`);
  }
  return admin;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Topic configs, e.g. { 'message.timestamp.type': 'LogAppendTime' }. */
  configs?: Record<string, string>;
}

/** Fresh names, so runs against a long-lived broker never read each other's records. */
export function benchTopicName(role: string): string {
  return `sluice-bench-${role}-${randomBytes(4).toString('hex')}`;
}

export async function createTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<void> {
  await within(
    30_000,
    `creating topics ${topics.map((t) => t.name).join(', ')}`,
    admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: 1,
        configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    }),
  );
}

export async function deleteTopics(admin: Admin, names: readonly string[]): Promise<void> {
  await settleWithin(15_000, admin.deleteTopics({ topics: [...names], timeout: 10_000 }));
}

/**
 * Writes `count` bench records (ids from `firstId`) to `topic`, spread evenly over its
 * partitions, with several produce requests in flight. Returns the records/s the broker took.
 */
export async function prefill(kafka: Kafka, topic: string, partitions: number, count: number, firstId = 0): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await within(15_000, 'connecting the pre-fill producer', producer.connect());
  const chunk = 4_000;
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  try {
    for (let from = 0; from < count; from += chunk) {
      const byPartition: Message[][] = Array.from({ length: partitions }, () => []);
      const ts = preciseEpochMs();
      for (let i = from; i < Math.min(count, from + chunk); i++) byPartition[i % partitions]!.push({ value: benchRecordJson(firstId + i, ts) });
      const send = producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages: byPartition.flatMap((messages, partition) => messages.map((m) => ({ ...m, partition }))) }] });
      inFlight.add(send);
      void send.finally(() => inFlight.delete(send)).catch(() => undefined);
      if (inFlight.size >= 8) await within(60_000, `pre-filling ${topic}`, Promise.race(inFlight));
    }
    await within(60_000, `pre-filling ${topic}`, Promise.all(inFlight));
  } finally {
    await settleWithin(5_000, producer.disconnect());
  }
  return count / ((performance.now() - started) / 1000);
}

export interface TopicReadback {
  records: number;
  /** Kafka timestamps (LogAppendTime on the bench's output topics) of the earliest and latest record. */
  firstTimestamp: number;
  lastTimestamp: number;
}

/**
 * Reads `topic` from the beginning until `expected` records arrived or nothing new came for
 * `idleMs`, counting records and noting the earliest and latest timestamps.
 */
export async function readBack(kafka: Kafka, topic: string, expected: number, idleMs: number): Promise<TopicReadback> {
  const consumer = kafka.consumer({ groupId: `sluice-bench-reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 16 * 1024 * 1024 });
  const out: TopicReadback = { records: 0, firstTimestamp: Infinity, lastTimestamp: -Infinity };
  let lastProgress = Date.now();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > idleMs) done();
  }, 100);
  try {
    await within(30_000, `starting a consumer for ${topic}`, startConsumer(consumer, topic, async ({ batch }) => {
      for (const m of batch.messages) {
        const t = Number(m.timestamp);
        if (t < out.firstTimestamp) out.firstTimestamp = t;
        if (t > out.lastTimestamp) out.lastTimestamp = t;
      }
      out.records += batch.messages.length;
      lastProgress = Date.now();
      if (out.records >= expected) done();
    }));
    await finished;
  } finally {
    clearInterval(watchdog);
    await settleWithin(10_000, consumer.disconnect());
  }
  return out;
}

/** Subscribes from the beginning and runs `eachBatch`; resolves once the consumer is running. */
export async function startConsumer(consumer: Consumer, topic: string, eachBatch: (p: EachBatchPayload) => Promise<void>): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatch });
}
