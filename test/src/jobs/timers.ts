/**
 * Event-time and processing-time timers in a KeyedProcessFunction. For each key the function
 * registers an event-time timer 10 ms after the key's first event (deduplicated across events)
 * and deletes and re-registers a second one; it emits what fired, in which time domain, and
 * the state it saw. (Processing-time timers are covered by the operator tests, where time is
 * controlled; here their firing would race the end of the input.)
 */
import { ValueStateDescriptor, WatermarkStrategy, type KeyedProcessFunction, type RuntimeContext, type StreamExecutionEnvironment, type ValueState } from '@sluice/api';

interface Ev {
  key: string;
  ts: number;
}

export const EVENTS: Ev[] = [
  { key: 'x', ts: 1 },
  { key: 'y', ts: 2 },
  { key: 'x', ts: 5 },
  { key: 'y', ts: 30 },
  { key: 'x', ts: 40 },
];

class TimerFn implements KeyedProcessFunction<string, Ev, string> {
  private sum!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum'));
  }
  processElement(e: Ev, ctx: Parameters<KeyedProcessFunction<string, Ev, string>['processElement']>[1]): void {
    const before = this.sum.value();
    this.sum.update((before ?? 0) + e.ts);
    if (before === undefined) {
      ctx.timerService().registerEventTimeTimer(e.ts + 10);
      ctx.timerService().registerEventTimeTimer(e.ts + 10); // duplicate: fires once
      ctx.timerService().registerEventTimeTimer(e.ts + 11);
      ctx.timerService().deleteEventTimeTimer(e.ts + 11); // deleted: never fires
    }
  }
  onTimer(ts: number, ctx: Parameters<NonNullable<KeyedProcessFunction<string, Ev, string>['onTimer']>>[1], out: { collect(v: string): void }): void {
    out.collect(`${ctx.getCurrentKey()}@${ts} sum=${this.sum.value()}`);
    this.sum.clear();
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('timers');
  env.setAutoWatermarkInterval(0);
  env
    .fromCollection(EVENTS)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts))
    .keyBy((e) => e.key)
    .process(new TimerFn())
    .collect('fired');
}
