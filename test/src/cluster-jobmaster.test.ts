/**
 * The cluster entrypoint with one JobMaster process per job: a job submitted over REST (bundle
 * upload, then the graph) gets a JobMaster process that fetches the bundle over RPC, enumerates
 * the source's splits from it, takes slots of TaskManagers registered over the network and
 * deploys to them; `kill -9` of that process makes the Dispatcher start a new one (the next
 * attempt), which deploys the job again and sees it to its end. The TaskManagers here live in
 * the test process (real TaskManager, network RPC, a testing task runner), so the test controls
 * when subtasks finish.
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadJob } from '@sluice/api';
import { bundleJob } from '@sluice/cli';
import { silentLogger } from '@sluice/common';
import { startClusterEntrypoint, type ClusterEntrypoint } from '@sluice/cluster';
import { TaskManager } from '@sluice/runtime';
import { TestingTaskRunner } from '@sluice/runtime/testing';
import { NetworkRpcService } from '@sluice/rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { jobPath } from './harness.js';
import { childrenRunning } from './processes.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rest(entry: ClusterEntrypoint, method: string, path: string, body?: string | Buffer, type = 'application/json'): Promise<any> {
  const res = await fetch(`${entry.restUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${entry.restToken}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
    ...(body === undefined ? {} : { body }),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

describe('cluster entrypoint: one JobMaster process per job', () => {
  it('runs a job in its own JobMaster process and replaces that process after kill -9', async () => {
    const clusterDir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
    dirs.push(clusterDir);
    const entry = await startClusterEntrypoint({ clusterDir, rpcPort: 0, restPort: 0, taskManagers: 0, onLine: () => undefined, logger: silentLogger });
    cleanups.push(() => entry.close());

    // Two TaskManagers with two slots each, in this process, over the network RPC.
    const runner = new TestingTaskRunner({ behaviour: (t) => t.running() });
    for (const id of ['tm-a', 'tm-b']) {
      const rpc = new NetworkRpcService({ secretFile: entry.secretFile, logger: silentLogger });
      await rpc.start();
      const tm = new TaskManager({
        resourceId: id,
        numberOfSlots: 2,
        rpc,
        address: rpc.addressOf(`taskmanager/${id}`),
        resourceManagerAddress: `${entry.rpcAddress}/resourcemanager`,
        taskRunner: runner,
        logger: silentLogger,
      });
      rpc.onAddressLost((lost) => tm.peerConnectionClosed(lost));
      await tm.start();
      cleanups.push(async () => {
        await tm.stop();
        await rpc.stop();
      });
    }
    await waitFor('both TaskManagers registered', async () => ((await rest(entry, 'GET', '/overview')).taskManagers === 2 ? true : undefined));

    const job = jobPath('smoke.ts');
    const bundle = await bundleJob(job);
    const { id } = await rest(entry, 'POST', '/artifacts', Buffer.from(bundle.bytes), 'application/javascript');
    const graph = (await loadJob({ entry: bundle.file, params: {}, parallelism: 2 })).jobGraph;
    const { jobId } = await rest(entry, 'POST', '/jobs', JSON.stringify({ artifactId: id, jobGraph: graph, parallelism: 2, source: job }));

    // Attempt 0 runs in a JobMaster process and deploys every subtask to the TaskManagers.
    const subtasks = graph.vertices.reduce((n, v) => n + v.parallelism, 0);
    await waitFor('attempt 0 deployed', () => (runner.tasks.filter((t) => t.status === 'running').length === subtasks ? true : undefined));
    expect((await rest(entry, 'GET', `/jobs/${jobId}`)).status).toBe('RUNNING');
    const [first] = await waitFor('the JobMaster process', () => {
      const pids = childrenRunning('jobmaster-main.js');
      return pids.length === 1 ? pids : undefined;
    });
    // The JobMaster process fetched the bundle over RPC (the source's splits come from it).
    expect(readdirSync(join(clusterDir, 'bundles'))).toContain(`${id}.mjs`);

    process.kill(first!, 'SIGKILL');
    // Its subtasks are cancelled (the TaskManagers lost its connection); a new JobMaster deploys them again.
    await waitFor('attempt 0 cancelled', () => (runner.tasks.slice(0, subtasks).every((t) => t.status === 'canceled') ? true : undefined));
    await waitFor('a second JobMaster deployed the job', () => (runner.tasks.filter((t) => t.status === 'running').length === subtasks ? true : undefined));
    const second = childrenRunning('jobmaster-main.js');
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first);
    expect(runner.tasks).toHaveLength(2 * subtasks);
    // Its deployments are numbered above any its predecessor made: no channel of the two can mix.
    expect(runner.tasks.slice(subtasks).map((t) => t.tdd.attempt)).toEqual(Array(subtasks).fill(2 ** 20));

    for (const t of runner.tasks.filter((x) => x.status === 'running')) t.finish();
    await waitFor('FINISHED', async () => ((await rest(entry, 'GET', `/jobs/${jobId}`)).status === 'FINISHED' ? true : undefined));
    // The job store recorded both JobMasters and the end.
    const record = JSON.parse(readFileSync(join(clusterDir, 'jobs', `${jobId}.json`), 'utf8'));
    expect(record).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED' } });
    await waitFor('the JobMaster process gone', () => (childrenRunning('jobmaster-main.js').length === 0 ? true : undefined));
  });
});
