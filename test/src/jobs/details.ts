/**
 * An endless job for the job-details test: a rate-limited generator → keyBy → a keyed process
 * function → a sink that keeps nothing, so records flow through every vertex until the job is
 * cancelled. Params: rate (records per second, default 20000), failOnce ('true': the first
 * attempt of the process function's subtask 0 throws at its 500th record; the job restarts once).
 */
import type { Collector, KeyedProcessFunction, RuntimeContext, Sink, SinkWriter, StreamExecutionEnvironment } from '@sluice/api';

interface Tick {
  key: string;
  seq: number;
}

class Tag implements KeyedProcessFunction<string, Tick, string> {
  private failAt = -1;
  private seen = 0;

  constructor(private readonly failOnce: boolean) {}

  open(ctx: RuntimeContext): void {
    const t = ctx.getTaskInfo();
    if (this.failOnce && t.attempt === 0 && t.subtaskIndex === 0) this.failAt = 500;
  }

  processElement(t: Tick, _ctx: unknown, out: Collector<string>): void {
    if (++this.seen === this.failAt) throw new Error(`injected failure at record ${this.seen}`);
    out.collect(`${t.key}:${t.seq}`);
  }
}

/** Writes nothing anywhere: the engine counts what reaches it. */
const discard: Sink<string> = {
  createWriter: (): SinkWriter<string> => ({ write: () => undefined, flush: () => undefined, close: () => undefined }),
  describe: () => 'discard',
};

export default function build(env: StreamExecutionEnvironment): void {
  const failOnce = env.params.failOnce === 'true';
  env.setJobName('details');
  if (failOnce) env.setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 50 });
  env
    .fromGenerator<Tick>({ seed: 5, name: 'ticks', ratePerSecond: Number(env.params.rate ?? '20000'), generate: (seq) => ({ key: `k${seq % 16}`, seq }) })
    .keyBy((t) => t.key)
    .process(new Tag(failOnce))
    .name('tag')
    .sinkTo(discard);
}
