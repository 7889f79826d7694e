/**
 * An endless source of ~1 KiB records feeding a deliberately slow consumer on another thread.
 * With bounded channels the source must be held back (backpressure) and memory stays flat;
 * without them the process would buffer gigabytes within seconds.
 * Params: delayEvery (records between 1 ms stalls in the consumer, default 50).
 */
import type { Sink, StreamExecutionEnvironment } from '@sluice/api';

const PAYLOAD = 'x'.repeat(1024);

const discard: Sink<unknown> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
  describe: () => 'discard',
};

export default function build(env: StreamExecutionEnvironment): void {
  const delayEvery = Number(env.params.delayEvery ?? '50');
  env.setJobName('backpressure');
  env
    .fromGenerator({ seed: 1, name: 'fast source', generate: (seq) => ({ seq, payload: PAYLOAD }) })
    .rebalance()
    .map((r) => {
      if (r.seq % delayEvery === 0) {
        const until = Date.now() + 1;
        while (Date.now() < until) {
          // stall
        }
      }
      return r.seq;
    })
    .name('slow consumer')
    .sinkTo(discard);
}
