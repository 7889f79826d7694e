/**
 * What agents tell the master, and the master's reaction: status updates forwarded to the
 * framework (the master's task state follows the agent's latest state), executor messages,
 * executor exits (FAILURE), and an agent's partition and healing. Messages from a partitioned
 * agent never arrive.
 */
import type { FrameworkInfo, TaskState, TaskStatus } from '@sluice/mesos-proto';
import type { MasterCore } from './master-core.js';
import { hasCapability, isTerminal, taskKey, type FakeAgentState, type PendingUpdate } from './model.js';

export class MasterLink {
  constructor(private readonly core: MasterCore) {}

  private get state() {
    return this.core.state;
  }

  frameworkInfo(frameworkId: string): FrameworkInfo | undefined {
    return this.state.frameworks.get(frameworkId)?.info;
  }

  /** The agent forwards the head of a task's update stream; `latest` is the newest state it holds. */
  forwardUpdate(agent: FakeAgentState, update: PendingUpdate, latest: TaskState): void {
    if (agent.partitioned || this.state.leader === undefined) return;
    const task = this.state.tasks.get(taskKey(update.frameworkId, update.status.task_id.value));
    if (task !== undefined && task.state !== latest) {
      this.state.recordTaskState(task, latest);
      if (isTerminal(latest)) this.core.allocator.schedule();
    }
    const framework = this.state.frameworks.get(update.frameworkId);
    if (framework === undefined) return;
    const outcome = this.core.sendStatus(framework, update.status);
    // An update the framework must not see (TASK_KILLING) is acknowledged on its behalf.
    if (outcome === 'skipped' && update.status.uuid !== undefined) {
      const gateway = this.core.gateway(agent);
      queueMicrotask(() => gateway?.acknowledge(update.frameworkId, update.status.task_id.value, update.status.uuid!));
    }
    this.state.changed();
  }

  /** The terminal update of a task was acknowledged: the agent forgets it, the master completes it. */
  taskDone(agent: FakeAgentState, frameworkId: string, taskId: string): void {
    if (agent.partitioned) return;
    const task = this.state.tasks.get(taskKey(frameworkId, taskId));
    if (task !== undefined && isTerminal(task.state)) this.core.completeTask(task);
    this.state.changed();
  }

  executorMessage(agent: FakeAgentState, frameworkId: string, executorId: string, data: Uint8Array): void {
    if (agent.partitioned || this.state.dropFrameworkMessages) return;
    const framework = this.state.frameworks.get(frameworkId);
    if (framework === undefined) return;
    this.core.send(framework, { type: 'MESSAGE', message: { agent_id: { value: agent.id }, executor_id: { value: executorId }, data } });
  }

  /** A custom executor exited: FAILURE with its wait status; its resources are free again. */
  executorTerminated(agent: FakeAgentState, frameworkId: string, executorId: string, waitStatus: number | undefined): void {
    this.core.allocator.schedule();
    if (agent.partitioned) return;
    const framework = this.state.frameworks.get(frameworkId);
    if (framework === undefined) return;
    const failure: { agent_id: { value: string }; executor_id: { value: string }; status?: number } = { agent_id: { value: agent.id }, executor_id: { value: executorId } };
    if (waitStatus !== undefined) failure.status = waitStatus;
    this.core.send(framework, { type: 'FAILURE', failure });
  }

  /**
   * A status the agent sends on the master's behalf without an executor update (used when the
   * agent restarted and forgot a non-checkpointing framework's tasks): no uuid.
   */
  taskGone(agent: FakeAgentState, frameworkId: string, taskId: string, reason: NonNullable<TaskStatus['reason']>, message: string): void {
    const task = this.state.tasks.get(taskKey(frameworkId, taskId));
    if (task === undefined || isTerminal(task.state)) return;
    const framework = this.state.frameworks.get(frameworkId);
    const state: TaskState = framework !== undefined && hasCapability(framework, 'PARTITION_AWARE') ? 'TASK_GONE' : 'TASK_LOST';
    this.state.recordTaskState(task, state);
    if (framework !== undefined) this.core.sendStatus(framework, this.core.masterStatus({ taskId, agentId: agent.id }, state, reason, message));
    this.core.completeTask(task);
  }

  /** The agent process went away (restart): its offers are rescinded. */
  agentDown(agent: FakeAgentState): void {
    this.core.allocator.rescindWhere((o) => o.agentId === agent.id);
    this.state.changed();
  }

  agentUp(): void {
    this.core.allocator.schedule();
    this.state.changed();
  }

  /** The master loses the agent: its tasks become unreachable, its offers are rescinded, FAILURE to everyone. */
  partition(agent: FakeAgentState): void {
    if (agent.partitioned) return;
    this.core.allocator.rescindWhere((o) => o.agentId === agent.id);
    agent.partitioned = true;
    const now = Date.now();
    for (const task of this.state.tasks.values()) {
      if (task.agentId !== agent.id || isTerminal(task.state)) continue;
      this.state.recordTaskState(task, 'TASK_UNREACHABLE');
      const framework = this.state.frameworks.get(task.frameworkId);
      if (framework === undefined) continue;
      const status: TaskStatus = {
        ...this.core.masterStatus({ taskId: task.taskId, agentId: agent.id, ...(task.executorId === undefined ? {} : { executorId: task.executorId }) }, 'TASK_UNREACHABLE', 'REASON_AGENT_REMOVED', `Agent ${agent.hostname} is unreachable`),
        unreachable_time: { nanoseconds: String(BigInt(now) * 1_000_000n) },
      };
      this.core.sendStatus(framework, status);
    }
    for (const framework of this.state.frameworks.values()) this.core.send(framework, { type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
    this.state.changed();
  }

  /**
   * The agent reregisters. Tasks of PARTITION_AWARE frameworks continue with the state the agent
   * holds (the scheduler learns it by reconciliation or the agent's next updates); tasks of other
   * frameworks are killed, as Mesos does, and stay LOST at the master.
   */
  heal(agent: FakeAgentState, agentTaskState: (frameworkId: string, taskId: string) => TaskState | undefined): void {
    if (!agent.partitioned) return;
    agent.partitioned = false;
    const gateway = this.core.gateway(agent);
    for (const task of [...this.state.tasks.values()]) {
      if (task.agentId !== agent.id || task.state !== 'TASK_UNREACHABLE') continue;
      const framework = this.state.frameworks.get(task.frameworkId);
      const known = agentTaskState(task.frameworkId, task.taskId);
      if (framework !== undefined && hasCapability(framework, 'PARTITION_AWARE') && known !== undefined) {
        this.state.recordTaskState(task, known);
        continue;
      }
      this.state.recordTaskState(task, 'TASK_LOST');
      gateway?.killTask(task.frameworkId, task.taskId, task.info);
      this.core.completeTask(task);
    }
    this.core.allocator.schedule();
    this.state.changed();
  }
}
