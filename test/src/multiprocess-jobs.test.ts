/**
 * Jobs on a cluster of processes (multiprocess-harness.ts): TaskManager processes on two loopback
 * "hosts", subtasks exchanging data over authenticated TCP between TaskManagers and over shared
 * memory within one, code fetched as an uploaded bundle. Results must equal the embedded run's
 * exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses } from './cli-process.js';
import { examplePath, jobPath, runJob, sortBy } from './harness.js';
import { waitFor } from './leaks.js';
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

  it('runs the fraud demo at parallelism 4 across both TaskManagers and prints exactly the embedded run’s alerts', async () => {
    const events = '200000';
    const printedBefore = cluster.lines.length;
    const job = await cluster.submit(examplePath('fraud-detection.ts'), { parallelism: 4, params: { events } });
    const result = await job.result();
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    const cwd = mkdtempSync(join(tmpdir(), 'sluice-mp-fraud-'));
    let want: string[];
    try {
      const embedded = await cliProcesses(cwd).run(['run', examplePath('fraud-detection.ts'), '-p', '4', '-D', `events=${events}`], { timeoutMs: 120_000 });
      expect(embedded.code).toBe(0);
      want = embedded.stdout.split('\n').filter((l) => /^\d+> ALERT /.test(l)).sort();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    expect(want.length).toBeGreaterThan(5);
    // print() writes from the TaskManagers' worker threads to their stdout, which reaches the
    // driver line by line, possibly just after the job's end was reported.
    const alert = /^\S+: (\d+> ALERT .*)$/;
    const printed = (): string[] => cluster.lines.slice(printedBefore).flatMap((l) => alert.exec(l)?.slice(1, 2) ?? []);
    await waitFor('the alert lines', () => (printed().length >= want.length ? true : undefined));
    expect(printed().sort()).toEqual(want);
  }, 180_000);
});
