/**
 * What the end-to-end tests on the Mesos fake share: a `sluice mesos-session` process pointed at
 * a fake master, its REST address and token directory, and `sluice submit` against it; REST
 * calls with its token, and the TaskManager processes under the fake's executors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerCall, TaskInfo } from '@sluice/mesos-proto';
import type { CliProcesses, Outcome, Started } from './cli-process.js';
import { waitFor } from './leaks.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { childrenOf } from './processes.js';

export interface MesosSession {
  process: Started;
  restUrl: string;
  /** The entrypoint's RPC address (`sluice://…`), which the HA store publishes for a leader. */
  rpcAddress: string;
  /** The scheduler's HTTP server (`/metrics`, `/http_sd`, `/healthz`). */
  schedulerUrl: string;
  env: Record<string, string>;
  /** `sluice submit <job> <args…> --address <restUrl>` to completion. */
  submit(job: string, args: string[], timeoutMs?: number): Promise<Outcome>;
  /** The session's output so far, for failure messages. */
  output(): string;
}

/** Small TaskManagers so several fit on one fake agent; each test adds its own flags. */
export const SMALL_TASKMANAGER = ['--slots', '1', '--tm-cpus', '0.5', '--tm-memory', '512', '--executor-cpus', '0.1', '--executor-memory', '64'];

/**
 * Starts `sluice mesos-session --master <fake> --rpc-port 0 --rest-port 0 …` with its state under
 * `<home>/<name>` (and `extraEnv`, e.g. SLUICE_LOG_LEVEL) and waits until it serves REST.
 */
export async function startMesosSession(procs: CliProcesses, home: string, name: string, mesos: MesosCluster, args: string[] = SMALL_TASKMANAGER, extraEnv: Record<string, string> = {}): Promise<MesosSession> {
  const env = { ...extraEnv, SLUICE_HOME: join(home, name) };
  const process = procs.start(['mesos-session', '--master', mesos.masterAddress, '--rpc-port', '0', '--rest-port', '0', ...args], env);
  const output = (): string => `--- session stdout ---\n${process.out.stdout.slice(-3000)}\n--- session stderr ---\n${process.out.stderr.slice(-6000)}`;
  const started = await waitFor(
    'the REST address',
    () => {
      if (process.child.exitCode !== null) throw new Error(`sluice mesos-session exited with ${process.child.exitCode}\n${output()}`);
      const rest = /REST API +(http:\/\/127\.0\.0\.1:\d+)/.exec(process.out.stdout)?.[1];
      const scheduler = /Scheduler +(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(process.out.stdout)?.[1];
      const rpc = /RPC +(sluice:\/\/\S+)/.exec(process.out.stdout)?.[1];
      return rest === undefined || scheduler === undefined || rpc === undefined ? undefined : { rest, scheduler, rpc };
    },
    60_000,
  );
  return {
    process,
    restUrl: started.rest,
    rpcAddress: started.rpc,
    schedulerUrl: started.scheduler,
    env,
    submit: (job, jobArgs, timeoutMs = 180_000) => procs.run(['submit', job, ...jobArgs, '--address', started.rest], { env, timeoutMs }),
    output,
  };
}

// ---- for the failure tests: REST calls with the session's token, detached jobs, the processes under an executor ----

/** The session's REST token, from the file `sluice mesos-session` wrote for its REST port. */
export function restTokenOf(session: MesosSession): string {
  return readFileSync(join(session.env.SLUICE_HOME!, `rest-${new URL(session.restUrl).port}.token`), 'utf8').trim();
}

/** A REST call to the session with its token; a non-2xx answer throws with its body. */
export async function sessionRest<T>(session: MesosSession, method: string, path: string): Promise<T> {
  const res = await fetch(`${session.restUrl}${path}`, { method, headers: { Authorization: `Bearer ${restTokenOf(session)}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** `sluice submit <job> <args…> --detached`; resolves with the job id once it is submitted. */
export async function submitDetached(session: MesosSession, job: string, args: string[]): Promise<string> {
  const r = await session.submit(job, [...args, '--detached'], 120_000);
  const jobId = /sluice cancel ([0-9a-f]{32})/.exec(r.stderr)?.[1];
  if (r.code !== 0 || jobId === undefined) throw new Error(`sluice submit --detached failed (${r.code}): ${r.stderr}\n${session.output()}`);
  return jobId;
}

/** A job's state as `GET /jobs/:id` shows it (the fields these tests read). */
export interface JobView {
  jobId: string;
  status: string;
  vertices?: { id: string; name: string; parallelism: number; subtasks: Record<string, number> }[];
  exceptions?: unknown[];
  result?: { error?: { code?: string; message: string }; restarts?: number };
}

/** Waits until the job has completed at least `n` checkpoints (counted by its current JobMaster). */
export function waitForCheckpoints(session: MesosSession, jobId: string, n: number, timeoutMs = 90_000): Promise<number> {
  return waitFor(`${n} completed checkpoints of job ${jobId}`, async () => {
    const c = await sessionRest<{ counts: { completed: number } }>(session, 'GET', `/jobs/${jobId}/checkpoints`).catch(() => undefined);
    return c !== undefined && c.counts.completed >= n ? c.counts.completed : undefined;
  }, timeoutMs);
}

/** Waits until the job has ended (FINISHED, FAILED or CANCELED) and returns its details. */
export function waitForJobEnd(session: MesosSession, jobId: string, timeoutMs = 180_000): Promise<JobView> {
  return waitFor(`job ${jobId} to end`, async () => {
    const d = await sessionRest<JobView>(session, 'GET', `/jobs/${jobId}`).catch(() => undefined);
    return d !== undefined && ['FINISHED', 'FAILED', 'CANCELED'].includes(d.status) ? d : undefined;
  }, timeoutMs);
}

/** Every descendant of `pid` whose command line contains `marker` (the agent may run the executor under a shell). */
export function descendantsOf(pid: number, marker: string): number[] {
  const out: number[] = [];
  for (const child of childrenOf(pid, '')) {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(marker)) out.push(child);
    } catch {
      // it ended meanwhile
    }
    out.push(...descendantsOf(child, marker));
  }
  return out;
}

/** The TaskManager process under each running executor, by Mesos executor id. */
export function taskManagerPids(mesos: MesosCluster): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of mesos.executors()) {
    if (e.pid === undefined || e.exit !== undefined) continue;
    const [tm] = descendantsOf(e.pid, 'taskmanager-main.js');
    if (tm !== undefined) out.set(e.executorId, tm);
  }
  return out;
}

/** Waits until every subtask of every vertex of the job is RUNNING. */
export async function jobRunning(session: MesosSession, jobId: string, timeoutMs = 120_000): Promise<JobView> {
  let last: JobView | undefined;
  return waitFor(
    `every subtask of job ${jobId} RUNNING`,
    async () => {
      const job = (last = await sessionRest<JobView>(session, 'GET', `/jobs/${jobId}`));
      if (['FAILED', 'CANCELED', 'FINISHED'].includes(job.status)) throw new Error(`job ${jobId} ended ${job.status} while waiting for it to run\n${session.output()}`);
      const vertices = job.vertices ?? [];
      return job.status === 'RUNNING' && vertices.length > 0 && vertices.every((v) => v.subtasks.RUNNING === v.parallelism) ? job : undefined;
    },
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}\n${session.output()}`);
  });
}

/** `sluice cancel <jobId>`, then waits until the job is CANCELED. */
export async function cancelJob(procs: CliProcesses, session: MesosSession, jobId: string): Promise<void> {
  const r = await procs.run(['cancel', jobId, '--address', session.restUrl], { env: session.env });
  if (r.code !== 0) throw new Error(`sluice cancel ${jobId} failed (${r.code}): ${r.stderr}`);
  await waitFor(`job ${jobId} CANCELED`, async () => ((await sessionRest<JobView>(session, 'GET', `/jobs/${jobId}`)).status === 'CANCELED' ? true : undefined), 60_000);
}

// ---- for the fault tests: what the scheduler launched and what it lists for Prometheus ----

/** The TaskInfos the scheduler's ACCEPTs launched, in call order. */
export function launchedTasks(mesos: MesosCluster): TaskInfo[] {
  return mesos
    .calls({ api: 'scheduler', type: 'ACCEPT' })
    .flatMap((c) => (c.call as SchedulerCall).accept?.operations ?? [])
    .flatMap((o) => o.launch?.task_infos ?? []);
}

/** The task ids the scheduler's ACCEPTs launched, in call order. */
export function launchedTaskIds(mesos: MesosCluster): string[] {
  return launchedTasks(mesos).map((t) => t.task_id.value);
}

/** The task ids `/http_sd` on the scheduler lists now, sorted. */
export async function httpSdTaskIds(session: MesosSession): Promise<string[]> {
  const res = await fetch(`${session.schedulerUrl}/http_sd`);
  if (!res.ok) throw new Error(`GET /http_sd answered ${res.status}: ${await res.text()}`);
  const groups = (await res.json()) as { labels: { task_id: string } }[];
  return groups.map((g) => g.labels.task_id).sort();
}
