/**
 * The cluster's reaction times (issue 10's targets: ≤ 1.5 s and ≤ 5 s), on a real cluster of
 * processes on this machine: an entrypoint with two TaskManager processes of two slots each.
 *
 * - submit: from starting `sluice submit --detached` (the CLI process: esbuild bundle, graph,
 *   upload, submission) to every subtask of the job RUNNING, with free slots waiting;
 * - failover: from `kill -9` of a TaskManager process running the job's subtasks to every
 *   subtask RUNNING again (the other TaskManager has the spare slots; the job restarts from its
 *   latest checkpoint).
 *
 * Each is measured `rounds` times on a fresh job; the BENCH line gives the median and the worst.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@sluice/common';
import { ProcessClusterDriver, startClusterEntrypoint, type ClusterEntrypoint } from '@sluice/cluster';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
const JOB = fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url));

interface JobView {
  status: string;
  vertices?: { parallelism: number; subtasks: Record<string, number> }[];
  exceptions?: unknown[];
}

async function get<T>(entry: ClusterEntrypoint, path: string): Promise<T> {
  const res = await fetch(`${entry.restUrl}${path}`, { headers: { Authorization: `Bearer ${entry.restToken}` } });
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
  return (await res.json()) as T;
}

function allRunning(j: JobView): boolean {
  return j.status === 'RUNNING' && (j.vertices ?? []).length > 0 && j.vertices!.every((v) => (v.subtasks['RUNNING'] ?? 0) === v.parallelism);
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`cluster-latency: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function submitDetached(entry: ClusterEntrypoint, home: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'submit', JOB, '-p', '2', '--detached', '--address', entry.restUrl], {
      env: { ...process.env, SLUICE_REST_TOKEN: entry.restToken, SLUICE_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`sluice submit exited with ${code}: ${err.trim()}`))));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function executeClusterLatency(rounds: number): Promise<{ fields: Record<string, number>; jobDurationMs: number }> {
  const started = Date.now();
  const home = mkdtempSync(join(tmpdir(), 'sluice-bench-cluster-'));
  const entry = await startClusterEntrypoint({ clusterDir: join(home, 'cluster'), rpcPort: 0, restPort: 0, taskManagers: 2, slotsPerTaskManager: 2, onLine: () => undefined, logger: silentLogger });
  const submit: number[] = [];
  const failover: number[] = [];
  try {
    await until('two TaskManagers', async () => (await get<{ taskManagers: number }>(entry, '/overview')).taskManagers === 2);
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const jobId = await submitDetached(entry, home);
      await until('the job RUNNING', async () => allRunning(await get<JobView>(entry, `/jobs/${jobId}`)));
      submit.push(performance.now() - t0);
      // A checkpoint to go back to, then kill -9 a TaskManager holding the job's slots.
      await until('a completed checkpoint', async () => (await get<{ counts: { completed: number } }>(entry, `/jobs/${jobId}/checkpoints`)).counts.completed > 0);
      const tms = await get<{ taskManagers: { resourceId: string; numberOfSlots: number; freeSlots: number }[] }>(entry, '/taskmanagers');
      const busy = tms.taskManagers.find((t) => t.freeSlots < t.numberOfSlots)!;
      const driver = entry.leadership?.driver;
      const pid = driver instanceof ProcessClusterDriver ? driver.processes().find((p) => p.resourceId === busy.resourceId)?.pid : undefined;
      if (pid === undefined) throw new Error(`cluster-latency: no process for TaskManager ${busy.resourceId}`);
      const t1 = performance.now();
      process.kill(pid, 'SIGKILL');
      await until('the job RUNNING again', async () => {
        const j = await get<JobView>(entry, `/jobs/${jobId}`);
        return (j.exceptions?.length ?? 0) > 0 && allRunning(j);
      });
      failover.push(performance.now() - t1);
      await fetch(`${entry.restUrl}/jobs/${jobId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${entry.restToken}`, 'Content-Type': 'application/json' }, body: '{}' });
      await until('the job cancelled', async () => (await get<JobView>(entry, `/jobs/${jobId}`)).status === 'CANCELED');
      // The replacement TaskManager (the cluster keeps two) is back before the next round.
      await until('two TaskManagers again', async () => (await get<{ taskManagers: number; slotsAvailable: number }>(entry, '/overview')).slotsAvailable === 4);
    }
  } finally {
    await entry.close();
    rmSync(home, { recursive: true, force: true });
  }
  return {
    fields: {
      submit_to_running_ms_median: Math.round(median(submit)),
      submit_to_running_ms_max: Math.round(Math.max(...submit)),
      tm_kill_to_running_ms_median: Math.round(median(failover)),
      tm_kill_to_running_ms_max: Math.round(Math.max(...failover)),
      rounds,
    },
    jobDurationMs: Date.now() - started,
  };
}
