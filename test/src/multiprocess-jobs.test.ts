/**
 * Jobs on a cluster of processes (multiprocess-harness.ts): TaskManager processes on two loopback
 * "hosts", subtasks exchanging data over authenticated TCP between TaskManagers and over shared
 * memory within one, code fetched as an uploaded bundle. Results must equal the embedded run's
 * exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { examplePath, jobPath, runJob, sortBy } from './harness.js';
import { startMultiProcessCluster, testLogger, type MultiProcessCluster } from './multiprocess-harness.js';

let cluster: MultiProcessCluster;

beforeAll(async () => {
  cluster = await startMultiProcessCluster({ taskManagers: 2, slotsPerTaskManager: 2, logger: testLogger() });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
}, 60_000);

describe('a cluster of TaskManager processes', () => {
  it('runs Nexmark q5 at parallelism 4 on 2 TaskManagers × 2 slots with the embedded run’s exact result', async () => {
    const params = { events: '400000', eventRate: '20000' };
    const job = await cluster.submit(jobPath('nexmark-q5.ts'), { parallelism: 4, params });
    const result = await job.result();
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    const embedded = await runJob('nexmark-q5.ts', { parallelism: 4, params });
    expect(embedded.status).toBe('FINISHED');
    const key = (r: unknown): string => JSON.stringify(r);
    const got = sortBy(result.collected['q5'] ?? [], key);
    const want = sortBy(embedded.collected['q5'] ?? [], key);
    expect(want.length).toBeGreaterThan(10);
    expect(got).toEqual(want);
    // The two TaskManagers are on two "hosts", and their subtasks' data crossed over the data port.
    const tms = await cluster.taskManagers();
    expect(tms.map((t) => t.dataAddress?.host).sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(cluster.lines.filter((l) => /data connection open/.test(l)).length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
