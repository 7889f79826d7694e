/**
 * Event-time session windows (gap 10 ms) with a bridging element that merges two sessions, and
 * a ProcessWindowFunction over buffered elements. Fixed input, exact output.
 */
import { EventTimeSessionWindows, WatermarkStrategy, type StreamExecutionEnvironment } from '@sluice/api';

export interface Click {
  user: string;
  ts: number;
}

export const CLICKS: Click[] = [
  { user: 'u1', ts: 0 },
  { user: 'u1', ts: 5 },
  { user: 'u2', ts: 3 },
  { user: 'u1', ts: 30 }, // u1: new session [30, 40)
  { user: 'u1', ts: 18 }, // [18, 28): touches neither [0, 15) nor [30, 40)
  { user: 'u1', ts: 26 }, // [26, 36) bridges [18, 28) and [30, 40): they merge into [18, 40)
  { user: 'u2', ts: 50 },
  { user: 'u2', ts: 55 },
  { user: 'u3', ts: 100 },
];

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('session windows');
  env
    .fromCollection(CLICKS)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Click>(20).withTimestampAssigner((c) => c.ts))
    .keyBy((c) => c.user)
    .window(EventTimeSessionWindows.withGap(10))
    .process({
      process(user: string, ctx, clicks: Iterable<Click>, out) {
        const times = [...clicks].map((c) => c.ts).sort((a, b) => a - b);
        out.collect({ user, start: ctx.window().start, end: ctx.window().end, clicks: times });
      },
    })
    .collect('sessions');
}
