/**
 * Kafka → job → Kafka: reads JSON orders from `input` (bounded: up to the offsets current at
 * start), adds a total, and writes them as JSON keyed by order id to `output` with at-least-once
 * delivery, keeping each record's Kafka timestamp. Params: bootstrap, input, output, partitioner
 * ('default' = murmur2 of the key; 'qty' = partition qty % partitionCount).
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaDeserializers, KafkaSerializers, KafkaSink, KafkaSource, type KafkaPartitioner } from '@sluice/kafka';

export interface Order {
  id: string;
  qty: number;
  price: number;
}

export interface PricedOrder extends Order {
  total: number;
}

/** The partition of a PricedOrder from its JSON value: qty modulo the partition count. */
const byQuantity: KafkaPartitioner = ({ value, partitionCount }) => (JSON.parse(value!.toString('utf8')) as Order).qty % partitionCount;

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input, output } = env.params;
  const partitioner = env.params.partitioner === 'qty' ? byQuantity : 'default';
  env.setJobName('kafka json round trip');
  env
    .fromSource(
      new KafkaSource<Order>({ bootstrapServers: bootstrap!, topics: input!, deserializer: KafkaDeserializers.json<Order>(), bounded: true }),
      WatermarkStrategy.noWatermarks(),
      'orders',
    )
    .map((o): PricedOrder => ({ ...o, total: o.qty * o.price }))
    .sinkTo(
      new KafkaSink<PricedOrder>({
        bootstrapServers: bootstrap!,
        topic: output!,
        keySerializer: (o) => o.id,
        valueSerializer: KafkaSerializers.json(),
        headers: (o) => ({ source: 'sluice', qty: String(o.qty) }),
        deliveryGuarantee: 'at-least-once',
        partitioner,
        batchSize: 50,
      }),
    );
}
