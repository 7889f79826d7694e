/**
 * The exactly-once proof for window state: sequence numbers (event time = the number, in ms) →
 * keyBy string key → sliding event-time windows of 1 s every 250 ms, counting and summing with
 * an AggregateFunction whose accumulator is a small record → the window function labels each
 * result → the two-phase-commit file sink of exactly-once.ts. A checkpoint holds the windows'
 * accumulators and their timers, so a restart that lost or doubled either would change the
 * output: counts and sums would be off, or windows would fire twice or never.
 *
 * Failures: while `failures` is larger than the job's attempt number, the window function of
 * subtask `attempt % parallelism` dies after a random number of windows — even attempts by
 * throwing, odd ones by ending its worker thread — but only in windows that start before 70% of
 * the input.
 *
 * Params: out (directory, required), events (default 200000), keys (default 40), rate (records/s,
 * default 50000), failures (default 0), interval (checkpoint ms, default 100); see
 * `checkpointedSequence`.
 */
import {
  SlidingEventTimeWindows,
  type AggregateFunction,
  type Collector,
  type ProcessWindowFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type WindowContext,
} from '@sluice/api';
import { checkpointedSequence, FailureInjector, TransactionalFileSink } from './exactly-once.js';

export const WINDOW_MS = 1000;
export const SLIDE_MS = 250;

export interface WindowLine {
  key: string;
  start: number;
  count: number;
  sum: number;
}

interface CountSum {
  count: number;
  sum: number;
}

const countAndSum: AggregateFunction<number, CountSum, CountSum> = {
  createAccumulator: () => ({ count: 0, sum: 0 }),
  add(seq, acc) {
    acc.count++;
    acc.sum += seq;
    return acc;
  },
  getResult: (acc) => acc,
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
};

class LabelWindow implements ProcessWindowFunction<CountSum, WindowLine, string> {
  private readonly failure: FailureInjector;

  constructor(failures: number, failBefore: number) {
    this.failure = new FailureInjector(failures, failBefore, 300, 3_000);
  }

  open(ctx: RuntimeContext): void {
    this.failure.open(ctx);
  }

  process(key: string, ctx: WindowContext, results: Iterable<CountSum>, out: Collector<WindowLine>): void {
    const start = ctx.window().start;
    this.failure.call(start, 'windows');
    for (const r of results) out.collect({ key, start, count: r.count, sum: r.sum });
  }
}

/** What a failure-free run must produce: every (key, window) with its count and sum. */
export function expectedWindows(events: number, keys: number): WindowLine[] {
  const byWindow = new Map<string, WindowLine>();
  for (let seq = 0; seq < events; seq++) {
    const key = `k${seq % keys}`;
    const last = seq - (seq % SLIDE_MS);
    for (let start = last; start > seq - WINDOW_MS; start -= SLIDE_MS) {
      const id = `${key}@${start}`;
      let w = byWindow.get(id);
      if (w === undefined) {
        w = { key, start, count: 0, sum: 0 };
        byWindow.set(id, w);
      }
      w.count++;
      w.sum += seq;
    }
  }
  return [...byWindow.values()];
}

export default function build(env: StreamExecutionEnvironment): void {
  const keys = Number(env.params.keys ?? '40');
  const { out, events, failures, sequence } = checkpointedSequence(env, 'exactly-once-windows', { events: 200_000, rate: 50_000 });
  sequence
    .keyBy((seq) => `k${seq % keys}`)
    .window(SlidingEventTimeWindows.of(WINDOW_MS, SLIDE_MS))
    .aggregate(countAndSum, new LabelWindow(failures, Math.floor(events * 0.7)))
    .uid('windows')
    .name('windows')
    .sinkTo(new TransactionalFileSink<WindowLine>(out))
    .uid('files')
    .name('files');
}
