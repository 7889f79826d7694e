/**
 * Nexmark q1, currency conversion: each bid with its price converted at 0.908 (dollars to
 * euros in the original). Output keeps the bid's identity fields, dateTime and extra.
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { querySink } from '../sinks.js';
import { nexmarkBids } from '../source.js';
import { q1Convert, type Q1Result } from '../query-functions.js';

export default function q1(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q1');
  nexmarkBids(env)
    .map<Q1Result>(q1Convert)
    .name('q1 convert')
    .sinkTo(querySink<Q1Result>(env.params))
    .name('q1 sink');
}
