/**
 * Nexmark q0, pass-through: every bid goes unchanged to the sink. Measures the source, the
 * engine and the sink with no work in between.
 *
 *   sluice run examples/dist/nexmark/queries/q0.js -D events=10000000
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import type { Bid } from '../model.js';
import { querySink } from '../sinks.js';
import { nexmarkBids } from '../source.js';

export default function q0(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q0');
  nexmarkBids(env).sinkTo(querySink<Bid>(env.params)).name('q0 sink');
}
