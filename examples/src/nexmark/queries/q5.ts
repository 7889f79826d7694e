/**
 * Nexmark q5, hot items: over sliding windows of 10 s sliding every 2 s (bid event time), the
 * auctions with the most bids in each window (all of them on a tie).
 *
 * Two steps, both parallel: (1) keyBy auction → sliding window → count (an incremental
 * aggregate, so a window holds one small accumulator per auction, not the bids); (2) keyBy
 * window end → keep the window's maximum count and the auctions that reach it, and emit them
 * from an event-time timer at the window's last millisecond. That timer fires only once the
 * watermark has passed the window end on every input channel, i.e. after every step-1 subtask
 * has emitted its counts for the window. Bids are projected to (auction, emitMs) before the
 * first keyBy, because records that cross threads are serialized.
 */
import {
  SlidingEventTimeWindows,
  Time,
  ValueStateDescriptor,
  type AggregateFunction,
  type DataStream,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type ProcessWindowFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
  type WindowContext,
} from '@sluice/api';
import { querySink } from '../sinks.js';
import { nexmarkBids } from '../source.js';

export const Q5_WINDOW_MS = Time.seconds(10);
export const Q5_SLIDE_MS = Time.seconds(2);

interface AuctionBid {
  auction: number;
  emitMs: number;
}

interface CountAcc {
  count: number;
  /** Latest emission stamp among the window's sampled bids (0 if none was sampled). */
  emitMs: number;
}

/** Bids per auction in one window. */
export interface AuctionCount {
  auction: number;
  count: number;
  windowEnd: number;
  emitMs: number;
}

export type Q5Result = AuctionCount;

export const countBids: AggregateFunction<AuctionBid, CountAcc, CountAcc> = {
  createAccumulator: () => ({ count: 0, emitMs: 0 }),
  add(b, acc) {
    acc.count++;
    if (b.emitMs > acc.emitMs) acc.emitMs = b.emitMs;
    return acc;
  },
  getResult: (acc) => acc,
  merge: (a, b) => ({ count: a.count + b.count, emitMs: Math.max(a.emitMs, b.emitMs) }),
};

export const labelWithWindow: ProcessWindowFunction<CountAcc, AuctionCount, number> = {
  process(auction: number, ctx: WindowContext, counts: Iterable<CountAcc>, out: Collector<AuctionCount>): void {
    for (const c of counts) out.collect({ auction, count: c.count, windowEnd: ctx.window().end, emitMs: c.emitMs });
  },
};

interface WindowMax {
  max: number;
  auctions: number[];
  emitMs: number;
}

/** Keyed by window end: collects the window's counts, emits the auctions at the maximum. */
export class HottestPerWindow implements KeyedProcessFunction<number, AuctionCount, Q5Result> {
  private best!: ValueState<WindowMax>;

  open(ctx: RuntimeContext): void {
    this.best = ctx.getState(new ValueStateDescriptor<WindowMax>('q5-window-max'));
  }

  processElement(c: AuctionCount, ctx: KeyedProcessContext<number>, _out: Collector<Q5Result>): void {
    const best = this.best.value();
    if (best === undefined) {
      this.best.update({ max: c.count, auctions: [c.auction], emitMs: c.emitMs });
      ctx.timerService().registerEventTimeTimer(c.windowEnd - 1);
      return;
    }
    if (c.count > best.max) {
      best.max = c.count;
      best.auctions = [c.auction];
    } else if (c.count === best.max) {
      best.auctions.push(c.auction);
    }
    if (c.emitMs > best.emitMs) best.emitMs = c.emitMs;
    this.best.update(best);
  }

  onTimer(_timestamp: number, ctx: OnTimerContext<number>, out: Collector<Q5Result>): void {
    const best = this.best.value();
    if (best === undefined) return;
    const windowEnd = ctx.getCurrentKey();
    for (const auction of best.auctions) out.collect({ auction, count: best.max, windowEnd, emitMs: best.emitMs });
    this.best.clear();
  }
}

/** q5's operators from the generated bids to the hottest auctions per window, without a sink. */
export function q5Results(env: StreamExecutionEnvironment): DataStream<Q5Result> {
  return nexmarkBids(env)
    .map<AuctionBid>((b) => ({ auction: b.auction, emitMs: b.emitMs }))
    .name('q5 project')
    .keyBy((b) => b.auction)
    .window(SlidingEventTimeWindows.of(Q5_WINDOW_MS, Q5_SLIDE_MS))
    .aggregate(countBids, labelWithWindow)
    .name('q5 count per auction')
    .keyBy((c) => c.windowEnd)
    .process(new HottestPerWindow())
    .name('q5 hottest per window');
}

export default function q5(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q5');
  q5Results(env)
    .sinkTo(querySink<Q5Result>(env.params))
    .name('q5 sink');
}
