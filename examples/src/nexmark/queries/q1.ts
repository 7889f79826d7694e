/**
 * Nexmark q1, currency conversion: each bid with its price converted at 0.908 (dollars to
 * euros in the original). Output keeps the bid's identity fields, dateTime and extra.
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { querySink } from '../sinks.js';
import { nexmarkBids } from '../source.js';

export const Q1_RATE = 0.908;

export interface Q1Result {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
  /** Emission stamp carried through for latency measurement (0 when not sampled). */
  emitMs: number;
}

export default function q1(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q1');
  nexmarkBids(env)
    .map<Q1Result>((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price * Q1_RATE, dateTime: b.dateTime, extra: b.extra, emitMs: b.emitMs }))
    .name('q1 convert')
    .sinkTo(querySink<Q1Result>(env.params))
    .name('q1 sink');
}
