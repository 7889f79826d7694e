/**
 * High availability's reaction time (issue 11's target: ≤ 10 s with a 5 s ZooKeeper session
 * timeout): two entrypoints (`sluice cluster start --high-availability zookeeper`, processes)
 * of one cluster on a ZooKeeper started by infra/zookeeper/zookeeper.sh (or the one it finds
 * running), a checkpointed keyed job running; from `kill -9` of the leading entrypoint to every
 * subtask of the job RUNNING again under the standby. The time is the session timeout (ZooKeeper
 * keeps a dead leader's session until then) plus the take-over: election, TaskManager processes,
 * a JobMaster process, restore. Each round kills the leader and starts a new standby.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
const JOB = fileURLToPath(new URL('../../bench/src/jobs/cluster-keyed.ts', import.meta.url));
const ZOOKEEPER_SH = fileURLToPath(new URL('../../infra/zookeeper/zookeeper.sh', import.meta.url));
const SESSION_TIMEOUT_MS = 5_000;

interface Entrypoint {
  readonly child: ChildProcess;
  restUrl: string;
  output: string;
}

interface JobView {
  status: string;
  vertices?: { parallelism: number; subtasks: Record<string, number> }[];
}

function zookeeper(command: 'start' | 'stop' | 'connect'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [ZOOKEEPER_SH, command], { timeout: 240_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`zookeeper.sh ${command} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`ha-failover: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function executeHaFailover(rounds: number): Promise<{ fields: Record<string, number>; jobDurationMs: number }> {
  const started = Date.now();
  const running = await zookeeper('connect').catch(() => undefined);
  const quorum = running ?? (await zookeeper('start')).split('\n').at(-1)!;
  const home = mkdtempSync(join(tmpdir(), 'sluice-bench-ha-'));
  const clusterId = `bench-${process.pid}-${Date.now()}`;
  const storageDir = join(home, 'shared');
  const entrypoints = new Set<Entrypoint>();
  let n = 0;
  const start = async (): Promise<Entrypoint> => {
    const name = `e${n++}`;
    const child = spawn(
      process.execPath,
      [CLI, 'cluster', 'start', '--cluster-dir', join(home, name), '--rpc-port', '0', '--rest-port', '0', '--taskmanagers', '2', '--slots', '1',
        '--high-availability', 'zookeeper', '--ha-quorum', quorum, '--ha-cluster-id', clusterId, '--ha-storage-dir', storageDir, '--ha-session-timeout', String(SESSION_TIMEOUT_MS)],
      { env: { ...process.env, SLUICE_HOME: join(home, `${name}-home`), SLUICE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const e: Entrypoint = { child, restUrl: '', output: '' };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (e.output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (e.output += d));
    entrypoints.add(e);
    e.restUrl = await until(`entrypoint ${name} to serve`, () => {
      if (child.exitCode !== null) throw new Error(`ha-failover: entrypoint ${name} exited: ${e.output.slice(-2000)}`);
      return /REST API +(http:\/\/\S+) /.exec(e.output)?.[1];
    });
    return e;
  };
  const leads = (e: Entrypoint): boolean => e.output.includes('this entrypoint leads the cluster now') && !e.output.includes('no longer leads');
  const token = (): string => readFileSync(join(storageDir, clusterId, 'rest.token'), 'utf8').trim();
  const get = async <T>(e: Entrypoint, path: string): Promise<T | undefined> => {
    const res = await fetch(`${e.restUrl}${path}`, { headers: { Authorization: `Bearer ${token()}` } }).catch(() => undefined);
    return res?.ok === true ? ((await res.json()) as T) : undefined;
  };
  const allRunning = (j: JobView | undefined): boolean =>
    j?.status === 'RUNNING' && (j.vertices ?? []).length > 0 && j.vertices!.every((v) => (v.subtasks['RUNNING'] ?? 0) === v.parallelism);
  const takeovers: number[] = [];
  try {
    let a = await start();
    let b = await start();
    for (let round = 0; round < rounds; round++) {
      const leader = await until('a leader', () => [a, b].find(leads));
      const standby = leader === a ? b : a;
      const submit = spawn(process.execPath, [CLI, 'submit', JOB, '-p', '2', '--detached', '--address', standby.restUrl], {
        env: { ...process.env, SLUICE_REST_TOKEN: token(), SLUICE_HOME: join(home, 'client') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      submit.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((r) => submit.on('close', r));
      if (code !== 0) throw new Error(`ha-failover: sluice submit exited with ${code}`);
      const jobId = out.trim();
      await until('the job RUNNING', async () => (allRunning(await get<JobView>(standby, `/jobs/${jobId}`)) ? true : undefined));
      await until('a completed checkpoint', async () => ((await get<{ counts: { completed: number } }>(standby, `/jobs/${jobId}/checkpoints`))?.counts.completed ?? 0) > 0 || undefined);
      const t0 = performance.now();
      leader.child.kill('SIGKILL');
      await until('the job RUNNING under the standby', async () => (leads(standby) && allRunning(await get<JobView>(standby, `/jobs/${jobId}`)) ? true : undefined));
      takeovers.push(performance.now() - t0);
      entrypoints.delete(leader);
      await fetch(`${standby.restUrl}/jobs/${jobId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' }, body: '{}' });
      await until('the job cancelled', async () => ((await get<JobView>(standby, `/jobs/${jobId}`))?.status === 'CANCELED' ? true : undefined));
      // A new standby for the next round.
      [a, b] = [standby, await start()];
    }
  } finally {
    for (const e of entrypoints) e.child.kill('SIGKILL');
    await Promise.all([...entrypoints].map((e) => (e.child.exitCode !== null || e.child.signalCode !== null ? undefined : new Promise((r) => e.child.once('close', r)))));
    if (running === undefined) await zookeeper('stop').catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
  return {
    fields: {
      leader_kill_to_running_ms_median: Math.round(median(takeovers)),
      leader_kill_to_running_ms_max: Math.round(Math.max(...takeovers)),
      session_timeout_ms: SESSION_TIMEOUT_MS,
      rounds,
    },
    jobDurationMs: Date.now() - started,
  };
}
