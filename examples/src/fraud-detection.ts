/**
 * THE DEMO JOB — fraud detection on card transactions. A seeded generator produces
 * transactions over 10,000 accounts; keyed by account, a FraudDetector (ValueState + an
 * event-time timer) flags a tiny transaction followed within a minute by a large one. Each
 * alert is printed as one line. The output is deterministic: the source runs as one subtask,
 * so each account's transactions reach the detector in generation order at any parallelism.
 *
 *   npm run demo                        # 1,000,000 transactions
 *   sluice run examples/dist/fraud-detection.js -p 2 -D events=200000
 *
 * Kafka mode reads the transactions as JSON from a topic and writes alerts as JSON to another
 * (fill the input with examples/src/fraud-produce.ts; the README walks through it):
 *
 *   sluice run examples/src/fraud-detection.ts -p 2 -D source=kafka -D bootstrap=127.0.0.1:PORT \
 *     -D input-topic=transactions -D output-topic=alerts [-D bounded=true]
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { FraudDetector, formatAlert } from './fraud/detector.js';
import { alertSink, fraudKafkaConfig, transactionSourceKind } from './fraud/kafka.js';
import { generatedTransactions, kafkaTransactions } from './fraud/streams.js';

export default function fraudDetection(env: StreamExecutionEnvironment): void {
  env.setJobName('fraud-detection');
  if (transactionSourceKind(env.params) === 'kafka') {
    const kafka = fraudKafkaConfig(env.params);
    kafkaTransactions(env, kafka)
      .keyBy((tx) => tx.accountId)
      .process(new FraudDetector())
      .name('Fraud detector')
      .sinkTo(alertSink(kafka))
      .name('Alerts to Kafka');
    return;
  }
  generatedTransactions(env)
    .keyBy((tx) => tx.accountId)
    .process(new FraudDetector())
    .name('Fraud detector')
    .map(formatAlert)
    .name('Format alert')
    .print();
}
