/**
 * Fills a Kafka topic with the fraud-detection demo's card transactions: the same seeded
 * generator and parameters as the demo (`-D events`, default 1,000,000; `-D seed`, default 7),
 * written as JSON records keyed by account. The fraud-detection job in Kafka mode then finds
 * exactly the alerts the demo prints.
 *
 *   npm run fraud:produce -- -D bootstrap=127.0.0.1:PORT -D topic=transactions [-D events=N]
 *
 * One producer (parallelism 1) writes in generation order, so each account's transactions are
 * in order within their partition. The sink runs as its own task, not chained to the generator,
 * so generating and producing use two threads.
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { fraudProduceConfig, transactionSink } from './fraud/kafka.js';
import { generatedTransactions } from './fraud/streams.js';

export default function fraudProduce(env: StreamExecutionEnvironment): void {
  env.setJobName('fraud-produce');
  const target = fraudProduceConfig(env.params);
  generatedTransactions(env).sinkTo(transactionSink(target)).setParallelism(1).name(`Transactions to Kafka (${target.topic})`).disableChaining();
}
