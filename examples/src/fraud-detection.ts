/**
 * THE DEMO JOB — fraud detection on card transactions. A seeded generator produces
 * transactions over 10,000 accounts; keyed by account, a FraudDetector (ValueState + an
 * event-time timer) flags a tiny transaction followed within a minute by a large one. Each
 * alert is printed as one line. The output is deterministic: the source runs as one subtask,
 * so each account's transactions reach the detector in generation order at any parallelism.
 *
 *   npm run demo                        # 1,000,000 transactions
 *   sluice run examples/dist/fraud-detection.js -p 2 -D events=200000
 */
import { WatermarkStrategy, type StreamExecutionEnvironment } from '@sluice/api';
import { FraudDetector, formatAlert } from './fraud/detector.js';
import { generateTransaction, type Transaction } from './fraud/transactions.js';
import { intParam } from './params.js';

export default function fraudDetection(env: StreamExecutionEnvironment): void {
  env.setJobName('fraud-detection');
  const events = intParam(env.params, 'events', 1_000_000, { min: 1 });
  const seed = intParam(env.params, 'seed', 7);
  const transactions = env
    .fromGenerator<Transaction>(
      { count: events, seed, name: 'Transactions', generate: (index, rng) => generateTransaction(index, rng) },
      WatermarkStrategy.forMonotonousTimestamps<Transaction>().withTimestampAssigner((tx) => tx.timestamp),
    )
    .setParallelism(1)
    .name('Transactions');
  transactions
    .keyBy((tx) => tx.accountId)
    .process(new FraudDetector())
    .name('Fraud detector')
    .map(formatAlert)
    .name('Format alert')
    .print();
}
