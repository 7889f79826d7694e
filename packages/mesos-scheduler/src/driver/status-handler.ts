/**
 * Task status updates → worker events. Each update is processed and recorded first, then
 * acknowledged — and only when it carries a uuid (reconciliation answers and the master's own
 * updates do not). RUNNING starts a worker once; a terminal state removes its record and ends
 * it with a reason naming state, reason and message; UNREACHABLE only waits (the agent may come
 * back; the ResourceManager's heartbeat decides about the TaskManager) and has Mesos asked about
 * the task until it answers something else. A running task this driver gave out but has no
 * record of is killed.
 */
import type { Logger } from '@sluice/common';
import type { SchedulerCall, TaskStatus } from '@sluice/mesos-proto';
import type { MesosDriverMetrics } from './metrics.js';
import { describeStatus, isTerminal, taskNumber } from './task-states.js';
import type { Worker, WorkerTable } from './worker-table.js';

export interface StatusHandlerDeps {
  workers: WorkerTable;
  metrics: MesosDriverMetrics;
  logger: Logger;
  /** Removes the record and the worker; throws when the store refused (the update is then not acknowledged). */
  remove: (w: Worker) => Promise<void>;
  kill: (taskId: string, agentId: string | undefined) => void;
  send: (call: SchedulerCall, what: string) => void;
  /** The task answered reconciliation (any update counts). */
  answered: (taskId: string) => void;
  /** The task is UNREACHABLE (`true`, with its agent) or no longer (`false`): Mesos is asked about it until it is not. */
  unreachable: (taskId: string, agentId: string | undefined, unreachable: boolean) => void;
  started: (w: Worker) => void;
  terminated: (w: Worker, reason: string, failed: boolean) => void;
}

export class StatusHandler {
  constructor(private readonly d: StatusHandlerDeps) {}

  async update(s: TaskStatus): Promise<void> {
    const { d } = this;
    const taskId = s.task_id.value;
    const agentId = s.agent_id?.value;
    const fromReconciliation = s.reason === 'REASON_RECONCILIATION';
    d.answered(taskId);
    const w = d.workers.get(taskId);
    d.unreachable(taskId, agentId ?? w?.agentId, s.state === 'TASK_UNREACHABLE' && w !== undefined);
    if (w === undefined || w.state === 'new') {
      if (w === undefined && !isTerminal(s.state) && taskNumber(taskId) !== undefined) {
        d.logger.warn(`Mesos runs ${taskId} (${s.state}), which Sluice has no record of; killing it`, { agentId: agentId ?? '' });
        d.kill(taskId, agentId);
      } else {
        d.logger.debug('status update of a task without a launched worker', { taskId, state: s.state });
      }
      this.acknowledge(s);
      return;
    }
    if (isTerminal(s.state)) {
      const released = w.state === 'released';
      try {
        await d.remove(w);
      } catch {
        return; // not acknowledged: the agent resends it, or reconciliation asks again
      }
      const reason = released ? `released; ${describeStatus(s)}` : describeStatus(s);
      if (!released) {
        d.metrics.taskFailures.inc({ state: s.state });
        d.logger.warn(`TaskManager task ${taskId} ended: ${reason}`, { resourceId: w.resourceId });
      }
      d.terminated(w, reason, !released);
      this.acknowledge(s);
      return;
    }
    if (w.state === 'released') {
      // Still there after a KILL: a reconciliation answer says the KILL did not take (or was lost).
      if (fromReconciliation && s.state !== 'TASK_KILLING') d.kill(taskId, agentId ?? w.agentId);
    } else if (s.state === 'TASK_RUNNING') {
      if (!w.started) {
        w.started = true;
        d.logger.info(fromReconciliation ? 'adopted a running TaskManager' : 'TaskManager task running', { taskId, resourceId: w.resourceId });
        d.started(w);
      }
    } else if (s.state === 'TASK_UNREACHABLE' && !fromReconciliation) {
      d.logger.warn(`TaskManager task ${taskId} is unreachable (${describeStatus(s)}); waiting for its agent, the ResourceManager's heartbeat decides about the TaskManager`);
    } else {
      d.logger.debug('task status', { taskId, state: s.state });
    }
    this.acknowledge(s);
  }

  private acknowledge(s: TaskStatus): void {
    if (s.uuid === undefined || s.uuid.length === 0) return;
    if (s.agent_id === undefined) {
      this.d.logger.warn('a status update with a uuid but no agent id cannot be acknowledged', { taskId: s.task_id.value, state: s.state });
      return;
    }
    this.d.send({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid } }, `ACKNOWLEDGE of ${s.task_id.value} ${s.state}`);
  }
}
