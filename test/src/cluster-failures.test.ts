/**
 * The whole cluster as `sluice cluster start` runs it — entrypoint, one JobMaster process per
 * job, TaskManager processes from the process driver — with the exactly-once job (checkpointed,
 * keyed, a two-phase-commit file sink): `kill -9` of the job's JobMaster process makes the
 * Dispatcher start the next JobMaster, which resumes the job from the latest checkpoint its
 * predecessor recorded; the committed output equals a failure-free run's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadJob } from '@sluice/api';
import { bundleJob } from '@sluice/cli';
import { createLogger } from '@sluice/common';
import { startClusterEntrypoint, type ClusterEntrypoint } from '@sluice/cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { jobPath } from './harness.js';
import { childrenRunning } from './processes.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';

const EVENTS = 120_000;
const KEYS = 20;
const dirs: string[] = [];
let entry: ClusterEntrypoint | undefined;
afterEach(async () => {
  await entry?.close();
  entry = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}, 60_000);

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function rest<T>(e: ClusterEntrypoint, method: string, path: string, body?: string | Uint8Array, type = 'application/json'): Promise<T> {
  const res = await fetch(`${e.restUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${e.restToken}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

describe('a cluster of processes: the JobMaster process', () => {
  it('kill -9 of the JobMaster process: the next JobMaster resumes the job from its latest checkpoint, exactly once', async () => {
    const lines: string[] = [];
    const e = await startClusterEntrypoint({
      clusterDir: join(tempDir('sluice-cluster-fail-'), 'cluster'),
      rpcPort: 0,
      restPort: 0,
      taskManagers: 2,
      slotsPerTaskManager: 1,
      onLine: (source, line) => lines.push(`[${source}] ${line}`),
      logger: createLogger('warn', 'sluice', (line) => lines.push(line)),
    });
    entry = e;
    const out = tempDir('sluice-cluster-eo-');
    const params = { out, events: String(EVENTS), keys: String(KEYS), rate: '12000', interval: '200' };
    const bundle = await bundleJob(jobPath('exactly-once.ts'));
    const { id } = await rest<{ id: string }>(e, 'POST', '/artifacts', bundle.bytes, 'application/javascript');
    const graph = (await loadJob({ entry: bundle.file, params, parallelism: 2 })).jobGraph;
    const { jobId } = await rest<{ jobId: string }>(e, 'POST', '/jobs', JSON.stringify({ artifactId: id, jobGraph: graph, params, parallelism: 2 }));

    await waitFor('two completed checkpoints', async () => ((await rest<{ counts: { completed: number } }>(e, 'GET', `/jobs/${jobId}/checkpoints`)).counts.completed >= 2 ? true : undefined), 60_000);
    const [jobMaster] = childrenRunning('jobmaster-main.js');
    expect(jobMaster).toBeDefined();
    process.kill(jobMaster!, 'SIGKILL');

    await waitFor('the job to end', async () => {
      const s = (await rest<{ status: string }>(e, 'GET', `/jobs/${jobId}`)).status;
      return s === 'FINISHED' || s === 'FAILED' || s === 'CANCELED' ? s : undefined;
    }, 120_000);
    const details = await rest<{ status: string; result?: { error?: { message: string } } }>(e, 'GET', `/jobs/${jobId}`);
    expect(details.result?.error?.message).toBeUndefined();
    expect(details.status).toBe('FINISHED');
    // The second JobMaster started from a checkpoint its predecessor recorded.
    expect(lines.filter((l) => /starting JobMaster attempt/.test(l))).toEqual([
      expect.stringMatching(/the JobMaster of job \w+ died \(JobMaster process was killed by SIGKILL.*\); starting JobMaster attempt 1, which resumes the job from checkpoint \d+$/),
    ]);
    const record = JSON.parse(readFileSync(join(e.secretFile, '..', 'jobs', `${jobId}.json`), 'utf8'));
    expect(record).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED' } });

    const got = committedLines(out).sort(order);
    const want = failureFreeLines(EVENTS, KEYS).sort(order);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  }, 180_000);
});
