/**
 * The real `sluice` binary submitting to a cluster's REST API (testing-rest-cluster.ts, served
 * from this test process): exit codes of attached and detached submissions, and Ctrl-C, which
 * detaches without cancelling the job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { jobPath } from './harness.js';
import { waitFor } from './leaks.js';
import { startTestingRestCluster, type TestingRestCluster } from './testing-rest-cluster.js';

const JOB = jobPath('smoke.ts');
let cwd = '';
let procs: CliProcesses;
let c: TestingRestCluster;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'sluice-submit-process-'));
  procs = cliProcesses(cwd);
  c = await startTestingRestCluster();
});
afterEach(() => procs.killAll());
afterAll(async () => {
  await c.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('sluice submit as a process', () => {
  it('exits 0 when the job finishes, 1 when it fails, and prints the id with --detached', async () => {
    const env = { SLUICE_HOME: c.home };
    c.dispatcher.next = { statuses: ['CREATED', 'RUNNING', 'FINISHED'] };
    const finished = await procs.run(['submit', JOB, '--address', c.url], { env });
    expect(finished.stderr).toMatch(/ is RUNNING after /);
    expect(finished).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Job '.*' FINISHED in 1\.50 s: 20 records from sources/) });

    c.dispatcher.next = { statuses: ['RUNNING', 'FAILED'], error: 'cannot score card card-5' };
    const failed = await procs.run(['submit', JOB, '--address', c.url], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/\nsluice: error: job '.*' failed after 1\.50 s: cannot score card card-5\n$/);
    expect(failed.stderr).not.toMatch(/\n\s+at /);

    const detached = await procs.run(['submit', JOB, '--address', c.url, '--detached'], { env });
    expect(detached.code).toBe(0);
    expect(detached.stdout).toBe(`${c.dispatcher.submitted[2]!.jobId}\n`);
  });

  it('detaches on SIGINT with exit code 130; the job keeps running', async () => {
    c.dispatcher.next = { statuses: ['RUNNING'] };
    const before = c.dispatcher.submitted.length;
    const s = procs.start(['submit', JOB, '--address', c.url], { SLUICE_HOME: c.home });
    await waitFor('the job to run', () => (s.out.stderr.includes(' is RUNNING after ') ? true : undefined));
    s.child.kill('SIGINT');
    const r = await s.done;
    const id = c.dispatcher.submitted[before]!.jobId;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Detached from job ${id}; it keeps running on the cluster. Cancel it with: sluice cancel ${id} --address ${c.url}\n`);
    expect(c.dispatcher.cancelled).toEqual([]);
    expect(c.dispatcher.statusOf(id)).toBe('RUNNING');
  });

  it('exits 2 for bad usage and 1 with one line when the cluster is not there', async () => {
    expect(await procs.run(['submit', JOB, '-p', 'zero'])).toMatchObject({ code: 2, stderr: "sluice: error: invalid value 'zero' for -p/--parallelism: expected a positive integer. Run 'sluice submit --help'\n" });
    const gone = await procs.run(['taskmanagers', '--address', 'http://127.0.0.1:1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^sluice: error: cannot reach the Sluice REST API at http:\/\/127\.0\.0\.1:1 \(connection refused\)\. Is the cluster running\? Start one with 'sluice cluster start'.*\n$/);
  });
});
