/**
 * Starts the TaskManager a Mesos task stands for: the cluster secret into a private file in the
 * sandbox, then `node <@sluice/cluster>/taskmanager-main.js` with the flags from TaskInfo.data,
 * supervised as a child with an IPC channel. The TaskManager says `{type: 'registered', …}` on
 * that channel once the ResourceManager has accepted it, and ends itself if the channel closes
 * (this executor died), so a killed executor leaves no TaskManager behind.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '@sluice/common';
import { SupervisedChild, TASKMANAGER_MAIN, type ChildExit } from '@sluice/cluster';
import type { TaskManagerLaunch } from './task-protocol.js';

/** What the TaskManager announces on its IPC channel once registered (taskmanager-process.ts). */
export interface TaskManagerRegistration {
  resourceId: string;
  rpcAddress?: string;
  /** `http://host:port/metrics`. */
  metricsUrl?: string;
}

export interface LaunchedTaskManager {
  readonly pid: number | undefined;
  /** Resolves when it registered; rejects if it exits first. */
  readonly registered: Promise<TaskManagerRegistration>;
  /** Resolves when the process has exited and its output is drained. */
  readonly exited: Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs: number): Promise<ChildExit>;
}

export interface TaskManagerLauncherOptions {
  sandbox: string;
  /** The script run with node; default the installed @sluice/cluster's taskmanager-main.js. Tests pass a stand-in. */
  script?: string;
  /** Where each line of its output goes (default: this process's stdout, prefixed). */
  onLine?: (taskId: string, line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Starts TaskManager processes; the executor core takes any implementation. */
export type TaskManagerLauncher = (taskId: string, launch: TaskManagerLaunch) => LaunchedTaskManager;

/** The TaskManager's command line after the script (pure). */
export function taskManagerArgs(launch: TaskManagerLaunch, secretFile: string): string[] {
  const args: string[] = [];
  if (launch.ha !== undefined) {
    const ha = Object.entries(launch.ha).map(([k, v]) => [k.replace(/^--/, ''), v] as const);
    if (!ha.some(([k]) => k === 'high-availability')) args.push('--high-availability', 'zookeeper');
    for (const [k, v] of ha) args.push(`--${k}=${v}`);
  } else if (launch.cluster !== undefined) {
    args.push('--cluster', launch.cluster);
  }
  args.push(
    '--secret-file', secretFile,
    '--slots', String(launch.slots),
    '--resource-id', launch.resourceId,
    '--bind-host', launch.bindHost,
    '--advertised-host', launch.advertisedHost,
    '--rpc-port', String(launch.ports.rpc),
    '--data-port', String(launch.ports.data),
    '--metrics-port', String(launch.ports.metrics),
    // /metrics on the same interface as the rest, so Prometheus on another host can scrape it.
    '--metrics-host', launch.bindHost,
  );
  if (launch.workerThreads !== undefined) args.push('--worker-threads', String(launch.workerThreads));
  args.push(...(launch.extraArgs ?? []));
  return args;
}

/** The private file the secret goes to: in the sandbox, named after the task. */
export function secretFileOf(sandbox: string, taskId: string): string {
  return join(sandbox, `.sluice-secret-${taskId.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

function isRegistration(m: unknown): m is TaskManagerRegistration & { type: 'registered' } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'registered' && typeof (m as { resourceId?: unknown }).resourceId === 'string';
}

export function createTaskManagerLauncher(options: TaskManagerLauncherOptions): TaskManagerLauncher {
  const script = options.script ?? TASKMANAGER_MAIN;
  const onLine = options.onLine ?? ((taskId: string, line: string) => process.stdout.write(`[taskmanager ${taskId}] ${line}\n`));
  return (taskId, launch) => {
    const secretFile = secretFileOf(options.sandbox, taskId);
    writePrivateFile(secretFile, launch.secret, 'the cluster secret');
    const child = new SupervisedChild({
      name: `TaskManager ${launch.resourceId}`,
      args: [script, ...taskManagerArgs(launch, secretFile)],
      env: options.env ?? process.env,
      onLine: (line) => onLine(taskId, line),
    });
    const registered = child.waitForMessage<TaskManagerRegistration>((m) => {
      if (!isRegistration(m)) return undefined;
      return { resourceId: m.resourceId, ...(typeof m.rpcAddress === 'string' ? { rpcAddress: m.rpcAddress } : {}), ...(typeof m.metricsUrl === 'string' ? { metricsUrl: m.metricsUrl } : {}) };
    });
    registered.catch(() => undefined); // an exit before registering is reported through `exited`
    const exited = child.exited.then((exit) => {
      // The sandbox outlives the task; the secret should not.
      try {
        unlinkSync(secretFile);
      } catch {
        // already gone
      }
      return exit;
    });
    return {
      pid: child.pid,
      registered,
      exited,
      stop: async (graceMs) => {
        await child.stop(graceMs);
        return exited;
      },
    };
  };
}
