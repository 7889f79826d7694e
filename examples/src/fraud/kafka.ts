/**
 * The fraud-detection job's Kafka side: which job parameters select and configure Kafka mode,
 * how transactions and alerts look as Kafka records, and the source and sink built from them.
 *
 * Records are JSON. Transactions are keyed by account, so one account's transactions land in one
 * partition in the order they were produced, which is the order the detector must see them in:
 * Sluice reads a partition in offset order and `keyBy` sends an account's records from one source
 * subtask to one detector subtask. That is what makes Kafka mode give the generator mode's alerts
 * at any parallelism and partition count.
 *
 * Event time comes from the transaction's own `timestamp` field, not from the Kafka timestamp, and
 * both jobs let Kafka stamp records with the time they are written (`writeTimestamps: false`): the
 * generated event times lie in 2024, and records stamped with them would be deleted by the
 * broker's time-based retention soon after being written.
 */
import { ConfigurationError } from '@sluice/common';
import { KafkaSerializers, KafkaSink, KafkaSource, type KafkaDeserializer, type KafkaRecord } from '@sluice/kafka';
import type { Alert } from './detector.js';
import type { Transaction } from './transactions.js';
import { boolParam, requiredParam, stringParam, type Params } from '../params.js';

export type TransactionSourceKind = 'generator' | 'kafka';

/** `-D source=generator|kafka`; generator (the demo) when absent. */
export function transactionSourceKind(params: Params): TransactionSourceKind {
  const raw = stringParam(params, 'source', 'generator');
  if (raw === 'generator' || raw === 'kafka') return raw;
  throw new ConfigurationError(`parameter -D source=${raw} is invalid: expected generator or kafka`);
}

const BOOTSTRAP_HINT = 'the Kafka bootstrap servers, e.g. -D bootstrap=127.0.0.1:9092 (`npm run kafka:start` prints one)';

export interface FraudKafkaConfig {
  bootstrap: string;
  inputTopic: string;
  outputTopic: string;
  /** Stop at the input's end offsets as of job start (the job then finishes), instead of running until cancelled. */
  bounded: boolean;
}

/** The parameters of Kafka mode: -D bootstrap, input-topic, output-topic, and optionally bounded. */
export function fraudKafkaConfig(params: Params): FraudKafkaConfig {
  return {
    bootstrap: requiredParam(params, 'bootstrap', `-D source=kafka reads from and writes to Kafka and needs ${BOOTSTRAP_HINT}`),
    inputTopic: requiredParam(params, 'input-topic', '-D source=kafka needs the topic of card transactions to read, e.g. -D input-topic=transactions'),
    outputTopic: requiredParam(params, 'output-topic', '-D source=kafka needs the topic to write alerts to, e.g. -D output-topic=alerts'),
    bounded: boolParam(params, 'bounded', false),
  };
}

/** The producer job's parameters: -D bootstrap, topic. */
export function fraudProduceConfig(params: Params): { bootstrap: string; topic: string } {
  return {
    bootstrap: requiredParam(params, 'bootstrap', `the producer writes transactions to Kafka and needs ${BOOTSTRAP_HINT}`),
    topic: requiredParam(params, 'topic', 'the topic to fill with card transactions, e.g. -D topic=transactions'),
  };
}

export const transactionKey = (tx: Transaction): string => String(tx.accountId);

/** `{"accountId":4432,"amount":0.8,"timestamp":1704070139160}`: JSON numbers round-trip exactly. */
export function serializeTransaction(tx: Transaction): string {
  return JSON.stringify({ accountId: tx.accountId, amount: tx.amount, timestamp: tx.timestamp });
}

/**
 * A transaction from its JSON text. Throws, naming what is wrong, for anything that is not one,
 * so the source's bad-record policy (fail, by default) applies instead of NaNs reaching the
 * detector.
 */
export function parseTransaction(text: string): Transaction {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`transaction is not JSON: ${(err as Error).message}`);
  }
  const o = v as Partial<Record<keyof Transaction, unknown>> | null;
  if (
    o === null ||
    typeof o !== 'object' ||
    !Number.isSafeInteger(o.accountId) ||
    typeof o.amount !== 'number' ||
    !Number.isFinite(o.amount) ||
    typeof o.timestamp !== 'number' ||
    !Number.isFinite(o.timestamp)
  ) {
    throw new Error(`expected a transaction {"accountId": integer, "amount": number, "timestamp": ms}, got ${text.slice(0, 120)}`);
  }
  return { accountId: o.accountId as number, amount: o.amount, timestamp: o.timestamp };
}

/** Tombstones (null values) are skipped; anything else must be a transaction. */
export const transactionDeserializer: KafkaDeserializer<Transaction> = (r: KafkaRecord) => (r.value === null ? undefined : parseTransaction(r.value.toString('utf8')));

export function transactionSource(c: FraudKafkaConfig): KafkaSource<Transaction> {
  return new KafkaSource<Transaction>({
    bootstrapServers: c.bootstrap,
    topics: c.inputTopic,
    deserializer: transactionDeserializer,
    startingOffsets: 'earliest',
    bounded: c.bounded,
  });
}

/** Alerts as JSON, keyed by account: `{"accountId":…,"small":{amount,timestamp},"large":{…}}`. */
export function alertSink(c: FraudKafkaConfig): KafkaSink<Alert> {
  return new KafkaSink<Alert>({
    bootstrapServers: c.bootstrap,
    topic: c.outputTopic,
    keySerializer: (a) => String(a.accountId),
    valueSerializer: KafkaSerializers.json<Alert>(),
    deliveryGuarantee: 'at-least-once',
    writeTimestamps: false,
  });
}

export function transactionSink(c: { bootstrap: string; topic: string }): KafkaSink<Transaction> {
  return new KafkaSink<Transaction>({
    bootstrapServers: c.bootstrap,
    topic: c.topic,
    keySerializer: transactionKey,
    valueSerializer: serializeTransaction,
    deliveryGuarantee: 'at-least-once',
    writeTimestamps: false,
  });
}
