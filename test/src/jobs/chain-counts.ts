/**
 * Chains (parallelism 1) whose operators' record counts are known exactly, in every shape a
 * chained hop can take: a straight hop, a filter, an operator with a side output, a fan-out to
 * two operators; and a union of two of them, which starts a chain of its own.
 */
import { OutputTag, type StreamExecutionEnvironment } from '@sluice/api';

export const QUARTERS = new OutputTag<number>('not-quarters');

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('chain-counts');
  env.setParallelism(1);
  // 1..100 tripled; the even ones (50); of those, multiples of 4 go on (25), the rest aside (25).
  const tripled = env.fromSequence(1, 100).name('numbers').map((x) => x * 3).name('triple');
  const evens = tripled.filter((x) => x % 2 === 0).name('evens');
  const quarters = evens
    .process<number>({
      processElement(v: number, ctx, out) {
        if (v % 4 === 0) out.collect(v);
        else ctx.output(QUARTERS, v);
      },
    })
    .name('split');
  quarters.collect('quarters').name('quarters sink');
  quarters.getSideOutput(QUARTERS).collect('rest').name('rest sink');
  // Fan-out: `triple` feeds `evens` and this map.
  const shifted = tripled.map((x) => x + 1).name('shift');
  // Union: 50 evens and 100 shifted into one map.
  evens.union(shifted).map((x) => -x).name('negate').collect('negated').name('negated sink');
}
