/**
 * A user function that throws on one specific record, to check that the job fails with an
 * error naming the operator, the subtask and the record, and that no worker thread leaks.
 * Params: failAt (the sequence number that throws, default 5000), where ('map' | 'build').
 */
import type { StreamExecutionEnvironment } from '@sluice/api';

export default function build(env: StreamExecutionEnvironment): void {
  const failAt = Number(env.params.failAt ?? '5000');
  if (env.params.where === 'build') throw new Error('the job refused to build: missing configuration "table"');
  env.setJobName('failing');
  env
    .fromGenerator({ count: 1_000_000, seed: 3, name: 'numbers', generate: (seq) => ({ seq, card: `card-${seq % 97}` }) })
    .rebalance()
    .map((r) => {
      if (r.seq === failAt) throw new Error(`cannot score card ${r.card}`);
      return r;
    })
    .name('score')
    .filter(() => false)
    .collect('never');
}
