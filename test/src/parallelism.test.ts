/**
 * Parallelism above the cores on the embedded cluster, with real worker threads: the job gets
 * exactly its slots (no slot request fails, so nothing but the one line below is logged), and
 * the run says once what sharing the cores costs. The core count is injected, so the test does
 * not depend on the machine it runs on.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/common';
import { runJob } from './harness.js';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger('warn', 'sluice', (line) => lines.push(line)) };
}

describe('parallelism above the cores', () => {
  it('runs a job wider than the machine with one warning saying what it costs, and no other', async () => {
    const { lines, logger } = capture();
    const r = await runJob('smoke.ts', { parallelism: 4, embedded: { cores: 2, logger } });
    expect(r.status).toBe('FINISHED');
    expect(r.operators.find((o) => o.name === 'Keyed Reduce')?.recordsIn).toBe(20);
    expect(lines, lines.join('\n')).toHaveLength(1);
    expect(lines[0]).toMatch(/ WARN +\[sluice\] parallelism 4 exceeds the 2 cores of this machine: the job's 8 subtasks share 2 cores \(no speed-up beyond parallelism 2\), and each costs about \d+ MB even when idle \(\d+ MB in all\)$/);
  });

  it('says nothing when the parallelism fits the cores', async () => {
    const { lines, logger } = capture();
    const r = await runJob('smoke.ts', { parallelism: 2, embedded: { cores: 2, logger } });
    expect(r.status).toBe('FINISHED');
    expect(lines).toEqual([]);
  });
});
