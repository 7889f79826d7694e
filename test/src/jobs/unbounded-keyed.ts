/**
 * An endless generator feeding a keyed process function: the job never finishes on its own, so
 * it is what cancellation tests (Ctrl-C in the CLI, JobHandle.cancel in-process) run.
 * Each key's count lives in ValueState; a line is printed when a key reaches 1, 1000, 100000, …
 * records, so a watcher sees output early and then rarely.
 * Params: keys (default 8), output ('print' to stdout, the default, or 'collect' into the
 * 'milestones' collect sink), stuckAt (a sequence number at which the function spins forever
 * without looking at any cancel flag; default none), stuckMarker (a file the function creates
 * just before it starts spinning, so a test can wait until the loop really runs).
 */
import { writeFileSync } from 'node:fs';
import { ValueStateDescriptor, type KeyedProcessFunction, type RuntimeContext, type StreamExecutionEnvironment, type ValueState } from '@sluice/api';

interface Tick {
  key: string;
  seq: number;
}

class CountPerKey implements KeyedProcessFunction<string, Tick, string> {
  private count!: ValueState<number>;

  constructor(
    private readonly stuckAt: number,
    private readonly stuckMarker: string | undefined,
  ) {}

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(t: Tick, _ctx: unknown, out: { collect(line: string): void }): void {
    if (t.seq === this.stuckAt) {
      // A user bug the engine cannot interrupt cooperatively: only terminating the thread stops it.
      if (this.stuckMarker !== undefined) writeFileSync(this.stuckMarker, `spinning since record ${t.seq}\n`);
      for (;;) {
        // spin
      }
    }
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    if (c === 1 || c === 1000 || c === 100_000) out.collect(`${t.key} reached ${c}`);
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  const keys = Number(env.params.keys ?? '8');
  const stuckAt = env.params.stuckAt === undefined ? -1 : Number(env.params.stuckAt);
  env.setJobName('unbounded keyed');
  const milestones = env
    .fromGenerator<Tick>({ seed: 11, name: 'ticks', generate: (seq) => ({ key: `k${seq % keys}`, seq }) })
    .keyBy((t) => t.key)
    .process(new CountPerKey(stuckAt, env.params.stuckMarker))
    .name('count per key');
  if (env.params.output === 'collect') milestones.collect('milestones');
  else milestones.print('count');
}
