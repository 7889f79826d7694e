/**
 * Nexmark q5 (examples/src/nexmark/queries/q5.ts) with its results collected instead of
 * discarded, so runs on different clusters can be compared record for record. Same operators,
 * same source parameters (`-D events=…`).
 */
import type { StreamExecutionEnvironment } from '@sluice/api';
import { q5Results } from '../../../examples/src/nexmark/queries/q5.js';

export default function q5Collected(env: StreamExecutionEnvironment): void {
  env.setJobName('nexmark-q5-collected');
  q5Results(env).collect('q5');
}
