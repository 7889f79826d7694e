/**
 * Windowed counts: events per sensor per tumbling 10-second event-time window, over data that
 * arrives out of order. Watermarks allow 2 s of disorder, which covers ordinary jitter; about
 * 1 % of events are 30–60 s late and miss their (already fired) window: those go to a side
 * output that is printed as LATE lines instead of being dropped silently.
 *
 * The source is paced (default 2,000 events/s) so that watermarks, which are emitted
 * periodically in processing time, advance while data flows; that is what makes the very late
 * events reliably late. Ordinary events (≤ 2 s of jitter) can never be late, so the window
 * counts are deterministic.
 *
 *   sluice run examples/dist/windowed-counts.js -D events=10000 -D rate=2000
 */
import {
  OutputTag,
  Time,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type ProcessWindowFunction,
  type StreamExecutionEnvironment,
  type WindowContext,
} from '@sluice/api';
import { intParam, numberParam } from './params.js';

export interface SensorEvent {
  sensor: string;
  timestamp: number;
}

const SENSORS = ['sensor-1', 'sensor-2', 'sensor-3', 'sensor-4', 'sensor-5'];
const BASE_TIME = Date.UTC(2024, 0, 1);
const STEP_MS = 10;
const MAX_JITTER_MS = 2000;
const WINDOW_MS = Time.seconds(10);
/** Very late events start after the first 10 s of event time, once watermarks are flowing. */
const FIRST_LATE_INDEX = 1000;

export function sensorEvent(index: number, rng: { nextInt(bound: number): number; nextFloat(): number }): SensorEvent {
  const sensor = SENSORS[rng.nextInt(SENSORS.length)] as string;
  const veryLate = index >= FIRST_LATE_INDEX && rng.nextFloat() < 0.01;
  const delay = veryLate ? 30_000 + rng.nextInt(30_000) : rng.nextInt(MAX_JITTER_MS);
  return { sensor, timestamp: BASE_TIME + index * STEP_MS - delay };
}

const count: AggregateFunction<SensorEvent, number, number> = {
  createAccumulator: () => 0,
  add: (_e, acc) => acc + 1,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 23);

const describeWindow: ProcessWindowFunction<number, string, string> = {
  process(sensor: string, ctx: WindowContext, counts: Iterable<number>, out: Collector<string>): void {
    const w = ctx.window();
    for (const c of counts) out.collect(`${sensor} [${clock(w.start)}, ${clock(w.end)}) count=${c}`);
  },
};

export default function windowedCounts(env: StreamExecutionEnvironment): void {
  env.setJobName('windowed-counts');
  const events = intParam(env.params, 'events', 10_000, { min: 1 });
  const rate = numberParam(env.params, 'rate', 2000, { min: 1 });
  const late = new OutputTag<SensorEvent>('late-events');
  const counts = env
    .fromGenerator<SensorEvent>(
      { count: events, ratePerSecond: rate, seed: 11, name: 'Sensors', generate: sensorEvent },
      WatermarkStrategy.forBoundedOutOfOrderness<SensorEvent>(MAX_JITTER_MS).withTimestampAssigner((e) => e.timestamp),
    )
    .setParallelism(1)
    .name('Sensors')
    .keyBy((e) => e.sensor)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .sideOutputLateData(late)
    .aggregate(count, describeWindow)
    .name('Count per sensor and window');
  counts.print();
  counts
    .getSideOutput(late)
    .map((e) => `LATE ${e.sensor} at ${clock(e.timestamp)}`)
    .name('Format late event')
    .print();
}
