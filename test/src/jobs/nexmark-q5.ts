/**
 * Nexmark q5 (examples/src/nexmark/queries/q5.ts) with its results collected instead of
 * discarded, so runs on different clusters can be compared record for record. Same operators,
 * same source parameters (`-D events=…`).
 */
import { SlidingEventTimeWindows, type StreamExecutionEnvironment } from '@sluice/api';
import { nexmarkBids } from '../../../examples/src/nexmark/source.js';
import { countBids, HottestPerWindow, labelWithWindow, Q5_SLIDE_MS, Q5_WINDOW_MS } from '../../../examples/src/nexmark/queries/q5.js';

export default function q5Collected(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q5-collected');
  nexmarkBids(env)
    .map((b) => ({ auction: b.auction, emitMs: b.emitMs }))
    .name('q5 project')
    .keyBy((b) => b.auction)
    .window(SlidingEventTimeWindows.of(Q5_WINDOW_MS, Q5_SLIDE_MS))
    .aggregate(countBids, labelWithWindow)
    .name('q5 count per auction')
    .keyBy((c) => c.windowEnd)
    .process(new HottestPerWindow())
    .name('q5 hottest per window')
    .collect('q5');
}
