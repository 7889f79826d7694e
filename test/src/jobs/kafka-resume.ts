/**
 * A checkpointed Kafka read for resume tests: KafkaSource (uid 'records') → collect sink
 * `records` of `partition/offset=value` strings. Params: bootstrap, topics, bounded (default
 * false), checkpointDir, group (commitOffsetsToGroup: where the test sees which offsets a
 * completed checkpoint holds).
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSource } from '@sluice/kafka';

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  env.setJobName('kafka resume');
  env.enableCheckpointing(100, { dir: p.checkpointDir! });
  env
    .fromSource(
      new KafkaSource<string>({
        bootstrapServers: p.bootstrap!,
        topics: p.topics!.split(','),
        bounded: p.bounded === 'true',
        ...(p.group === undefined ? {} : { commitOffsetsToGroup: p.group }),
        deserializer: (r) => `${r.partition}/${r.offset}=${r.value?.toString('utf8') ?? ''}`,
      }),
      WatermarkStrategy.noWatermarks(),
      'records',
    )
    .uid('records')
    .collect('records');
}
