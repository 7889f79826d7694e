/**
 * union, connect + CoProcessFunction, flatMap, side outputs and rolling reduce in one job with
 * exact output: two sources of numbers are unioned, split by parity into a side output, and the
 * main stream is connected with a control stream of multipliers.
 */
import { OutputTag, type CoProcessFunction, type StreamExecutionEnvironment } from '@sluice/api';

export const ODD = new OutputTag<number>('odd');

class Multiply implements CoProcessFunction<number, number, number> {
  private factor = 1;
  private readonly pending: number[] = [];
  processElement1(v: number, _ctx: unknown, out: { collect(x: number): void }): void {
    if (this.factor === 1) this.pending.push(v);
    else out.collect(v * this.factor);
  }
  processElement2(f: number, _ctx: unknown, out: { collect(x: number): void }): void {
    this.factor = f;
    for (const v of this.pending.splice(0)) out.collect(v * f);
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('topology');
  const a = env.fromCollection([1, 2, 3, 4]);
  const b = env.fromCollection([10, 11]);
  const all = a.union(b).flatMap<number>((v, out) => {
    out.collect(v);
    out.collect(v + 100);
  });
  const evens = all.process<number>({
    processElement(v: number, ctx, out) {
      if (v % 2 === 0) out.collect(v);
      else ctx.output(ODD, v);
    },
  });
  evens.getSideOutput(ODD).collect('odd');
  const factors = env.fromCollection([3]);
  // Broadcast: every parallel instance of the co-process function must see the factor.
  evens.connect(factors.broadcast()).process(new Multiply()).collect('multiplied');
  all.keyBy((v: number) => v % 3).reduce((x: number, y: number) => x + y).collect('rolling');
}
