/**
 * What the executor must not lose until the agent has it: every status update until an
 * ACKNOWLEDGED with its task id and uuid arrives, and every launched TaskInfo until one of its
 * updates is acknowledged. Both go into the next SUBSCRIBE (unacknowledged_updates,
 * unacknowledged_tasks), which is how the agent learns what happened while it was away. Pure.
 */
import { randomUUID } from 'node:crypto';
import type { ExecutorCallUpdate, TaskInfo, TaskStatus } from '@sluice/mesos-proto';

/** 16 raw bytes of a random RFC-4122 version-4 UUID: what the agent requires in `status.uuid`. */
export function newStatusUuid(): Buffer {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
}

export interface PendingUpdate {
  readonly status: TaskStatus;
  /** The agent answered 202 to it (or took it in a SUBSCRIBE that was answered). */
  delivered: boolean;
}

export class StatusLedger {
  private readonly updates: PendingUpdate[] = [];
  private readonly tasks = new Map<string, TaskInfo>();

  /** A launched task, unacknowledged until an update of it is. */
  launched(task: TaskInfo): void {
    this.tasks.set(task.task_id.value, task);
  }

  /** Keeps an update (carrying a uuid) until it is acknowledged. */
  add(status: TaskStatus): PendingUpdate {
    const pending: PendingUpdate = { status, delivered: false };
    this.updates.push(pending);
    return pending;
  }

  /**
   * An ACKNOWLEDGED event: drops the update with this task id and uuid, and the task from the
   * unacknowledged ones. Returns the update, or undefined for an unknown or repeated one.
   */
  acknowledge(taskId: string, uuid: Uint8Array): TaskStatus | undefined {
    const i = this.updates.findIndex((u) => u.status.task_id.value === taskId && u.status.uuid !== undefined && Buffer.from(u.status.uuid).equals(Buffer.from(uuid)));
    if (i < 0) return undefined;
    const [update] = this.updates.splice(i, 1);
    this.tasks.delete(taskId);
    return update!.status;
  }

  /** The updates not yet acknowledged, oldest first. */
  pending(): readonly PendingUpdate[] {
    return this.updates;
  }


  /** The SUBSCRIBE payload: every unacknowledged update and task. */
  subscribePayload(): { unacknowledged_tasks: TaskInfo[]; unacknowledged_updates: ExecutorCallUpdate[] } {
    return {
      unacknowledged_tasks: [...this.tasks.values()],
      unacknowledged_updates: this.updates.map((u) => ({ status: u.status })),
    };
  }
}
