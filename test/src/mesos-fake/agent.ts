/**
 * One fake agent: its own HTTP server on its own loopback address (127.X.0.N, also its
 * hostname), the master's requests (run, kill, shutdown, messages, acknowledgements), executor
 * processes and their lifecycle (registration timeout, exit → TASK_FAILED + FAILURE, SHUTDOWN
 * then SIGKILL after the grace period), and restart with executor re-registration. The executor
 * HTTP API itself is in executor-api.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { ExecutorInfo, TaskInfo, TaskState, TaskStatus } from '@sluice/mesos-proto';
import { handleExecutorRequest } from './executor-api.js';
import { answer, closeServer, listen, trackSockets } from './http-util.js';
import { LaunchError, killContainer, launchExecutor, shutdownGraceMs } from './launcher.js';
import type { MasterLink } from './master-agent.js';
import type { AgentGateway } from './master-core.js';
import { executorKey, formatDuration, hasCapability, isTerminal, randomId, type ClusterState, type FakeAgentState, type FakeExecutor, type FakeFramework } from './model.js';
import type { Res } from './resources.js';
import { StatusUpdateManager } from './status-updates.js';

export class FakeAgent implements AgentGateway {
  readonly updates: StatusUpdateManager;
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private readonly tokenKey = randomBytes(32);
  private readonly exitResolvers = new Map<FakeExecutor, () => void>();
  private recoveryTimer: NodeJS.Timeout | undefined;
  private deferredExits: FakeExecutor[] = [];
  private readonly launches = new Set<Promise<void>>();

  constructor(
    readonly cluster: ClusterState,
    readonly state: FakeAgentState,
    readonly link: MasterLink,
  ) {
    this.updates = new StatusUpdateManager(cluster, state, link);
  }

  get endpoint(): string {
    return `${this.state.ip}:${this.state.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      handleExecutorRequest(this, req, res).catch((err: unknown) => answer(res, 500, String(err)));
    });
    this.sockets = trackSockets(server);
    this.server = server;
    this.state.port = await listen(server, this.state.ip, this.state.port);
  }

  // --- the master's requests (AgentGateway) ---------------------------------------------------

  runTask(framework: FakeFramework, executorInfo: ExecutorInfo, executorResources: Res[], task: TaskInfo): void {
    const key = executorKey(framework.id, executorInfo.executor_id.value);
    let ex = this.state.executors.get(key);
    if (ex === undefined || ex.phase === 'terminated') {
      ex = this.createExecutor(framework, executorInfo, executorResources);
      ex.taskStates.set(task.task_id.value, 'TASK_STAGING');
      ex.queued.push(task);
      const launching = this.launch(framework, ex);
      this.launches.add(launching);
      void launching.finally(() => this.launches.delete(launching));
    } else {
      ex.taskStates.set(task.task_id.value, 'TASK_STAGING');
      if (ex.stream !== undefined && !ex.stream.closed) this.sendLaunch(ex, task);
      else ex.queued.push(task);
    }
    this.cluster.changed();
  }

  killTask(frameworkId: string, taskId: string): void {
    const ex = [...this.state.executors.values()].find((e) => e.frameworkId === frameworkId && e.phase !== 'terminated' && e.taskStates.has(taskId));
    if (ex === undefined) return;
    const queuedIndex = ex.queued.findIndex((t) => t.task_id.value === taskId);
    if (queuedIndex >= 0) {
      ex.queued.splice(queuedIndex, 1);
      this.agentUpdate(ex, taskId, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', 'Killed before delivery to the executor');
      return;
    }
    ex.killRequested.add(taskId);
    const policy = ex.launched.get(taskId)?.kill_policy;
    ex.stream?.send({ type: 'KILL', kill: { task_id: { value: taskId }, ...(policy === undefined ? {} : { kill_policy: policy }) } });
  }

  shutdownExecutor(frameworkId: string, executorId: string): void {
    const ex = this.state.executors.get(executorKey(frameworkId, executorId));
    if (ex === undefined || ex.phase === 'terminated' || ex.phase === 'terminating') return;
    for (const t of ex.taskStates.keys()) ex.killRequested.add(t);
    if (ex.stream === undefined || ex.stream.closed) {
      this.destroy(ex, 'REASON_EXECUTOR_TERMINATED', 'Executor shut down before it subscribed');
      return;
    }
    ex.phase = 'terminating';
    ex.stream.send({ type: 'SHUTDOWN' });
    const grace = shutdownGraceMs(ex.info, this.cluster.options);
    this.timer(ex, grace, () => this.destroy(ex, 'REASON_EXECUTOR_TERMINATED', `Executor did not exit within its shutdown grace period of ${formatDuration(grace)}`));
    this.cluster.changed();
  }

  frameworkMessage(frameworkId: string, executorId: string, data: Uint8Array): void {
    const ex = this.state.executors.get(executorKey(frameworkId, executorId));
    if (ex?.stream !== undefined && !ex.stream.closed) ex.stream.send({ type: 'MESSAGE', message: { data } });
  }

  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): void {
    if (this.state.down) return;
    this.updates.acknowledge(frameworkId, taskId, uuid);
  }

  shutdownFramework(frameworkId: string): void {
    for (const ex of this.state.executors.values()) if (ex.frameworkId === frameworkId) this.shutdownExecutor(frameworkId, ex.executorId);
    this.updates.dropFramework(frameworkId);
  }

  // --- executors --------------------------------------------------------------------------------

  private createExecutor(framework: FakeFramework, info: ExecutorInfo, resources: Res[]): FakeExecutor {
    const containerId = randomId();
    const sandbox = join(this.cluster.workDir, 'slaves', this.state.id, 'frameworks', framework.id, 'executors', info.executor_id.value, 'runs', containerId);
    const token = this.cluster.options.executorAuthentication ? this.issueToken(framework.id, info.executor_id.value, containerId) : undefined;
    let resolveExit: () => void = () => undefined;
    const exited = new Promise<void>((r) => (resolveExit = r));
    const ex: FakeExecutor = {
      frameworkId: framework.id, executorId: info.executor_id.value, agentId: this.state.id, info: structuredClone(info), resources,
      containerId, sandbox, rootfs: undefined, process: undefined, pid: undefined, phase: 'launching', stream: undefined, queued: [], launched: new Map(),
      taskStates: new Map(), killRequested: new Set(), destroyReason: undefined, seenUuids: new Set(), token, timers: new Set(), exit: undefined, exited,
    };
    this.exitResolvers.set(ex, resolveExit);
    this.state.executors.set(executorKey(framework.id, ex.executorId), ex);
    this.cluster.executorLog.push(ex);
    return ex;
  }

  private async launch(framework: FakeFramework, ex: FakeExecutor): Promise<void> {
    try {
      const { child, exit, rootfs } = await launchExecutor({
        options: this.cluster.options, framework: { ...framework.info, id: { value: framework.id } }, executor: ex.info,
        agent: { id: this.state.id, ip: this.state.ip, port: this.state.port }, sandbox: ex.sandbox, token: ex.token,
        storeDir: join(this.cluster.workDir, 'store', 'docker'),
        containerDir: join(this.cluster.workDir, 'provisioner', 'containers', ex.containerId),
      });
      ex.process = child;
      ex.rootfs = rootfs;
      ex.pid = child.pid;
      void exit.then(({ code, signal }) => this.onExit(ex, code, signal));
      if (ex.phase === 'launching') ex.phase = 'registering';
      if (ex.destroyReason !== undefined || this.cluster.stopped) killContainer(child, 'SIGKILL');
      const timeout = this.cluster.options.executorRegistrationTimeoutMs;
      this.timer(ex, timeout, () => {
        if (ex.phase === 'registering' && ex.stream === undefined) {
          this.destroy(ex, 'REASON_EXECUTOR_REGISTRATION_TIMEOUT', `Executor did not register within ${formatDuration(timeout)}`);
        }
      });
      this.cluster.changed();
    } catch (err) {
      const message = err instanceof LaunchError ? err.message : `Failed to launch container: ${String(err)}`;
      ex.destroyReason = { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message };
      this.onExit(ex, null, null);
    }
  }

  sendLaunch(ex: FakeExecutor, task: TaskInfo): void {
    ex.launched.set(task.task_id.value, task);
    ex.stream?.send({ type: 'LAUNCH', launch: { task } });
  }

  /** Kills the executor's container; its tasks get `reason` when it has exited. */
  destroy(ex: FakeExecutor, reason: NonNullable<TaskStatus['reason']>, message: string): void {
    if (ex.phase === 'terminated') return;
    ex.destroyReason ??= { reason, message };
    killContainer(ex.process, 'SIGKILL');
  }

  /** Executor crash fault: SIGKILL without any reason of the agent's (tasks: EXECUTOR_TERMINATED). */
  crash(ex: FakeExecutor): void {
    killContainer(ex.process, 'SIGKILL');
  }

  private onExit(ex: FakeExecutor, code: number | null, signal: NodeJS.Signals | null): void {
    if (ex.phase === 'terminated') return;
    ex.phase = 'terminated';
    ex.exit = { code, signal };
    for (const t of ex.timers) clearTimeout(t);
    ex.timers.clear();
    ex.stream?.close();
    ex.stream = undefined;
    // A dead agent notices nothing: the exit is reported when it has restarted (restart()).
    if (this.state.down) this.deferredExits.push(ex);
    else this.reportExit(ex);
    this.exitResolvers.get(ex)?.();
    this.cluster.changed();
  }

  private reportExit(ex: FakeExecutor): void {
    const code = ex.exit?.code ?? null;
    const signal = ex.exit?.signal ?? null;
    const forgotten = ex.destroyReason?.reason === 'REASON_AGENT_RESTARTED';
    const how = code !== null ? `exited with status ${code}` : signal !== null ? `was killed by ${signal}` : 'never started';
    const why = ex.destroyReason ?? { reason: 'REASON_EXECUTOR_TERMINATED' as const, message: `Executor terminated: it ${how}` };
    if (!forgotten) {
      for (const [taskId, state] of ex.taskStates) {
        if (isTerminal(state)) continue;
        const killed = ex.killRequested.has(taskId) && why.reason === 'REASON_EXECUTOR_TERMINATED';
        this.agentUpdate(ex, taskId, killed ? 'TASK_KILLED' : 'TASK_FAILED', why.reason, why.message);
      }
      const waitStatus = code !== null ? code << 8 : signal !== null ? (osConstants.signals[signal] ?? undefined) : undefined;
      this.link.executorTerminated(this.state, ex.frameworkId, ex.executorId, waitStatus);
    }
  }

  /** A status update the agent itself generates (source AGENT, with a uuid: it needs an ack). */
  agentUpdate(ex: FakeExecutor, taskId: string, state: TaskState, reason: NonNullable<TaskStatus['reason']>, message: string): void {
    ex.taskStates.set(taskId, state);
    if (isTerminal(state)) ex.launched.delete(taskId);
    const status: TaskStatus = {
      task_id: { value: taskId }, state, source: 'SOURCE_AGENT', reason, message, agent_id: { value: this.state.id },
      executor_id: { value: ex.executorId }, timestamp: Date.now() / 1000, uuid: randomBytes(16),
    };
    this.updates.add(ex.frameworkId, status);
  }

  /** The agent's view of a task's state, for the master when the agent reregisters. */
  taskState(frameworkId: string, taskId: string): TaskState | undefined {
    for (const ex of this.state.executors.values()) {
      if (ex.frameworkId !== frameworkId) continue;
      const s = ex.taskStates.get(taskId);
      if (s !== undefined) return s;
    }
    return undefined;
  }

  timer(ex: FakeExecutor, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      ex.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    ex.timers.add(t);
  }

  issueToken(frameworkId: string, executorId: string, containerId: string): string {
    const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ fid: frameworkId, eid: executorId, cid: containerId })}`;
    return `${body}.${createHmac('sha256', this.tokenKey).update(body).digest('base64url')}`;
  }

  /** The claims of a token this agent issued, or undefined when it is not one. */
  verifyToken(token: string): { fid: string; eid: string; cid: string } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha256', this.tokenKey).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (expected !== parts[2]) return undefined;
    try {
      return JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as { fid: string; eid: string; cid: string };
    } catch {
      return undefined;
    }
  }

  // --- faults and shutdown ------------------------------------------------------------------------

  /**
   * Agent restart: the HTTP server goes away (executor streams break) and comes back on the same
   * address after `downMs`. Executors of checkpointing frameworks must resubscribe within
   * executorReregistrationTimeoutMs or are killed (REASON_EXECUTOR_REREGISTRATION_TIMEOUT); those
   * of other frameworks are killed and their tasks reported gone (REASON_AGENT_RESTARTED).
   */
  async restart(downMs: number): Promise<void> {
    this.state.down = true;
    this.updates.pause();
    this.link.agentDown(this.state);
    for (const ex of this.state.executors.values()) {
      for (const t of ex.timers) clearTimeout(t);
      ex.timers.clear();
    }
    if (this.server !== undefined) await closeServer(this.server, this.sockets);
    await new Promise((r) => setTimeout(r, downMs));
    if (this.cluster.stopped) return;
    await this.start();
    this.state.down = false;
    this.state.recovering = true;
    const exitedMeanwhile = new Set(this.deferredExits.splice(0));
    for (const ex of this.state.executors.values()) {
      if (ex.phase === 'terminated' && !exitedMeanwhile.has(ex)) continue;
      ex.stream = undefined;
      const framework = this.cluster.frameworks.get(ex.frameworkId);
      if (exitedMeanwhile.has(ex) && framework?.info.checkpoint === true) {
        this.reportExit(ex);
        continue;
      }
      if (framework?.info.checkpoint !== true) {
        for (const [taskId, state] of ex.taskStates) {
          if (isTerminal(state)) continue;
          this.link.taskGone(this.state, ex.frameworkId, taskId, 'REASON_AGENT_RESTARTED', 'Agent restarted and does not recover tasks of frameworks without checkpointing');
        }
        this.destroy(ex, 'REASON_AGENT_RESTARTED', 'Agent restarted');
      } else if (ex.phase !== 'terminating') ex.phase = 'registering';
    }
    const window = this.cluster.options.executorReregistrationTimeoutMs;
    await new Promise<void>((resolve) => {
      this.recoveryTimer = setTimeout(resolve, window);
    });
    this.recoveryTimer = undefined;
    for (const ex of this.state.executors.values()) {
      if (ex.phase !== 'terminated' && (ex.stream === undefined || ex.stream.closed)) {
        this.destroy(ex, 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', `Executor did not reregister within ${formatDuration(window)} after the agent restarted`);
      }
    }
    this.state.recovering = false;
    this.updates.resume();
    this.link.agentUp();
  }

  /** Executor stream gone while the agent runs: executors of non-checkpointing frameworks are shut down. */
  executorDisconnected(ex: FakeExecutor): void {
    if (this.state.down || ex.phase === 'terminated' || this.cluster.stopped) return;
    const framework = this.cluster.frameworks.get(ex.frameworkId);
    if (framework?.info.checkpoint !== true) this.destroy(ex, 'REASON_EXECUTOR_TERMINATED', 'Executor disconnected and its framework does not checkpoint');
  }

  partitionAware(frameworkId: string): boolean {
    const f = this.cluster.frameworks.get(frameworkId);
    return f !== undefined && hasCapability(f, 'PARTITION_AWARE');
  }

  async stop(): Promise<void> {
    if (this.recoveryTimer !== undefined) clearTimeout(this.recoveryTimer);
    this.updates.stop();
    // A launch still fetching or spawning would create its sandbox after the cleanup.
    await Promise.all([...this.launches]);
    const exits: Promise<void>[] = [];
    for (const ex of this.state.executors.values()) {
      for (const t of ex.timers) clearTimeout(t);
      killContainer(ex.process, 'SIGKILL');
      if (ex.process !== undefined && ex.phase !== 'terminated') exits.push(ex.exited);
    }
    await Promise.all(exits);
    if (this.server !== undefined) await closeServer(this.server, this.sockets);
  }
}
