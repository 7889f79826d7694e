/**
 * GET /jobs/:id of a real embedded cluster (real worker threads) carries the job's vertices with
 * their subtask states and record counts, read live from the TaskManager while the job runs,
 * and its exceptions history: a job whose user function fails once restarts, shows that one
 * failure, and counts on. Nothing is timed: each step polls until the details show what it needs.
 */
import { describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import type { JobDetailsResponse, VertexDetails } from '@sluice/jobmanager';
import { runEmbedded } from '@sluice/minicluster';
import { jobPath } from './harness.js';

/** Only a hang may fail a wait, however busy the machine. */
const WAIT_MS = 30_000;

async function details(url: string): Promise<JobDetailsResponse> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as JobDetailsResponse;
}

async function detailsWhen(url: string, what: string, cond: (d: JobDetailsResponse) => boolean): Promise<JobDetailsResponse> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const d = await details(url);
    if (cond(d)) return d;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last details: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const allRunning = (d: JobDetailsResponse): boolean => d.status === 'RUNNING' && d.vertices !== undefined && d.vertices.every((v) => v.subtasks.RUNNING === v.parallelism);
const source = (d: JobDetailsResponse): VertexDetails => d.vertices![0]!;
const sink = (d: JobDetailsResponse): VertexDetails => d.vertices!.at(-1)!;

describe('job details over REST, embedded cluster', () => {
  it('shows the vertices with growing counts, and the one failure of a job that restarted', async () => {
    const entry = await compileJob(jobPath('details.ts'));
    let onStarted: (info: { restUrl: string; token: string; jobId: string }) => void = () => {};
    const started = new Promise<{ restUrl: string; token: string; jobId: string }>((resolve) => (onStarted = resolve));
    const run = runEmbedded(
      { entry, params: { failOnce: 'true', rate: '20000' }, parallelism: 2 },
      { restPort: 0, onStarted: (info) => onStarted({ restUrl: info.restUrl ?? '', token: info.restToken ?? '', jobId: info.jobId }) },
    );
    const { restUrl, token, jobId } = await Promise.race([started, run.then((r) => Promise.reject(new Error(`the job ended before it started: ${r.status}`)))]);
    const url = `${restUrl}/jobs/${jobId}`;
    try {
      // The first attempt's subtask 0 of 'tag' fails at its 500th record; the job restarts once.
      const restarted = await detailsWhen(url, 'the restart and every subtask running again', (d) => d.exceptions?.length === 1 && allRunning(d));
      expect(restarted.exceptions).toEqual([
        {
          timestamp: expect.any(Number),
          code: 'USER_FUNCTION',
          message: expect.stringContaining('injected failure at record 500'),
          vertexId: 'v2',
          vertexName: expect.stringContaining('tag'),
          subtask: 0,
          taskManager: expect.any(String),
        },
      ]);
      expect(restarted.exceptionsDropped).toBeUndefined();
      expect(restarted.vertices!.map((v) => [v.id, v.parallelism, v.subtasks])).toEqual([
        ['v1', 2, { RUNNING: 2 }],
        ['v2', 2, { RUNNING: 2 }],
      ]);
      expect(source(restarted).name).toContain('ticks');
      expect(sink(restarted).name).toContain('discard');

      // Live counts: the source's records read and the sink's records written grow while it runs.
      const first = await detailsWhen(url, 'records through the new attempt', (d) => source(d).recordsIn > 0 && sink(d).recordsOut > 0);
      const later = await detailsWhen(url, 'the counts to grow', (d) => source(d).recordsIn > source(first).recordsIn && sink(d).recordsOut > sink(first).recordsOut);
      // The source vertex sends on every record it reads; the keyed vertex hands each one to its
      // sink. (Across vertices no order holds: each subtask publishes its counters on its own.)
      for (const d of [first, later]) {
        expect(source(d).recordsOut).toBe(source(d).recordsIn);
        expect(sink(d).recordsIn).toBeGreaterThanOrEqual(sink(d).recordsOut);
      }
      expect(later.exceptions).toHaveLength(1);
    } finally {
      await fetch(`${url}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
    }
    const result = await run;
    expect(result.status).toBe('CANCELED');
    expect(result.restarts).toBe(1);
  }, 90_000);
});
