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
