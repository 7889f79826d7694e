/**
 * An endless job for the cluster job-defaults tests: its name is the parameter `name`, so the
 * REST job details show whether a parameter arrived, and nothing in it sets a parallelism or
 * checkpointing, so what it runs with is what it was submitted with. A generator at `rate`
 * records per second (default 200) → map → keyBy → reduce → a sink that keeps nothing.
 */
import type { Sink, SinkWriter, StreamExecutionEnvironment } from '@sluice/api';

const discard: Sink<number> = {
  createWriter: (): SinkWriter<number> => ({ write: () => undefined, flush: () => undefined, close: () => undefined }),
  describe: () => 'discard',
};

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName(env.params.name ?? 'job defaults');
  env
    .fromGenerator<number>({ seed: 1, name: 'ticks', ratePerSecond: Number(env.params.rate ?? '200'), generate: (seq) => seq })
    .map((n) => n + 1)
    .name('bump')
    .keyBy((n) => n % 8)
    .reduce((a, b) => a + b)
    .sinkTo(discard);
}
