/**
 * A checkpointed Kafka read for resume tests: KafkaSource (uid 'records') → collect sink
 * `records` of `partition/offset=value` strings. Params: bootstrap, topics, bounded (default
 * false), checkpointDir, group (commitOffsetsToGroup: where the test sees which offsets a
 * completed checkpoint holds), slowPartition and slowMs (each record of that partition takes
 * slowMs to pass the map after the source, so the subtask reading it ends well after the others).
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSource } from '@sluice/kafka';

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  env.setJobName('kafka resume');
  const slow = p.slowPartition === undefined ? undefined : { partition: p.slowPartition, ms: Number(p.slowMs ?? '10'), cell: new Int32Array(new SharedArrayBuffer(4)) };
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
    .map((r) => {
      if (slow !== undefined && r.startsWith(`${slow.partition}/`)) Atomics.wait(slow.cell, 0, 0, slow.ms);
      return r;
    })
    .collect('records');
}
