/**
 * Event-time tumbling windows over out-of-order input with allowed lateness and a late-data
 * side output. The input is fixed, so the output is exact.
 * Watermark: bounded out-of-orderness 2 ms; windows of 10 ms; allowed lateness 5 ms.
 */
import { OutputTag, TumblingEventTimeWindows, WatermarkStrategy, type StreamExecutionEnvironment } from '@sluice/api';

export interface Reading {
  sensor: string;
  ts: number;
  value: number;
}

export const READINGS: Reading[] = [
  { sensor: 'a', ts: 1, value: 1 },
  { sensor: 'b', ts: 3, value: 10 },
  { sensor: 'a', ts: 7, value: 2 },
  { sensor: 'a', ts: 4, value: 3 }, // out of order, on time
  { sensor: 'b', ts: 12, value: 20 }, // watermark 9
  { sensor: 'a', ts: 15, value: 4 }, // watermark 12: window [0,10) fires (a=6, b=10)
  { sensor: 'a', ts: 9, value: 5 }, // late but within lateness (12 < 9 + 5 + ... window max 9 + 5 = 14): re-fires a=11
  { sensor: 'b', ts: 25, value: 30 }, // watermark 22: [10,20) fires (b=20, a=4); [0,10) cleaned up (9 + 5 < 22)
  { sensor: 'a', ts: 8, value: 100 }, // too late: side output
  { sensor: 'b', ts: 21, value: 40 },
];

export const LATE = new OutputTag<Reading>('late');

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('event-time windows');
  // Watermarks after every record make lateness deterministic for this fixed input.
  env.setAutoWatermarkInterval(0);
  const windowed = env
    .fromCollection(READINGS)
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<Reading>(2).withTimestampAssigner((r) => r.ts),
    )
    // One assigner chained to the source sees every record, so which records are late does not
    // depend on how a rebalance spreads them over parallel assigners.
    .setParallelism(1)
    .keyBy((r) => r.sensor)
    .window(TumblingEventTimeWindows.of(10))
    .allowedLateness(5)
    .sideOutputLateData(LATE)
    .aggregate(
      {
        createAccumulator: () => 0,
        add: (r: Reading, acc: number) => acc + r.value,
        getResult: (acc: number) => acc,
      },
      {
        process(key: string, ctx, sums: Iterable<number>, out) {
          for (const s of sums) out.collect({ sensor: key, windowStart: ctx.window().start, sum: s });
        },
      },
    )
    .name('sum per sensor');
  windowed.collect('sums');
  windowed.getSideOutput(LATE).collect('late');
}
