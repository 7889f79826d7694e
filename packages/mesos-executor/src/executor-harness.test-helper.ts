/**
 * Runs a MesosExecutor in the test process against a TestingAgent, with the stand-in
 * TaskManager (fixtures/stand-in-taskmanager.mjs) unless told otherwise, and cleans up after
 * it: shuts the executor down, checks its TaskManagers are gone, removes the sandbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '@sluice/common';
import type { MesosEncoding, TaskInfo } from '@sluice/mesos-proto';
import { AgentClient } from './agent-client.js';
import type { ExecutorConfig } from './config.js';
import { MesosExecutor } from './executor.js';
import { encodeTaskManagerLaunch, type TaskManagerLaunch } from './task-protocol.js';
import { createTaskManagerLauncher } from './taskmanager-launcher.js';
import type { TestingAgent } from './testing-agent.test-helper.js';

export const STAND_IN_TASKMANAGER = fileURLToPath(new URL('./fixtures/stand-in-taskmanager.mjs', import.meta.url));

export interface HarnessOptions {
  config?: Partial<ExecutorConfig>;
  /** The TaskManager script; default the stand-in. `null`: the real taskmanager-main.js. */
  script?: string | null;
  env?: NodeJS.ProcessEnv;
  encoding?: MesosEncoding;
  token?: string;
}

/** Lines that arrived, and a way to wait for the first matching one. */
export class Lines {
  readonly all: string[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  push(line: string): void {
    this.all.push(line);
    for (const w of [...this.waiters]) {
      const m = w.re.exec(line);
      if (m === null) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(m);
    }
  }

  next(re: RegExp): Promise<RegExpExecArray> {
    for (const line of this.all) {
      const m = re.exec(line);
      if (m !== null) return Promise.resolve(m);
    }
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }
}

export interface RunningExecutor {
  executor: MesosExecutor;
  /** run()'s promise: the exit code. */
  exit: Promise<number>;
  config: ExecutorConfig;
  /** The TaskManager's output. */
  output: Lines;
  /** The executor's log. */
  log: Lines;
  logger: Logger;
}

const running: RunningExecutor[] = [];
const sandboxes: string[] = [];

export function startExecutor(agent: TestingAgent, options: HarnessOptions = {}): RunningExecutor {
  const sandbox = mkdtempSync(join(tmpdir(), 'sluice-executor-test-'));
  sandboxes.push(sandbox);
  const config: ExecutorConfig = {
    frameworkId: 'fw-1',
    executorId: 'sluice-executor-taskmanager-1',
    agentEndpoint: agent.endpoint,
    sandbox,
    checkpoint: false,
    shutdownGracePeriodMs: 5_000,
    recoveryTimeoutMs: 60_000,
    subscriptionBackoffMaxMs: 20,
    encoding: options.encoding ?? 'protobuf',
    reportIntervalMs: 60_000,
    slotPollIntervalMs: 20,
    registrationTimeoutMs: 60_000,
    ...options.config,
  };
  const output = new Lines();
  const log = new Lines();
  const logger = createLogger('debug', 'mesos-executor', (line) => log.push(line));
  const client = new AgentClient({
    endpoint: config.agentEndpoint,
    encoding: config.encoding,
    ...(options.token === undefined ? {} : { authenticationToken: options.token }),
  });
  const executor = new MesosExecutor({
    config,
    agent: client,
    launchTaskManager: createTaskManagerLauncher({
      sandbox,
      ...(options.script === null ? {} : { script: options.script ?? STAND_IN_TASKMANAGER }),
      onLine: (_task, line) => output.push(line),
      env: { ...process.env, ...options.env },
    }),
    logger,
    random: () => 0.5,
  });
  const run: RunningExecutor = { executor, exit: executor.run(), config, output, log, logger };
  running.push(run);
  return run;
}

/** For afterEach: ends every executor started (shutting it down if it still runs) and its sandbox. */
export async function stopExecutors(): Promise<void> {
  for (const r of running.splice(0)) {
    r.executor.shutdown('the test is over');
    await r.exit;
  }
  for (const s of sandboxes.splice(0)) rmSync(s, { recursive: true, force: true });
}

export function taskManagerLaunch(overrides: Partial<TaskManagerLaunch> = {}): TaskManagerLaunch {
  return {
    v: 1,
    resourceId: 'taskmanager-1',
    cluster: 'sluice://127.0.0.1:6123',
    secret: 'cluster-secret-123',
    slots: 2,
    ports: { rpc: 0, data: 0, metrics: 0 },
    bindHost: '127.0.0.1',
    advertisedHost: 'agent-1.test',
    ...overrides,
  };
}

export function taskInfo(id: string, data: Uint8Array | TaskManagerLaunch, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: 'agent-1' },
    data: data instanceof Uint8Array ? data : encodeTaskManagerLaunch(data),
    ...extra,
  };
}

/** POSTs to the stand-in TaskManager's control URL. */
export function control(base: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', reject);
    req.end();
  });
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
