/**
 * An endless source of ~1 KiB records feeding a deliberately slow sink on another thread. With
 * bounded channels the source must be held back (backpressure) and memory stays flat; without
 * them the process would buffer gigabytes within seconds.
 * Params: delayEvery (records between 1 ms stalls of the sink, default 50), sinkMode ('sync':
 * the writer stalls the thread; 'async': write returns a promise that settles 1 ms later, and
 * the task must stop feeding the sink until it does).
 */
import type { Sink, SinkWriter, StreamExecutionEnvironment } from '@sluice/api';

const PAYLOAD = 'x'.repeat(1024);

function slowSink(delayEvery: number, mode: 'sync' | 'async'): Sink<number> {
  return {
    describe: () => 'slow sink',
    createWriter: (): SinkWriter<number> => ({
      write(seq) {
        if (seq % delayEvery !== 0) return;
        if (mode === 'async') return new Promise<void>((resolve) => setTimeout(resolve, 1));
        const until = Date.now() + 1;
        while (Date.now() < until) {
          // stall
        }
      },
      flush: () => {},
      close: () => {},
    }),
  };
}

export default function build(env: StreamExecutionEnvironment): void {
  const delayEvery = Number(env.params.delayEvery ?? '50');
  const mode = env.params.sinkMode ?? 'sync';
  if (mode !== 'sync' && mode !== 'async') throw new Error(`-D sinkMode must be 'sync' or 'async', got '${mode}'`);
  env.setJobName('backpressure');
  env
    .fromGenerator({ seed: 1, name: 'fast source', generate: (seq) => ({ seq, payload: PAYLOAD }) })
    .rebalance()
    .map((r) => r.seq)
    .name('to seq')
    .sinkTo(slowSink(delayEvery, mode));
}
