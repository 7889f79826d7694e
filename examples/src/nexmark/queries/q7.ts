/**
 * Nexmark q7, highest bid: over tumbling 10 s windows of bid event time, the bids whose price
 * equals the window's maximum price.
 *
 * Step 1 pre-aggregates in parallel: bids are spread over a fixed number of buckets (auction
 * mod 128) and each (bucket, window) keeps only its highest bids — an incremental aggregate, so
 * the window state is one small accumulator per bucket. Step 2, keyed by window end, merges the
 * buckets' candidates and emits the overall highest from an event-time timer at the window's
 * last millisecond, which fires once every step-1 subtask has emitted for that window.
 */
import {
  Time,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
  type AggregateFunction,
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

export const Q7_WINDOW_MS = Time.seconds(10);
export const Q7_BUCKETS = 128;

export interface PricedBid {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
}

/** The highest bids seen so far (all at `price`), and the latest emission stamp seen. */
export interface TopBids {
  price: number;
  bids: PricedBid[];
  emitMs: number;
}

export interface TopBidsOfWindow extends TopBids {
  windowEnd: number;
}

export interface Q7Result extends PricedBid {
  windowEnd: number;
  emitMs: number;
}

interface StampedBid extends PricedBid {
  emitMs: number;
}

/** Adds `candidates` (all priced `price`) into `acc`, keeping only the highest price. */
export function mergeTop(acc: TopBids, price: number, candidates: readonly PricedBid[], emitMs: number): TopBids {
  if (price > acc.price) {
    acc.price = price;
    acc.bids = candidates.slice();
  } else if (price === acc.price) {
    for (const c of candidates) acc.bids.push(c);
  }
  if (emitMs > acc.emitMs) acc.emitMs = emitMs;
  return acc;
}

/** The candidates of a bid below its window's top so far: mergeTop only keeps its stamp. */
const NO_CANDIDATES: readonly PricedBid[] = Object.freeze([]);

export const topBids: AggregateFunction<StampedBid, TopBids, TopBids> = {
  createAccumulator: () => ({ price: -1, bids: [], emitMs: 0 }),
  // Most bids are below the top so far: for them no candidate object is built.
  add: (b, acc) =>
    mergeTop(acc, b.price, b.price < acc.price ? NO_CANDIDATES : [{ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime }], b.emitMs),
  getResult: (acc) => acc,
  merge: (a, b) => mergeTop(a, b.price, b.bids, b.emitMs),
};

export const labelTopWithWindow: ProcessWindowFunction<TopBids, TopBidsOfWindow, number> = {
  process(_bucket: number, ctx: WindowContext, tops: Iterable<TopBids>, out: Collector<TopBidsOfWindow>): void {
    for (const t of tops) out.collect({ price: t.price, bids: t.bids, emitMs: t.emitMs, windowEnd: ctx.window().end });
  },
};

/** Keyed by window end: merges the buckets' highest bids and emits the winners. */
export class HighestPerWindow implements KeyedProcessFunction<number, TopBidsOfWindow, Q7Result> {
  private top!: ValueState<TopBids>;

  open(ctx: RuntimeContext): void {
    this.top = ctx.getState(new ValueStateDescriptor<TopBids>('q7-window-top'));
  }

  processElement(t: TopBidsOfWindow, ctx: KeyedProcessContext<number>, _out: Collector<Q7Result>): void {
    const current = this.top.value();
    if (current === undefined) {
      this.top.update({ price: t.price, bids: t.bids.slice(), emitMs: t.emitMs });
      ctx.timerService().registerEventTimeTimer(t.windowEnd - 1);
      return;
    }
    this.top.update(mergeTop(current, t.price, t.bids, t.emitMs));
  }

  onTimer(_timestamp: number, ctx: OnTimerContext<number>, out: Collector<Q7Result>): void {
    const top = this.top.value();
    if (top === undefined) return;
    const windowEnd = ctx.getCurrentKey();
    for (const b of top.bids) out.collect({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, windowEnd, emitMs: top.emitMs });
    this.top.clear();
  }
}

export default function q7(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q7');
  nexmarkBids(env)
    .map<StampedBid>((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, emitMs: b.emitMs }))
    .name('q7 project')
    .keyBy((b) => b.auction % Q7_BUCKETS)
    .window(TumblingEventTimeWindows.of(Q7_WINDOW_MS))
    .aggregate(topBids, labelTopWithWindow)
    .name('q7 highest per bucket')
    .keyBy((t) => t.windowEnd)
    .process(new HighestPerWindow())
    .name('q7 highest per window')
    .sinkTo(querySink<Q7Result>(env.params))
    .name('q7 sink');
}
