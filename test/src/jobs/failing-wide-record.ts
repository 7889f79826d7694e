/**
 * A user function that throws on a record far too long to quote whole in an error message, to
 * check that the failure names the record truncated rather than flooding the log.
 * Params: failAt (the sequence number that throws, default 10), payload (characters, default 5000).
 */
import type { StreamExecutionEnvironment } from '@sluice/api';

export default function build(env: StreamExecutionEnvironment): void {
  const failAt = Number(env.params.failAt ?? '10');
  const payload = 'y'.repeat(Number(env.params.payload ?? '5000'));
  env.setJobName('failing wide record');
  env
    .fromGenerator({ count: 1000, seed: 5, name: 'wide', generate: (seq) => ({ seq, payload }) })
    .map((r) => {
      if (r.seq === failAt) throw new TypeError(`payload of record ${r.seq} is not a valid document`);
      return r.seq;
    })
    .name('parse')
    .collect('parsed');
}
