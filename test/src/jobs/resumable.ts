/**
 * The exactly-once job's pipeline (sequence numbers → per-key count and sum in keyed state →
 * two-phase-commit file sink) with no checkpoint settings in code: checkpointing, restarts and
 * the starting savepoint come from `sluice run` flags, as an operator would set them. The uids
 * match exactly-once.ts, so savepoints of either job fit the other.
 *
 * Params: out (directory, required), events (default: unbounded), keys (default 5), rate
 * (records/s, default 2000).
 */
import { WatermarkStrategy, type StreamExecutionEnvironment } from '@sluice/api';
import { CountAndSum, TransactionalFileSink } from './exactly-once.js';

export default function build(env: StreamExecutionEnvironment): void {
  const out = env.params.out;
  if (out === undefined) throw new Error('resumable job needs -D out=<directory>');
  const events = env.params.events === undefined ? undefined : Number(env.params.events);
  const keys = Number(env.params.keys ?? '5');
  env.setJobName('resumable');
  env
    .fromGenerator(
      { ...(events === undefined ? {} : { count: events }), seed: 1, name: 'sequence', ratePerSecond: Number(env.params.rate ?? '2000'), generate: (seq) => seq },
      WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((seq) => seq),
    )
    .setParallelism(1)
    .uid('sequence')
    .keyBy((seq) => seq % keys)
    .process(new CountAndSum(0, 0))
    .uid('count-and-sum')
    .name('count-and-sum')
    .sinkTo(new TransactionalFileSink(out))
    .uid('files')
    .name('files');
}
