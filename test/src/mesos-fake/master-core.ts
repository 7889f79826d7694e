/**
 * The master's framework side: subscriptions (one stream per framework, failover, heartbeats),
 * disconnection and the failover timeout, framework removal, and delivery of events to a
 * framework's stream (with the capability rules: partition states and TASK_KILLING only to
 * frameworks that declared them). The scheduler calls themselves are in scheduler-calls.ts.
 */
import type { ServerResponse } from 'node:http';
import {
  encodeSchedulerEvent, type ExecutorInfo, type FrameworkInfo, type MasterInfo, type MesosEncoding, type SchedulerCallSubscribe, type SchedulerEvent,
  type TaskInfo, type TaskStatus,
} from '@sluice/mesos-proto';
import { EventStream } from './http-util.js';
import {
  PARTITION_STATES, hasCapability, isTerminal, randomId, taskKey, type ClusterState, type FakeAgentState, type FakeFramework,
  type FakeTask,
} from './model.js';
import { Allocator } from './offers.js';
import type { Res } from './resources.js';

/** What the master asks of an agent. Calls to a partitioned agent are dropped by the master. */
export interface AgentGateway {
  runTask(framework: FakeFramework, executor: ExecutorInfo, executorResources: Res[], task: TaskInfo): void;
  killTask(frameworkId: string, taskId: string, task: TaskInfo | undefined): void;
  shutdownExecutor(frameworkId: string, executorId: string): void;
  frameworkMessage(frameworkId: string, executorId: string, data: Uint8Array): void;
  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): void;
  shutdownFramework(frameworkId: string): void;
}

export function encodeEvent(event: unknown, encoding: MesosEncoding): Buffer {
  return encodeSchedulerEvent(event as SchedulerEvent, encoding, { mesosDefaults: true });
}

export class MasterCore {
  readonly allocator: Allocator;
  readonly agentGateways = new Map<string, AgentGateway>();
  /** Per master index: its port (set by master.ts once listening). */
  readonly masterPorts: number[] = [];

  constructor(readonly state: ClusterState) {
    this.allocator = new Allocator(
      state,
      (framework, offers) => this.send(framework, { type: 'OFFERS', offers: { offers } }),
      (framework, offerId) => this.send(framework, { type: 'RESCIND', rescind: { offer_id: { value: offerId } } }),
    );
  }

  gateway(agent: FakeAgentState): AgentGateway | undefined {
    // A partitioned agent does not hear from the master.
    if (agent.partitioned) return undefined;
    return this.agentGateways.get(agent.id);
  }

  /** Sends an event on the framework's current stream; false when it is not connected. */
  send(framework: FakeFramework, event: SchedulerEvent): boolean {
    const stream = framework.stream;
    if (stream === undefined || stream.closed) return false;
    this.state.events.push({ frameworkId: framework.id, event });
    const ok = stream.send(event);
    this.state.changed();
    return ok;
  }

  /**
   * Sends a task status to its framework, translated for its capabilities: 'skipped' when it is
   * not meant for this framework (TASK_KILLING without TASK_KILLING_STATE), 'undelivered' when
   * the framework is not connected.
   */
  sendStatus(framework: FakeFramework, status: TaskStatus): 'sent' | 'skipped' | 'undelivered' {
    let out = status;
    if (status.state === 'TASK_KILLING' && !hasCapability(framework, 'TASK_KILLING_STATE')) return 'skipped';
    if (PARTITION_STATES.has(status.state) && !hasCapability(framework, 'PARTITION_AWARE')) out = { ...status, state: 'TASK_LOST' };
    const task = this.state.tasks.get(taskKey(framework.id, status.task_id.value)) ?? this.state.completedTasks.find((t) => t.frameworkId === framework.id && t.taskId === status.task_id.value);
    const sent = this.send(framework, { type: 'UPDATE', update: { status: out } });
    if (sent && task !== undefined) task.statuses.push(out);
    return sent ? 'sent' : 'undelivered';
  }

  /** A status the master itself generates: source MASTER, no uuid (needs no acknowledgement). */
  masterStatus(task: { taskId: string; agentId?: string; executorId?: string }, state: TaskStatus['state'], reason: TaskStatus['reason'], message: string): TaskStatus {
    const status: TaskStatus = { task_id: { value: task.taskId }, state, source: 'SOURCE_MASTER', timestamp: Date.now() / 1000, message };
    if (reason !== undefined) status.reason = reason;
    if (task.agentId !== undefined) status.agent_id = { value: task.agentId };
    if (task.executorId !== undefined) status.executor_id = { value: task.executorId };
    return status;
  }

  masterInfo(index: number): MasterInfo {
    const port = this.masterPorts[index] ?? 0;
    // 127.0.0.1 as Mesos stores it: the network-order bytes read as a little-endian uint32.
    return {
      id: `${this.state.masterId}-${index}`,
      ip: 16777343,
      port,
      pid: `master@127.0.0.1:${port}`,
      hostname: '127.0.0.1',
      version: '1.11.0',
      address: { hostname: '127.0.0.1', ip: '127.0.0.1', port },
    };
  }

  /** Checks FrameworkInfo as the master does on SUBSCRIBE; the message goes out as an ERROR event. */
  validateFrameworkInfo(info: FrameworkInfo): string | undefined {
    const multiRole = (info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE');
    const roles = info.roles ?? [];
    if (multiRole && info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable; use 'FrameworkInfo.roles'";
    if (!multiRole && roles.length > 0) return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
    if (new Set(roles).size !== roles.length) return "'FrameworkInfo.roles' contains duplicate items";
    for (const role of multiRole ? roles : [info.role ?? '*']) {
      if (role === '' || role.startsWith('/') || role.endsWith('/') || role.includes('//') || /\s/.test(role) || role === '.' || role === '..') return `Role '${role}' is invalid`;
    }
    return undefined;
  }

  /** SUBSCRIBE over HTTP: the response becomes the framework's event stream. */
  subscribe(res: ServerResponse, encoding: MesosEncoding, subscribe: SchedulerCallSubscribe, masterIndex: number): void {
    const streamId = randomId();
    const stream = new EventStream(res, encoding, streamId, encodeEvent, { 'Mesos-Stream-Id': streamId });
    const info = structuredClone(subscribe.framework_info);
    const fail = (message: string): void => {
      stream.send({ type: 'ERROR', error: { message } });
      stream.close();
    };
    const invalid = this.validateFrameworkInfo(info);
    if (invalid !== undefined) return fail(invalid);
    const requestedId = info.id?.value;
    if (requestedId !== undefined && this.state.removedFrameworks.has(requestedId)) return fail('Framework has been removed');
    let framework = requestedId === undefined ? undefined : this.state.frameworks.get(requestedId);
    const id = requestedId ?? this.state.frameworkId();
    info.id = { value: id };
    const capabilities = new Set((info.capabilities ?? []).map((c) => c.type ?? 'UNKNOWN'));
    const roles = capabilities.has('MULTI_ROLE') ? [...(info.roles ?? [])] : [info.role ?? '*'];
    if (framework === undefined) {
      framework = {
        id, info, capabilities, roles, stream: undefined, streamId: undefined, suppressedRoles: new Set(), filters: new Map(),
        disconnectedAt: undefined, failoverTimer: undefined, registeredAt: Date.now(), streamIds: [],
      };
      this.state.frameworks.set(id, framework);
    } else {
      const old = framework.stream;
      if (old !== undefined && !old.closed) {
        this.state.events.push({ frameworkId: id, event: { type: 'ERROR', error: { message: 'Framework failed over' } } });
        old.send({ type: 'ERROR', error: { message: 'Framework failed over' } });
        old.close();
      }
      Object.assign(framework, { info, capabilities, roles });
    }
    if (framework.failoverTimer !== undefined) clearTimeout(framework.failoverTimer);
    framework.failoverTimer = undefined;
    framework.disconnectedAt = undefined;
    framework.suppressedRoles = new Set((subscribe.suppressed_roles ?? []).filter((r) => roles.includes(r)));
    framework.stream = stream;
    framework.streamId = streamId;
    framework.streamIds.push(streamId);
    const subscribed = framework;
    stream.onClose(() => this.disconnected(subscribed, stream));
    this.send(framework, {
      type: 'SUBSCRIBED',
      subscribed: { framework_id: { value: id }, heartbeat_interval_seconds: this.state.options.heartbeatIntervalSeconds, master_info: this.masterInfo(masterIndex) },
    });
    this.send(framework, { type: 'HEARTBEAT' });
    stream.heartbeat = setInterval(() => this.send(subscribed, { type: 'HEARTBEAT' }), this.state.options.heartbeatIntervalSeconds * 1000);
    stream.heartbeat.unref();
    this.allocator.schedule();
    this.state.changed();
  }

  private disconnected(framework: FakeFramework, stream: EventStream): void {
    if (framework.stream !== stream) return;
    framework.stream = undefined;
    framework.disconnectedAt = Date.now();
    this.allocator.dropOffers((o) => o.frameworkId === framework.id);
    if (!this.state.stopped) {
      const timeoutMs = Math.max(0, (framework.info.failover_timeout ?? 0) * 1000);
      framework.failoverTimer = setTimeout(() => this.removeFramework(framework), Math.min(timeoutMs, 2 ** 31 - 1));
      framework.failoverTimer.unref();
    }
    this.state.changed();
  }

  /** TEARDOWN, failover timeout or operator teardown: every executor shut down, tasks killed, the id retired. */
  removeFramework(framework: FakeFramework): void {
    if (framework.failoverTimer !== undefined) clearTimeout(framework.failoverTimer);
    framework.failoverTimer = undefined;
    this.state.frameworks.delete(framework.id);
    this.state.removedFrameworks.add(framework.id);
    this.allocator.dropOffers((o) => o.frameworkId === framework.id);
    for (const task of [...this.state.tasks.values()]) {
      if (task.frameworkId !== framework.id) continue;
      if (!isTerminal(task.state)) this.state.recordTaskState(task, 'TASK_KILLED');
      this.completeTask(task);
    }
    for (const agent of this.state.agents) this.gateway(agent)?.shutdownFramework(framework.id);
    const stream = framework.stream;
    framework.stream = undefined;
    stream?.close();
    this.allocator.schedule();
    this.state.changed();
  }

  /** Moves a task to the completed list (after its terminal update was acknowledged, or removal). */
  completeTask(task: FakeTask): void {
    const key = taskKey(task.frameworkId, task.taskId);
    if (this.state.tasks.get(key) !== task) return;
    this.state.tasks.delete(key);
    this.state.completedTasks.push(task);
    this.allocator.schedule();
  }

  /** Every open scheduler stream closed (master failover): frameworks reconnect to the new leader. */
  closeAllStreams(): void {
    for (const framework of this.state.frameworks.values()) {
      const stream = framework.stream;
      stream?.close();
    }
  }

  stop(): void {
    this.allocator.stop();
    for (const framework of this.state.frameworks.values()) {
      if (framework.failoverTimer !== undefined) clearTimeout(framework.failoverTimer);
      framework.stream?.destroy();
    }
  }
}
