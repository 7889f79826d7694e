/**
 * From `sluice submit` to RUNNING on Mesos (issue 12): a `sluice mesos-session` process with no
 * TaskManagers, its scheduler subscribed to the Mesos fake of test/src/mesos-fake (in this
 * process: master and three agents on loopback; the agents start Sluice's executor as real
 * processes, which start real TaskManager processes). Each round runs `sluice submit --detached`
 * of an endless keyed job at -p 3 (three TaskManagers of one slot, UNIQUE per host) and measures
 * until the REST API shows every subtask RUNNING: bundling and upload, the JobMaster process,
 * REVIVE, the offers, ACCEPT, the executors and TaskManagers starting and registering, and the
 * deployment. Then the job is cancelled and the round waits until the idle TaskManagers are
 * released (their tasks killed, their executors gone), so the next round starts from none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMesosCluster, type MesosCluster } from '@sluice/tests/mesos-fake';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
const JOB = fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url));
const PARALLELISM = 3;
// A random block of ports below the ephemeral range: tests running meanwhile have fake agents on the same loopback addresses.
const PORTS = 10_000 + 100 * Math.floor(Math.random() * 200);
const AGENT = { resources: `cpus:4;mem:4096;disk:10000;ports:[${PORTS}-${PORTS + 99}]` };

interface JobView {
  status: string;
  vertices?: { parallelism: number; subtasks: Record<string, number> }[];
}

interface Round {
  /** `sluice submit --detached` exited: the bundle uploaded and the job accepted. */
  submittedMs: number;
  /** Every TaskManager's Mesos task TASK_RUNNING. */
  tasksRunningMs: number;
  /** Every subtask RUNNING: what the BENCH line reports. */
  runningMs: number;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`mesos-submit: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

export async function executeMesosSubmit(rounds: number): Promise<{ fields: Record<string, number>; jobDurationMs: number; detail: Record<string, unknown> }> {
  const started = Date.now();
  const home = mkdtempSync(join(tmpdir(), 'sluice-bench-mesos-submit-'));
  const env = { ...process.env, SLUICE_HOME: home };
  let mesos: MesosCluster | undefined;
  let session: ChildProcess | undefined;
  let output = '';
  const results: Round[] = [];
  try {
    mesos = await startMesosCluster({ agents: [AGENT, AGENT, AGENT] });
    const m = mesos;
    session = spawn(
      process.execPath,
      [CLI, 'mesos-session', '--master', m.masterAddress, '--rpc-port', '0', '--rest-port', '0', '--taskmanagers', '0', '--idle-taskmanager-timeout', '1000',
        '--slots', '1', '--tm-cpus', '0.5', '--tm-memory', '512', '--executor-cpus', '0.1', '--executor-memory', '64', '--constraints', '[["hostname","UNIQUE"]]'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const s = session;
    s.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    s.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const { restUrl, tokenFile } = await until('the session to serve', () => {
      if (s.exitCode !== null) throw new Error(`mesos-submit: sluice mesos-session exited with ${s.exitCode}: ${output.slice(-2000)}`);
      const m2 = /REST API +(http:\/\/\S+) \(token in (\S+)\)/.exec(output);
      return m2 === null ? undefined : { restUrl: m2[1]!, tokenFile: m2[2]! };
    });
    const token = readFileSync(tokenFile, 'utf8').trim();
    await m.waitFor('the framework subscribed', () => m.frameworks()[0]?.connected === true, 60_000);
    const get = async <T>(path: string): Promise<T | undefined> => {
      const res = await fetch(`${restUrl}${path}`).catch(() => undefined);
      return res?.ok === true ? ((await res.json()) as T) : undefined;
    };
    const allRunning = (j: JobView | undefined): boolean =>
      j?.status === 'RUNNING' && (j.vertices ?? []).length > 0 && j.vertices!.every((v) => (v.subtasks['RUNNING'] ?? 0) === v.parallelism);
    for (let round = 0; round < rounds; round++) {
      const before = new Set(m.tasks().map((t) => t.taskId));
      const fresh = (): number => m.tasks().filter((t) => !before.has(t.taskId) && t.state === 'TASK_RUNNING').length;
      let tasksRunningMs: number | undefined;
      const t0 = performance.now();
      const onTasks = m.waitFor('the TaskManagers running', () => fresh() === PARALLELISM, 120_000).then(() => (tasksRunningMs = performance.now() - t0));
      const submitted = await run(['submit', JOB, '-p', String(PARALLELISM), '--detached', '--address', restUrl], env);
      const submittedMs = performance.now() - t0;
      const jobId = /sluice cancel ([0-9a-f]{32})/.exec(submitted.out)?.[1];
      if (submitted.code !== 0 || jobId === undefined) throw new Error(`mesos-submit: sluice submit exited with ${submitted.code}: ${submitted.out}`);
      await until('the job RUNNING', async () => (allRunning(await get<JobView>(`/jobs/${jobId}`)) ? true : undefined));
      const runningMs = performance.now() - t0;
      await onTasks;
      results.push({ submittedMs, tasksRunningMs: tasksRunningMs!, runningMs });
      await fetch(`${restUrl}/jobs/${jobId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
      // The next round starts from no TaskManager: these are released once idle.
      await m.waitFor('the TaskManagers released', () => m.tasks().every((t) => t.state === 'TASK_KILLED') && m.executors().every((e) => e.exit !== undefined), 120_000);
    }
    s.kill('SIGINT');
    await new Promise((r) => (s.exitCode !== null ? r(undefined) : s.once('close', r)));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- session output ---\n${output.slice(-3000)}`);
  } finally {
    if (session !== undefined && session.exitCode === null && session.signalCode === null) {
      session.kill('SIGKILL');
      await new Promise((r) => session!.once('close', r));
    }
    await mesos?.stop();
    rmSync(home, { recursive: true, force: true });
  }
  const running = results.map((r) => r.runningMs);
  return {
    fields: {
      submit_to_running_ms_median: Math.round(median(running)),
      submit_to_running_ms_max: Math.round(Math.max(...running)),
      taskmanagers: PARALLELISM,
      rounds,
    },
    jobDurationMs: Date.now() - started,
    detail: { rounds: results.map((r) => ({ submittedMs: Math.round(r.submittedMs), tasksRunningMs: Math.round(r.tasksRunningMs), runningMs: Math.round(r.runningMs) })) },
  };
}
