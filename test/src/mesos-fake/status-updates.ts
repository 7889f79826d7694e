/**
 * The agent's status update manager: per task, updates are kept in order and only the oldest
 * unacknowledged one is forwarded to the master, again and again (first after
 * `statusUpdateRetryMs`, doubling up to 60×) until the scheduler acknowledges its uuid. Then the
 * next one goes. Duplicate uuids are ignored.
 */
import type { TaskStatus } from '@sluice/mesos-proto';
import type { MasterLink } from './master-agent.js';
import { isTerminal, taskKey, type ClusterState, type FakeAgentState, type PendingUpdate } from './model.js';

const b64 = (u: Uint8Array | undefined): string => (u === undefined ? '' : Buffer.from(u).toString('base64'));

export class StatusUpdateManager {
  private readonly attempts = new Map<string, number>();
  private paused = false;

  constructor(
    private readonly state: ClusterState,
    private readonly agent: FakeAgentState,
    private readonly link: MasterLink,
  ) {}

  /** Queues an update; false when one with the same uuid is already queued (a duplicate). */
  add(frameworkId: string, status: TaskStatus): boolean {
    const key = taskKey(frameworkId, status.task_id.value);
    const queue = this.agent.updates.get(key) ?? [];
    if (queue.some((u) => b64(u.status.uuid) === b64(status.uuid))) return false;
    queue.push({ frameworkId, status });
    this.agent.updates.set(key, queue);
    if (queue.length === 1) this.forward(key);
    this.state.changed();
    return true;
  }

  /** The scheduler acknowledged `uuid` for the task: drop the head and forward the next. */
  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): boolean {
    const key = taskKey(frameworkId, taskId);
    const queue = this.agent.updates.get(key);
    const head = queue?.[0];
    if (queue === undefined || head === undefined || b64(head.status.uuid) !== b64(uuid)) return false;
    queue.shift();
    this.clearTimer(key);
    this.attempts.delete(key);
    if (queue.length > 0) this.forward(key);
    else {
      this.agent.updates.delete(key);
      if (isTerminal(head.status.state)) this.link.taskDone(this.agent, frameworkId, taskId);
    }
    this.state.changed();
    return true;
  }

  /** Drops every pending update of a framework (it was removed). */
  dropFramework(frameworkId: string): void {
    for (const key of [...this.agent.updates.keys()]) {
      if (!key.startsWith(`${frameworkId}/`)) continue;
      this.clearTimer(key);
      this.agent.updates.delete(key);
    }
  }

  /** Stops forwarding (the agent process is down); `resume` forwards every head again at once. */
  pause(): void {
    this.paused = true;
    for (const key of [...this.agent.updateTimers.keys()]) this.clearTimer(key);
  }

  resume(): void {
    this.paused = false;
    for (const key of this.agent.updates.keys()) {
      this.clearTimer(key);
      this.forward(key);
    }
  }

  stop(): void {
    this.pause();
  }

  private forward(key: string): void {
    if (this.paused || this.state.stopped) return;
    const queue = this.agent.updates.get(key);
    const head = queue?.[0];
    if (queue === undefined || head === undefined) return;
    const latest = queue[queue.length - 1]!.status.state;
    this.link.forwardUpdate(this.agent, head as PendingUpdate, latest);
    const attempt = this.attempts.get(key) ?? 0;
    this.attempts.set(key, attempt + 1);
    const base = this.state.options.statusUpdateRetryMs;
    const delay = Math.min(base * 2 ** attempt, base * 60);
    const timer = setTimeout(() => {
      this.agent.updateTimers.delete(key);
      this.forward(key);
    }, delay);
    timer.unref();
    this.agent.updateTimers.set(key, timer);
  }

  private clearTimer(key: string): void {
    const t = this.agent.updateTimers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.agent.updateTimers.delete(key);
  }
}
