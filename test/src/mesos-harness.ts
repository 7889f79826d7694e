/**
 * What the end-to-end tests on the Mesos fake share: a `sluice mesos-session` process pointed at
 * a fake master, its REST address and token directory, and `sluice submit` against it.
 */
import { join } from 'node:path';
import type { CliProcesses, Outcome, Started } from './cli-process.js';
import { waitFor } from './leaks.js';
import type { MesosCluster } from './mesos-fake/index.js';

export interface MesosSession {
  process: Started;
  restUrl: string;
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
 * `<home>/<name>` and waits until it serves REST.
 */
export async function startMesosSession(procs: CliProcesses, home: string, name: string, mesos: MesosCluster, args: string[] = SMALL_TASKMANAGER): Promise<MesosSession> {
  const env = { SLUICE_HOME: join(home, name) };
  const process = procs.start(['mesos-session', '--master', mesos.masterAddress, '--rpc-port', '0', '--rest-port', '0', ...args], env);
  const output = (): string => `--- session stdout ---\n${process.out.stdout.slice(-3000)}\n--- session stderr ---\n${process.out.stderr.slice(-6000)}`;
  const started = await waitFor(
    'the REST address',
    () => {
      if (process.child.exitCode !== null) throw new Error(`sluice mesos-session exited with ${process.child.exitCode}\n${output()}`);
      const rest = /REST API +(http:\/\/127\.0\.0\.1:\d+)/.exec(process.out.stdout)?.[1];
      const scheduler = /Scheduler +(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(process.out.stdout)?.[1];
      return rest === undefined || scheduler === undefined ? undefined : { rest, scheduler };
    },
    60_000,
  );
  return {
    process,
    restUrl: started.rest,
    schedulerUrl: started.scheduler,
    env,
    submit: (job, jobArgs, timeoutMs = 180_000) => procs.run(['submit', job, ...jobArgs, '--address', started.rest], { env, timeoutMs }),
    output,
  };
}

/** A job's state as `GET /jobs/:id` shows it (the fields these tests read). */
export interface JobView {
  jobId: string;
  status: string;
  vertices?: { id: string; name: string; parallelism: number; subtasks: Record<string, number> }[];
}

/** `GET <restUrl><path>` as JSON (loopback GETs need no token). */
export async function restGet<T>(session: MesosSession, path: string): Promise<T> {
  const res = await fetch(`${session.restUrl}${path}`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** `sluice submit <job> <args…> --detached`; resolves with the job id once it is submitted. */
export async function submitDetached(session: MesosSession, job: string, args: string[]): Promise<string> {
  const r = await session.submit(job, [...args, '--detached'], 120_000);
  const jobId = /sluice cancel ([0-9a-f]{32})/.exec(r.stderr)?.[1];
  if (r.code !== 0 || jobId === undefined) throw new Error(`sluice submit --detached failed (${r.code}): ${r.stderr}\n${session.output()}`);
  return jobId;
}

/** Waits until every subtask of every vertex of the job is RUNNING. */
export async function jobRunning(session: MesosSession, jobId: string, timeoutMs = 120_000): Promise<JobView> {
  let last: JobView | undefined;
  return waitFor(
    `every subtask of job ${jobId} RUNNING`,
    async () => {
      const job = (last = await restGet<JobView>(session, `/jobs/${jobId}`));
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
  await waitFor(`job ${jobId} CANCELED`, async () => ((await restGet<JobView>(session, `/jobs/${jobId}`)).status === 'CANCELED' ? true : undefined), 60_000);
}

/**
 * A Mesos `ports` range for a fake agent, e.g. `[23400-23499]`: a random block below the
 * kernel's ephemeral ports. Every fake cluster's agents are 127.0.0.2, .3, …, so test files run
 * at the same time (vitest's workers, other checkouts) would otherwise offer the same ports and
 * their TaskManagers fail with EADDRINUSE.
 */
export function agentPorts(size = 100): string {
  const base = 10_000 + 100 * Math.floor(Math.random() * 200);
  return `[${base}-${base + size - 1}]`;
}
