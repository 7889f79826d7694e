/**
 * A slow bounded read of one topic, checkpointed, for savepoint tests: KafkaSource (bounded) →
 * a map in its own thread that waits `delayMs` per record → collect sink `records` (the
 * values). The source runs ahead only as far as the channel between them holds, so with large
 * records a savepoint taken early leaves most of the topic unread. Params: bootstrap, topic,
 * delayMs (default 1), checkpointDir, bounded (default true).
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSource } from '@sluice/kafka';

const pause = new Int32Array(new SharedArrayBuffer(4));

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  const delayMs = Number(p.delayMs ?? '1');
  env.setJobName('kafka slow read');
  env.enableCheckpointing(100, p.checkpointDir === undefined ? {} : { dir: p.checkpointDir });
  env
    .fromSource(
      new KafkaSource<string>({ bootstrapServers: p.bootstrap!, topics: [p.topic!], bounded: p.bounded !== 'false', deserializer: (r) => r.value?.toString('utf8') ?? '' }),
      WatermarkStrategy.noWatermarks(),
      'records',
    )
    .uid('records')
    .rebalance()
    .map((v) => {
      Atomics.wait(pause, 0, 0, delayMs);
      return v;
    })
    .uid('slow')
    .collect('records');
}
