/**
 * `sluice list | info | taskmanagers | overview` through runCli against a real REST server
 * (testing-rest-cluster.ts): tables and --json, and the token a non-loopback server would want.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliDependencies } from '@sluice/cli';
import { startTestingRestCluster, TESTING_TASK_MANAGERS, type TestingRestCluster } from './testing-rest-cluster.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const clusters: TestingRestCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

async function cluster(): Promise<TestingRestCluster> {
  const c = await startTestingRestCluster();
  clusters.push(c);
  c.dispatcher.seed({ jobId: 'j-running', jobName: 'counts', status: 'RUNNING', startTime: T0 });
  c.dispatcher.seed({ jobId: 'j-done', jobName: 'old', status: 'FINISHED', startTime: T0 - 60_000, endTime: T0 - 57_500 });
  return c;
}

async function sluice(c: TestingRestCluster, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const deps: CliDependencies = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    loadEngine: () => Promise.reject(new Error('no engine')),
    env: { SLUICE_HOME: c.home, SLUICE_ADDRESS: c.url },
    now: () => T0 + 90_000,
  };
  const code = await runCli(args, deps);
  return { code, out, err };
}

describe('cluster views', () => {
  it('lists jobs', async () => {
    const c = await cluster();
    expect(await sluice(c, 'list')).toEqual({
      code: 0,
      err: '',
      out: ['JOB ID     STATUS    STARTED (UTC)        DURATION    NAME', 'j-done     FINISHED  2026-01-02 03:03:05  2.50 s      old', 'j-running  RUNNING   2026-01-02 03:04:05  1 min 30 s  counts', ''].join('\n'),
    });
    const json = await sluice(c, 'list', '--json');
    expect(JSON.parse(json.out)).toEqual({ jobs: [expect.objectContaining({ jobId: 'j-done' }), expect.objectContaining({ jobId: 'j-running' })] });
  });

  it('shows a job, with its latest checkpoint', async () => {
    const c = await cluster();
    const info = await sluice(c, 'info', 'j-running');
    expect(info.code).toBe(0);
    expect(info.out).toBe(
      [
        "Job 'counts' (j-running)",
        '  Status:      RUNNING',
        '  Started:     2026-01-02 03:04:05 UTC (1 min 30 s)',
        '  Checkpoints: 2 completed, 0 failed, 0 in progress',
        '  Latest:      checkpoint 2 at /ckpt/j-running/chk-2',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await sluice(c, 'info', 'j-running', '--json')).out) as Record<string, unknown>;
    expect(json).toMatchObject({ jobId: 'j-running', status: 'RUNNING', checkpoints: { completed: 2 }, latestCheckpoint: { id: 2, path: '/ckpt/j-running/chk-2' } });
    expect(await sluice(c, 'info', 'nope')).toEqual({ code: 1, out: '', err: "sluice: error: no job with id 'nope' is known to this Dispatcher; list jobs to see the known ids\n" });
  });

  it('lists TaskManagers and sums up the cluster', async () => {
    const c = await cluster();
    expect((await sluice(c, 'taskmanagers')).out).toBe(
      ['RESOURCE ID  SLOTS  FREE  ADDRESS           METRICS', 'tm-1         4      2     taskmanager/tm-1  http://127.0.0.1:9250/metrics', 'tm-2         2      2     taskmanager/tm-2  -', ''].join('\n'),
    );
    expect(JSON.parse((await sluice(c, 'taskmanagers', '--json')).out)).toEqual({ taskManagers: TESTING_TASK_MANAGERS });
    expect(await sluice(c, 'overview')).toEqual({ code: 0, err: '', out: 'TaskManagers: 2\nSlots:        6 (4 free)\nJobs:         1 RUNNING, 1 FINISHED\n' });
    expect(JSON.parse((await sluice(c, 'overview', '--json')).out)).toEqual({ taskManagers: 2, slotsTotal: 6, slotsAvailable: 4, jobs: { RUNNING: 1, FINISHED: 1 } });
  });
});
