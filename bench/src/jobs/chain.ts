/**
 * Bench job for the chain microbenchmark (bench/src/chain/): the Nexmark generator → Bids →
 * q1's currency conversion → q2's selection → a discarding checksum sink. At parallelism 1 it is
 * one chain, which bench/src/chain/subtask.ts runs as one subtask on the calling thread.
 *
 * Params: events, seed, eventRate (as the Nexmark queries). No statsDir: no event counting and no
 * latency stamps, so the chain holds only what q1 and q2 run; with statsDir (profile.js
 * chain-measured) it measures as the q-runs do.
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { nexmarkBids } from '@sluice/examples/nexmark';
import { ChecksumSink, q1Convert, q2Select, type ConvertedBid } from '../chain/work.js';

export default function chain(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-chain');
  nexmarkBids(env).map<ConvertedBid>(q1Convert).name('q1 convert').filter(q2Select).name('q2 select').sinkTo(new ChecksumSink()).name('checksum sink');
}
