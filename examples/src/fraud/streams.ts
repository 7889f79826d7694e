/**
 * Where the fraud-detection jobs get card transactions: the deterministic generator (the demo,
 * and what the producer job writes to Kafka) or a Kafka topic. Both streams carry event time
 * from the transaction's `timestamp`.
 */
import { WatermarkStrategy, type SingleOutputStreamOperator, type StreamExecutionEnvironment } from '@sluice/api';
import { intParam } from '../params.js';
import { transactionSource, type FraudKafkaConfig } from './kafka.js';
import { generateTransaction, type Transaction } from './transactions.js';

const byTimestamp = (): WatermarkStrategy<Transaction> => WatermarkStrategy.forMonotonousTimestamps<Transaction>().withTimestampAssigner((tx) => tx.timestamp);

/**
 * `-D events` transactions (default 1,000,000) from `-D seed` (default 7). One subtask, so every
 * account's transactions leave it in generation order whatever the job's parallelism.
 */
export function generatedTransactions(env: StreamExecutionEnvironment): SingleOutputStreamOperator<Transaction> {
  const events = intParam(env.params, 'events', 1_000_000, { min: 1 });
  const seed = intParam(env.params, 'seed', 7);
  return env
    .fromGenerator<Transaction>({ count: events, seed, name: 'Transactions', generate: (index, rng) => generateTransaction(index, rng) }, byTimestamp())
    .setParallelism(1)
    .name('Transactions');
}

/**
 * Transactions from a Kafka topic, at the job's parallelism. Watermarks are per partition and
 * deliberately without idleness: the detector's flag-expiry timer may only fire once every
 * partition has moved past it, so a partition that is merely slow can never lose an alert.
 */
export function kafkaTransactions(env: StreamExecutionEnvironment, c: FraudKafkaConfig): SingleOutputStreamOperator<Transaction> {
  return env.fromSource(transactionSource(c), byTimestamp(), 'Transactions from Kafka');
}
