import { TimeWindow, type Collector, type WindowContext } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { TestingKeyedDriver } from '../../testing/keyed-driver.js';
import { countBids, HottestPerWindow, labelWithWindow, type AuctionCount, type Q5Result } from './q5.js';
import { HighestPerWindow, topBids, type Q7Result, type TopBidsOfWindow } from './q7.js';

function windowCtx(start: number, end: number): WindowContext {
  return { window: () => new TimeWindow(start, end), currentWatermark: () => end, currentProcessingTime: () => 0, output: () => {} };
}

describe('q5 hot items', () => {
  it('counts bids per auction and labels the count with its window', () => {
    let acc = countBids.createAccumulator();
    for (const emitMs of [0, 5, 3]) acc = countBids.add({ auction: 1001, emitMs }, acc);
    const out: AuctionCount[] = [];
    const collector: Collector<AuctionCount> = { collect: (c) => void out.push(c) };
    labelWithWindow.process(1001, windowCtx(0, 10_000), [countBids.getResult(acc)], collector);
    expect(out).toEqual([{ auction: 1001, count: 3, windowEnd: 10_000, emitMs: 5 }]);
  });

  it('emits every auction at the window maximum once the watermark passes the window', () => {
    const d = new TestingKeyedDriver<number, AuctionCount, Q5Result>(new HottestPerWindow(), (c) => c.windowEnd);
    const counts: AuctionCount[] = [
      { auction: 1, count: 5, windowEnd: 10_000, emitMs: 1 },
      { auction: 2, count: 7, windowEnd: 10_000, emitMs: 0 },
      { auction: 9, count: 2, windowEnd: 12_000, emitMs: 0 },
      { auction: 3, count: 7, windowEnd: 10_000, emitMs: 4 },
      { auction: 4, count: 6, windowEnd: 10_000, emitMs: 0 },
    ];
    for (const c of counts) d.send(c, c.windowEnd - 1);
    d.advanceWatermark(9_998);
    expect(d.output).toEqual([]);
    d.advanceWatermark(9_999);
    expect(d.output).toEqual([
      { auction: 2, count: 7, windowEnd: 10_000, emitMs: 4 },
      { auction: 3, count: 7, windowEnd: 10_000, emitMs: 4 },
    ]);
    d.advanceWatermark(20_000);
    expect(d.output.slice(2)).toEqual([{ auction: 9, count: 2, windowEnd: 12_000, emitMs: 0 }]);
    expect(d.stateSize('q5-window-max')).toBe(0);
  });
});

describe('q7 highest bid', () => {
  const bid = (auction: number, price: number, emitMs = 0) => ({ auction, bidder: auction + 1, price, dateTime: 0, emitMs });

  it('pre-aggregates to the highest-priced bids, keeping ties', () => {
    let acc = topBids.createAccumulator();
    for (const b of [bid(1, 5), bid(2, 9, 7), bid(3, 9), bid(4, 3, 8)]) acc = topBids.add(b, acc);
    expect(topBids.getResult(acc)).toEqual({ price: 9, bids: [{ auction: 2, bidder: 3, price: 9, dateTime: 0 }, { auction: 3, bidder: 4, price: 9, dateTime: 0 }], emitMs: 8 });
  });

  it('merges the buckets per window and emits the winners at the window end', () => {
    const d = new TestingKeyedDriver<number, TopBidsOfWindow, Q7Result>(new HighestPerWindow(), (t) => t.windowEnd);
    const w = 10_000;
    d.send({ windowEnd: w, price: 50, bids: [{ auction: 1, bidder: 1, price: 50, dateTime: 10 }], emitMs: 2 }, w - 1);
    d.send({ windowEnd: w, price: 80, bids: [{ auction: 2, bidder: 2, price: 80, dateTime: 20 }], emitMs: 1 }, w - 1);
    d.send({ windowEnd: w, price: 80, bids: [{ auction: 3, bidder: 3, price: 80, dateTime: 30 }], emitMs: 0 }, w - 1);
    d.advanceWatermark(w - 1);
    expect(d.output).toEqual([
      { auction: 2, bidder: 2, price: 80, dateTime: 20, windowEnd: w, emitMs: 2 },
      { auction: 3, bidder: 3, price: 80, dateTime: 30, windowEnd: w, emitMs: 2 },
    ]);
    expect(d.stateSize('q7-window-top')).toBe(0);
  });
});
