/**
 * Worker threads run with a bounded young generation (DEFAULT_WORKER_YOUNG_GENERATION_MB: two
 * 4 MB semi-spaces), where V8 would grow each semi-space to 16 MB: a subtask's nursery stays
 * near the core's cache. The job measures it from inside a real subtask.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_YOUNG_GENERATION_MB, PiscinaTaskRunner } from '@sluice/runtime';
import { grownNewSpaceMb } from './jobs/young-generation.js';
import { runJob } from './harness.js';

describe('worker young generation', () => {
  it('bounds the nursery of a subtask, which the same allocations grow further in a plain worker', async () => {
    const r = await runJob('young-generation.ts');
    expect(r.status).toBe('FINISHED');
    const [inSubtask] = r.collected.newSpaceMb as number[];
    // New space is the two semi-spaces: 2/3 of the young generation.
    expect(inSubtask).toBeGreaterThan(0);
    expect(inSubtask).toBeLessThanOrEqual((DEFAULT_WORKER_YOUNG_GENERATION_MB * 2) / 3);

    // The same code in a worker without the limit: the check above can tell the difference.
    const source = `const grown = ${grownNewSpaceMb.toString()}; require('node:worker_threads').parentPort.postMessage(grown(require('node:v8').getHeapSpaceStatistics));`;
    const plain = new Worker(source, { eval: true });
    try {
      const unbounded = await new Promise<number>((resolve, reject) => {
        plain.once('message', resolve);
        plain.once('error', reject);
      });
      expect(unbounded).toBeGreaterThan((DEFAULT_WORKER_YOUNG_GENERATION_MB * 2) / 3);
    } finally {
      await plain.terminate();
    }
  });

  it.each([2, 4.5, 0])('refuses a young generation of %s MB with a message that says what is allowed', (mb) => {
    expect(() => new PiscinaTaskRunner({ shuffle: undefined as never, maxThreads: 1, youngGenerationMb: mb })).toThrow(/worker young generation must be a whole number of MB, at least 3 .*got /);
  });
});
