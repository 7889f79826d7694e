/**
 * Reports the young generation its worker thread ends up with after allocating records that
 * live for a while (which makes V8 grow the nursery as far as it may).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import type { StreamExecutionEnvironment } from '@sluice/api';

/**
 * Allocates ~300 MB in arrays that each outlive a few scavenges; returns new space in MB. Self-
 * contained (the heap statistics come in), so a test can run its source in a plain worker.
 */
export function grownNewSpaceMb(stats: typeof getHeapSpaceStatistics): number {
  let keep: { x: number; y: number }[] = [];
  for (let r = 0; r < 200; r++) {
    const a: { x: number; y: number }[] = [];
    for (let i = 0; i < 100_000; i++) a.push({ x: i, y: i * 1.5 });
    keep = a;
  }
  const space = stats().find((s) => s.space_name === 'new_space');
  return keep.length > 0 && space !== undefined ? space.space_size / (1024 * 1024) : NaN;
}

export default function build(env: StreamExecutionEnvironment): void {
  env.setJobName('young-generation');
  env.fromSequence(1, 1).map(() => grownNewSpaceMb(getHeapSpaceStatistics)).collect('newSpaceMb');
}
