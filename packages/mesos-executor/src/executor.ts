/**
 * The executor core: the agent's events in, status updates and framework messages out, one
 * TaskManager process per launched task. State changes happen synchronously in the event
 * handlers and process callbacks (no await between reading and writing state); I/O goes
 * through the AgentGateway and the TaskManagerLauncher, so tests can drive it with any agent.
 *
 * Reliability follows the v1 executor API: each update carries a fresh uuid and is kept until
 * the agent ACKNOWLEDGES it; updates go out one at a time in order (retried while the agent is
 * unreachable), and whatever is unacknowledged is re-sent in the next SUBSCRIBE.
 */
import { createLogger, describeError, type Logger } from '@sluice/common';
import type { ExecutorCall, ExecutorEvent, KillPolicy, TaskInfo, TaskState, TaskStatus, TaskStatusReason } from '@sluice/mesos-proto';
import type { AgentError, AgentGateway, AgentSubscription } from './agent-gateway.js';
import type { ExecutorConfig } from './config.js';
import { metricsAddressOf, TaskManagerReporter } from './reporter.js';
import { newStatusUuid, StatusLedger, type PendingUpdate } from './status-ledger.js';
import { decodeTaskManagerLaunch, encodeTaskManagerReport, type TaskManagerLaunch, type TaskManagerReport } from './task-protocol.js';
import type { LaunchedTaskManager, TaskManagerLauncher, TaskManagerRegistration } from './taskmanager-launcher.js';

/** Exit codes of the executor process (also documented in its --help). */
export const EXECUTOR_EXIT_CODES = Object.freeze({
  /** Its task ended and the agent acknowledged that, or it was shut down. */
  done: 0,
  internalError: 1,
  configuration: 2,
  /** Lost the agent: disconnected without checkpointing, or not re-subscribed within MESOS_RECOVERY_TIMEOUT. */
  agentLost: 3,
  /** The agent refused the subscription (a 4xx answer: unknown framework or executor, bad token). */
  agentRefused: 4,
});

/** Mesos's grace period when neither KILL nor the TaskInfo has a kill policy. */
export const DEFAULT_KILL_GRACE_MS = 3_000;
const UPDATE_RETRY_INITIAL_MS = 500;
const UPDATE_RETRY_MAX_MS = 10_000;

export interface MesosExecutorOptions {
  config: ExecutorConfig;
  agent: AgentGateway;
  launchTaskManager: TaskManagerLauncher;
  logger?: Logger;
  /** Uniform in [0, 1), for the re-subscription delay. */
  random?: () => number;
}

type Phase = 'starting' | 'running' | 'killing' | 'terminal';

interface TaskEntry {
  readonly info: TaskInfo;
  readonly id: string;
  phase: Phase;
  launch?: TaskManagerLaunch;
  tm?: LaunchedTaskManager;
  stopRequest?: 'kill' | 'shutdown';
  /** Why the executor stopped it on its own (e.g. registration timeout). */
  failure?: string;
  everRunning: boolean;
  reporter?: TaskManagerReporter;
  registrationTimer?: NodeJS.Timeout;
}

export class MesosExecutor {
  private readonly config: ExecutorConfig;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly ledger = new StatusLedger();
  private readonly tasks = new Map<string, TaskEntry>();
  private connection: 'idle' | 'subscribing' | 'subscribed' | 'disconnected' = 'idle';
  private lifecycle: 'running' | 'shutting-down' | 'finished' = 'running';
  private subscription: AgentSubscription | undefined;
  private killingCapable = false;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private updateRetryTimer: NodeJS.Timeout | undefined;
  private shutdownTimer: NodeJS.Timeout | undefined;
  private updateInFlight: PendingUpdate | undefined;
  private updateFailures = 0;
  private readonly messagesInFlight = new Set<Promise<void>>();
  private finish!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.finish = resolve));

  constructor(private readonly o: MesosExecutorOptions) {
    this.config = o.config;
    this.logger = o.logger ?? createLogger(undefined, 'mesos-executor');
    this.random = o.random ?? Math.random;
  }

  /** Subscribes and runs until the executor should exit; resolves with the exit code. */
  run(): Promise<number> {
    if (this.connection === 'idle') this.subscribe();
    return this.done;
  }

  /** SHUTDOWN (from the agent, or SIGTERM): stop every TaskManager within the grace period, report, exit. */
  shutdown(why: string): void {
    if (this.lifecycle !== 'running') return;
    this.lifecycle = 'shutting-down';
    const grace = this.config.shutdownGracePeriodMs;
    // Leave part of the period for the terminal updates and their acknowledgements.
    const killGrace = grace - Math.min(2_000, grace * 0.4);
    this.logger.warn(`${why}: stopping every TaskManager (SIGKILL after ${Math.round(killGrace)} ms), then exiting`);
    this.shutdownTimer = setTimeout(() => {
      this.logger.warn(`the shutdown grace period (${grace} ms) is over; exiting with updates still unacknowledged`, { pending: this.ledger.pending().length });
      void this.exit(EXECUTOR_EXIT_CODES.done, 'shutdown grace period over');
    }, grace);
    for (const entry of this.tasks.values()) {
      if (entry.phase === 'terminal') continue;
      entry.stopRequest ??= 'shutdown';
      void entry.tm?.stop(killGrace);
    }
    this.maybeFinish();
  }

  // --- the subscription ----------------------------------------------------------------------

  private base(): Pick<ExecutorCall, 'executor_id' | 'framework_id'> {
    return { executor_id: { value: this.config.executorId }, framework_id: { value: this.config.frameworkId } };
  }

  private subscribe(): void {
    this.connection = 'subscribing';
    const sentWith = new Set(this.ledger.pending());
    const call: ExecutorCall = { ...this.base(), type: 'SUBSCRIBE', subscribe: this.ledger.subscribePayload() };
    this.subscription = this.o.agent.subscribe(call, {
      onEvent: (event) => this.onEvent(event, sentWith),
      onClose: (error) => this.onDisconnected(error),
    });
  }

  private onDisconnected(error: AgentError): void {
    this.subscription = undefined;
    if (this.lifecycle === 'finished') return;
    const wasSubscribed = this.connection === 'subscribed';
    this.connection = 'disconnected';
    this.updateInFlight = undefined;
    if (error.code === 'MESOS_AGENT_REFUSED' && !wasSubscribed) {
      this.logger.error(`the agent refused the subscription: ${error.message}`);
      void this.exit(EXECUTOR_EXIT_CODES.agentRefused, 'subscription refused');
      return;
    }
    if (!this.config.checkpoint) {
      this.logger.error(`lost the agent (${error.message}); the framework does not checkpoint (MESOS_CHECKPOINT is not 1), so this executor exits`);
      void this.exit(EXECUTOR_EXIT_CODES.agentLost, 'agent lost');
      return;
    }
    if (this.recoveryTimer === undefined) {
      this.logger.warn(`lost the agent (${error.message}); re-subscribing for up to ${this.config.recoveryTimeoutMs} ms (MESOS_RECOVERY_TIMEOUT); the TaskManagers keep running`);
      this.recoveryTimer = setTimeout(() => {
        this.logger.error(`not re-subscribed to the agent within MESOS_RECOVERY_TIMEOUT (${this.config.recoveryTimeoutMs} ms); exiting`);
        void this.exit(EXECUTOR_EXIT_CODES.agentLost, 'recovery timeout');
      }, this.config.recoveryTimeoutMs);
    } else {
      this.logger.info(`re-subscription failed: ${error.message}`);
    }
    const delay = this.random() * this.config.subscriptionBackoffMaxMs;
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = undefined;
      if (this.lifecycle !== 'finished') this.subscribe();
    }, delay);
  }

  private onEvent(event: ExecutorEvent, sentWith: ReadonlySet<PendingUpdate>): void {
    if (this.lifecycle === 'finished') return;
    switch (event.type) {
      case 'SUBSCRIBED':
        return this.onSubscribed(event, sentWith);
      case 'LAUNCH':
        return event.launch === undefined ? this.logger.warn('LAUNCH without a task; ignored') : this.onLaunch(event.launch.task);
      case 'LAUNCH_GROUP':
        for (const task of event.launch_group?.task_group.tasks ?? []) this.rejectTask(task, 'REASON_TASK_GROUP_INVALID', "Sluice's executor runs one TaskManager per task; it does not run task groups");
        return;
      case 'KILL':
        return event.kill === undefined ? this.logger.warn('KILL without a task id; ignored') : this.onKill(event.kill.task_id.value, event.kill.kill_policy);
      case 'ACKNOWLEDGED':
        return event.acknowledged === undefined ? undefined : this.onAcknowledged(event.acknowledged.task_id.value, event.acknowledged.uuid);
      case 'SHUTDOWN':
        return this.shutdown('the agent sent SHUTDOWN');
      case 'MESSAGE':
        return this.logger.info(`framework message from the scheduler (${event.message?.data.byteLength ?? 0} bytes); this executor takes none, ignored`);
      case 'ERROR':
        return this.logger.error(`the agent sent ERROR: ${event.error?.message ?? '(no message)'}`);
      case 'HEARTBEAT':
        return;
      default:
        return this.logger.warn(`event of a type this executor does not know (${String(event.type ?? 'none')}); ignored`);
    }
  }

  private onSubscribed(event: ExecutorEvent, sentWith: ReadonlySet<PendingUpdate>): void {
    const recovered = this.recoveryTimer !== undefined;
    clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
    this.connection = 'subscribed';
    this.updateFailures = 0;
    const capabilities = event.subscribed?.framework_info.capabilities ?? [];
    this.killingCapable = capabilities.some((c) => c.type === 'TASK_KILLING_STATE');
    // The agent took these with the SUBSCRIBE; sending them again would only duplicate them.
    for (const update of sentWith) update.delivered = true;
    const agent = event.subscribed?.agent_info.hostname ?? 'the agent';
    this.logger.info(`${recovered ? 're-subscribed' : 'subscribed'} to ${agent}`, { executor: this.config.executorId, unacknowledged: sentWith.size });
    this.pumpUpdates();
    this.maybeFinish();
  }

  // --- tasks ---------------------------------------------------------------------------------

  private onLaunch(task: TaskInfo): void {
    const id = task.task_id.value;
    if (this.tasks.has(id)) {
      this.logger.warn(`LAUNCH of task ${id} again; it is already here, ignored`);
      return;
    }
    const active = [...this.tasks.values()].find((e) => e.phase !== 'terminal');
    if (active !== undefined) {
      return this.rejectTask(task, 'REASON_TASK_INVALID', `this executor already runs TaskManager task ${active.id}; launch each TaskManager with an executor of its own`);
    }
    if (this.lifecycle !== 'running') return this.rejectTask(task, 'REASON_TASK_KILLED_DURING_LAUNCH', 'the executor is shutting down', 'TASK_KILLED');
    let launch: TaskManagerLaunch;
    try {
      launch = decodeTaskManagerLaunch(task.data ?? new Uint8Array());
    } catch (err) {
      return this.rejectTask(task, 'REASON_TASK_INVALID', describeError(err));
    }
    const entry: TaskEntry = { info: task, id, phase: 'starting', launch, everRunning: false };
    this.tasks.set(id, entry);
    this.ledger.launched(task);
    this.update(entry, 'TASK_STARTING', { message: `starting TaskManager ${launch.resourceId}` });
    try {
      entry.tm = this.o.launchTaskManager(id, launch);
    } catch (err) {
      return this.terminal(entry, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', `cannot start the TaskManager: ${describeError(err)}`);
    }
    this.logger.info(`started TaskManager ${launch.resourceId} for task ${id}`, { pid: entry.tm.pid });
    entry.registrationTimer = setTimeout(() => {
      entry.failure = `the TaskManager did not register at the ResourceManager within ${this.config.registrationTimeoutMs} ms (SLUICE_TASKMANAGER_REGISTRATION_TIMEOUT)`;
      this.logger.error(`${entry.failure}; stopping it`, { task: id });
      void entry.tm?.stop(DEFAULT_KILL_GRACE_MS);
    }, this.config.registrationTimeoutMs);
    entry.tm.registered.then((registration) => this.onRegistered(entry, registration), () => undefined);
    void entry.tm.exited.then((exit) => this.onExited(entry, exit.cause));
  }

  /** A task that never gets a TaskManager: its one (terminal) update. */
  private rejectTask(task: TaskInfo, reason: TaskStatusReason, message: string, state: TaskState = 'TASK_FAILED'): void {
    const entry: TaskEntry = { info: task, id: task.task_id.value, phase: 'starting', everRunning: false };
    if (!this.tasks.has(entry.id)) this.tasks.set(entry.id, entry);
    this.ledger.launched(task);
    this.logger.error(`task ${entry.id}: ${message}`);
    this.terminal(entry, state, reason, message);
  }

  private onRegistered(entry: TaskEntry, registration: TaskManagerRegistration): void {
    clearTimeout(entry.registrationTimer);
    if (entry.phase !== 'starting' || this.lifecycle === 'finished') return;
    entry.phase = 'running';
    entry.everRunning = true;
    const launch = entry.launch!;
    this.update(entry, 'TASK_RUNNING', { message: `TaskManager ${registration.resourceId} registered at the ResourceManager` });
    entry.reporter = new TaskManagerReporter({
      taskId: entry.id,
      metricsUrl: registration.metricsUrl,
      metricsAddress: metricsAddressOf(launch.advertisedHost, registration.metricsUrl),
      slots: launch.slots,
      pollIntervalMs: this.config.slotPollIntervalMs,
      reportIntervalMs: this.config.reportIntervalMs,
      send: (report) => this.sendReport(report),
      logger: this.logger,
    });
    void entry.reporter.start();
  }

  private onKill(taskId: string, policy: KillPolicy | undefined): void {
    const entry = this.tasks.get(taskId);
    if (entry === undefined) {
      this.logger.warn(`KILL of task ${taskId}, which this executor does not run; ignored`);
      return;
    }
    if (entry.phase === 'terminal' || entry.stopRequest !== undefined) return;
    entry.stopRequest = 'kill';
    const nanos = policy?.grace_period?.nanoseconds ?? entry.info.kill_policy?.grace_period?.nanoseconds;
    const graceMs = nanos === undefined ? DEFAULT_KILL_GRACE_MS : Math.max(0, Number(nanos) / 1e6);
    this.logger.info(`KILL of task ${taskId}: SIGTERM to its TaskManager, SIGKILL after ${graceMs} ms`);
    if (this.killingCapable) this.update(entry, 'TASK_KILLING', { message: `stopping the TaskManager (grace period ${graceMs} ms)` });
    entry.phase = 'killing';
    void entry.tm?.stop(graceMs);
  }

  private onExited(entry: TaskEntry, cause: string): void {
    clearTimeout(entry.registrationTimer);
    entry.reporter?.exited();
    if (entry.phase === 'terminal') return this.maybeFinish();
    const what = `TaskManager ${entry.launch?.resourceId ?? entry.id} ${cause}`;
    if (entry.stopRequest === 'kill') {
      this.terminal(entry, 'TASK_KILLED', entry.everRunning ? undefined : 'REASON_TASK_KILLED_DURING_LAUNCH', `killed on request: ${what}`);
    } else if (entry.stopRequest === 'shutdown') {
      this.terminal(entry, 'TASK_KILLED', 'REASON_EXECUTOR_TERMINATED', `the executor was shut down: ${what}`);
    } else {
      this.terminal(entry, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', entry.failure === undefined ? what : `${entry.failure}; ${what}`);
    }
    this.logger.info(`task ${entry.id} ended: ${what}`);
  }

  private onAcknowledged(taskId: string, uuid: Uint8Array): void {
    const status = this.ledger.acknowledge(taskId, uuid);
    if (status === undefined) {
      this.logger.debug(`ACKNOWLEDGED for an update of task ${taskId} this executor does not hold (a repeat); ignored`);
      return;
    }
    if (this.updateInFlight?.status === status) this.updateInFlight = undefined;
    this.maybeFinish();
  }

  // --- updates and messages ------------------------------------------------------------------

  private terminal(entry: TaskEntry, state: TaskState, reason: TaskStatusReason | undefined, message: string): void {
    clearTimeout(entry.registrationTimer);
    entry.reporter?.stop();
    entry.phase = 'terminal';
    this.update(entry, state, { message, ...(reason === undefined ? {} : { reason }) });
  }

  private update(entry: TaskEntry, state: TaskState, extra: Pick<TaskStatus, 'message' | 'reason'>): void {
    this.ledger.add({
      task_id: entry.info.task_id,
      state,
      source: 'SOURCE_EXECUTOR',
      executor_id: { value: this.config.executorId },
      uuid: newStatusUuid(),
      timestamp: Date.now() / 1000,
      ...extra,
    });
    this.pumpUpdates();
  }

  /** Sends the oldest undelivered update, one at a time, so the agent sees each task's updates in order. */
  private pumpUpdates(): void {
    if (this.connection !== 'subscribed' || this.updateInFlight !== undefined || this.updateRetryTimer !== undefined) return;
    const next = this.ledger.pending().find((u) => !u.delivered);
    if (next === undefined) return;
    this.updateInFlight = next;
    const subscription = this.subscription;
    this.o.agent.call({ ...this.base(), type: 'UPDATE', update: { status: next.status } }).then(
      () => {
        next.delivered = true;
        this.updateFailures = 0;
        if (this.updateInFlight === next) this.updateInFlight = undefined;
        this.pumpUpdates();
      },
      (err: AgentError) => {
        if (this.updateInFlight === next) this.updateInFlight = undefined;
        if (this.lifecycle === 'finished' || subscription !== this.subscription) return; // the next SUBSCRIBE carries it
        const delay = Math.min(UPDATE_RETRY_MAX_MS, UPDATE_RETRY_INITIAL_MS * 2 ** this.updateFailures++);
        this.logger.warn(`status update ${next.status.state} of task ${next.status.task_id.value} not delivered (${err.message}); trying again in ${delay} ms`);
        this.updateRetryTimer = setTimeout(() => {
          this.updateRetryTimer = undefined;
          this.pumpUpdates();
        }, delay);
      },
    );
  }

  private sendReport(report: TaskManagerReport): void {
    if (this.connection !== 'subscribed') {
      this.logger.debug(`not subscribed: report of task ${report.taskId} (${report.phase}) dropped`);
      return;
    }
    const sent = this.o.agent
      .call({ ...this.base(), type: 'MESSAGE', message: { data: encodeTaskManagerReport(report) } })
      .catch((err: unknown) => this.logger.warn(`framework message (TaskManager report of task ${report.taskId}) not sent: ${describeError(err)}`))
      .finally(() => this.messagesInFlight.delete(sent));
    this.messagesInFlight.add(sent);
  }

  // --- the end -------------------------------------------------------------------------------

  private maybeFinish(): void {
    if (this.lifecycle === 'finished' || this.ledger.pending().length > 0) return;
    const entries = [...this.tasks.values()];
    if (entries.some((e) => e.phase !== 'terminal')) return;
    if (this.lifecycle === 'shutting-down') void this.exit(EXECUTOR_EXIT_CODES.done, 'shut down');
    else if (entries.length > 0) void this.exit(EXECUTOR_EXIT_CODES.done, 'its task ended and the agent acknowledged that');
  }

  /** Stops what still runs (within the shutdown grace period), closes the agent connections, resolves run(). */
  private async exit(code: number, why: string): Promise<void> {
    if (this.lifecycle === 'finished') return;
    this.lifecycle = 'finished';
    for (const t of [this.recoveryTimer, this.resubscribeTimer, this.updateRetryTimer, this.shutdownTimer]) clearTimeout(t);
    this.subscription?.close();
    this.subscription = undefined;
    // Nothing more goes to the agent: updates of TaskManagers stopped below would race the exit.
    this.connection = 'disconnected';
    const live = [...this.tasks.values()].filter((e) => e.tm !== undefined);
    for (const e of live) {
      clearTimeout(e.registrationTimer);
      e.reporter?.stop();
    }
    await Promise.all(live.map((e) => e.tm!.stop(this.config.shutdownGracePeriodMs * 0.6)));
    // The last reports (e.g. `exited`) are best effort, but worth a short wait.
    await settleWithin([...this.messagesInFlight], 2_000);
    this.o.agent.close();
    this.logger.info(`exiting (${why})`, { code });
    this.finish(code);
  }
}

async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
