/**
 * Nexmark q2, selection: the (auction, price) of bids on auctions whose id is divisible by 123.
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { querySink } from '../sinks.js';
import { nexmarkBids } from '../source.js';
import { q2Selects } from '../query-functions.js';

export interface Q2Result {
  auction: number;
  price: number;
  /** Emission stamp carried through for latency measurement (0 when not sampled). */
  emitMs: number;
}

export default function q2(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q2');
  nexmarkBids(env)
    .filter((b) => q2Selects(b.auction))
    .name('q2 select')
    .map<Q2Result>((b) => ({ auction: b.auction, price: b.price, emitMs: b.emitMs }))
    .name('q2 project')
    .sinkTo(querySink<Q2Result>(env.params))
    .name('q2 sink');
}
