/**
 * Keyed sums over a multi-partition topic (bounded). Each record keeps its Kafka metadata
 * (partition, offset, key, timestamp) so the test can check what the deserializer sees.
 * Params: bootstrap, input.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSource, headerText } from '@sluice/kafka';

export interface Payment {
  user: string;
  amount: number;
  partition: number;
  offset: number;
  key: string | null;
  timestamp: number;
  trace: string | undefined;
}

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input } = env.params;
  env.setJobName('kafka keyed sums');
  const payments = env.fromSource(
    new KafkaSource<Payment>({
      bootstrapServers: bootstrap!,
      topics: [input!],
      bounded: true,
      deserializer: (r) => {
        const body = JSON.parse(r.value!.toString('utf8')) as { user: string; amount: number };
        return { ...body, partition: r.partition, offset: r.offset, key: r.key?.toString('utf8') ?? null, timestamp: r.timestamp, trace: headerText(r.headers, 'trace') };
      },
    }),
    WatermarkStrategy.noWatermarks(),
    'payments',
  );
  payments.collect('raw');
  payments
    .map((p) => ({ user: p.user, amount: p.amount }))
    .keyBy((p) => p.user)
    .reduce((a, b) => ({ user: a.user, amount: a.amount + b.amount }))
    .collect('sums');
}
