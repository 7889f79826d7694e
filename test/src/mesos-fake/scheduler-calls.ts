/**
 * The scheduler calls after the HTTP checks (master.ts): ACCEPT (offer and task validation,
 * launches, reservations), DECLINE, REVIVE, SUPPRESS, KILL, SHUTDOWN, ACKNOWLEDGE, RECONCILE,
 * MESSAGE and UPDATE_FRAMEWORK, with the master-generated status updates Mesos sends.
 */
import type { OfferOperation, Resource, SchedulerCall, TaskInfo, TaskStatus } from '@sluice/mesos-proto';
import { validateLaunches, validateOffers } from './accept-validation.js';
import type { MasterCore } from './master-core.js';
import { hasCapability, taskKey, type FakeAgentState, type FakeFramework, type FakeTask } from './model.js';
import { addInto, fromWire, subtract, sum, withAllocation, type Res } from './resources.js';

const DEFAULT_REFUSE_SECONDS = 5;

/** Handles a validated call from a subscribed framework; returns the HTTP status to answer. */
export function handleSchedulerCall(core: MasterCore, framework: FakeFramework, call: SchedulerCall): number {
  switch (call.type) {
    case 'TEARDOWN':
      core.removeFramework(framework);
      return 202;
    case 'ACCEPT':
      accept(core, framework, call.accept ?? {});
      return 202;
    case 'DECLINE':
      for (const id of call.decline?.offer_ids ?? []) {
        const offer = core.state.offers.get(id.value);
        if (offer?.frameworkId === framework.id) core.allocator.recover(id.value, call.decline?.filters?.refuse_seconds ?? DEFAULT_REFUSE_SECONDS);
      }
      return 202;
    case 'REVIVE': {
      const roles = call.revive?.roles ?? [];
      for (const role of roles.length === 0 ? framework.roles : roles) {
        framework.suppressedRoles.delete(role);
        for (const key of [...framework.filters.keys()]) if (key.startsWith(`${role}\n`)) framework.filters.delete(key);
      }
      core.allocator.schedule();
      return 202;
    }
    case 'SUPPRESS': {
      const roles = call.suppress?.roles ?? [];
      for (const role of roles.length === 0 ? framework.roles : roles) framework.suppressedRoles.add(role);
      return 202;
    }
    case 'KILL':
      kill(core, framework, call.kill?.task_id.value ?? '');
      return 202;
    case 'SHUTDOWN': {
      const agent = core.state.agent(call.shutdown?.agent_id.value ?? '');
      if (agent !== undefined) core.gateway(agent)?.shutdownExecutor(framework.id, call.shutdown?.executor_id.value ?? '');
      return 202;
    }
    case 'ACKNOWLEDGE': {
      const ack = call.acknowledge;
      const agent = ack === undefined ? undefined : core.state.agent(ack.agent_id.value);
      if (ack !== undefined && agent !== undefined) core.gateway(agent)?.acknowledge(framework.id, ack.task_id.value, ack.uuid);
      return 202;
    }
    case 'RECONCILE':
      reconcile(core, framework, call.reconcile?.tasks ?? []);
      return 202;
    case 'MESSAGE': {
      const m = call.message;
      const agent = m === undefined ? undefined : core.state.agent(m.agent_id.value);
      // Framework messages are best effort: dropped when the fault says so or the agent is cut off.
      if (m !== undefined && agent !== undefined && !core.state.dropFrameworkMessages) core.gateway(agent)?.frameworkMessage(framework.id, m.executor_id.value, m.data);
      return 202;
    }
    case 'UPDATE_FRAMEWORK': {
      const info = call.update_framework?.framework_info;
      if (info === undefined) return 400;
      const capabilities = new Set((info.capabilities ?? []).map((c) => c.type ?? 'UNKNOWN'));
      framework.info = { ...structuredClone(info), id: { value: framework.id } };
      framework.capabilities = capabilities;
      framework.roles = capabilities.has('MULTI_ROLE') ? [...(info.roles ?? [])] : [info.role ?? '*'];
      framework.suppressedRoles = new Set(call.update_framework?.suppressed_roles ?? []);
      core.allocator.schedule();
      return 200;
    }
    case 'REQUEST':
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
    case 'ACKNOWLEDGE_OPERATION_STATUS':
    case 'RECONCILE_OPERATIONS':
      return 202;
    default:
      return 501;
  }
}

function accept(core: MasterCore, framework: FakeFramework, accept: NonNullable<SchedulerCall['accept']>): void {
  const state = core.state;
  const offerIds = (accept.offer_ids ?? []).map((o) => o.value);
  const operations = accept.operations ?? [];
  const launches = operations.filter((op) => op.type === 'LAUNCH').flatMap((op) => op.launch?.task_infos ?? []);
  const { offers, error } = validateOffers(offerIds, (id) => state.offers.get(id), framework.id);
  if (error !== undefined) {
    for (const offer of offers) core.allocator.recover(offer.id, undefined);
    const lost = hasCapability(framework, 'PARTITION_AWARE') ? 'TASK_DROPPED' : 'TASK_LOST';
    for (const task of launches) rejectTask(core, framework, task, lost, 'REASON_INVALID_OFFERS', `Task launched with invalid offers: ${error}`);
    return;
  }
  const first = offers[0];
  const agent = first === undefined ? undefined : state.agent(first.agentId);
  if (first === undefined || agent === undefined) return;
  let remaining = sum(...offers.map((o) => o.resources));
  for (const offer of offers) {
    state.offers.delete(offer.id);
    if (offer.timer !== undefined) clearTimeout(offer.timer);
  }
  for (const op of operations) remaining = applyOperation(core, framework, agent, first.role, op, remaining);
  core.allocator.filter(framework, first.role, agent.id, accept.filters?.refuse_seconds ?? DEFAULT_REFUSE_SECONDS, remaining);
  core.allocator.schedule();
  state.changed();
}

function applyOperation(core: MasterCore, framework: FakeFramework, agent: FakeAgentState, role: string, op: OfferOperation, offered: Res[]): Res[] {
  if (op.type === 'RESERVE' || op.type === 'UNRESERVE') {
    const resources = (op.type === 'RESERVE' ? op.reserve?.resources : op.unreserve?.resources) ?? [];
    return changeReservations(agent, resources, op.type === 'RESERVE', offered, role) ?? offered;
  }
  if (op.type !== 'LAUNCH') return offered;
  const existingExecutors = new Map([...agent.executors.values()].filter((e) => e.frameworkId === framework.id && e.phase !== 'terminated').map((e) => [e.executorId, e.info]));
  const existingTaskIds = new Set([...core.state.tasks.values()].filter((t) => t.frameworkId === framework.id).map((t) => t.taskId));
  const { verdicts, remaining } = validateLaunches(op.launch?.task_infos ?? [], offered, { frameworkId: framework.id, agentId: agent.id, role, existingExecutors, existingTaskIds });
  for (const verdict of verdicts) {
    if (!verdict.ok) {
      rejectTask(core, framework, verdict.task, 'TASK_ERROR', 'REASON_TASK_INVALID', verdict.message);
      continue;
    }
    const task: FakeTask = {
      taskId: verdict.task.task_id.value, frameworkId: framework.id, agentId: agent.id, executorId: verdict.executor?.executor_id.value,
      info: structuredClone(verdict.task), resources: verdict.resources, state: 'TASK_STAGING', statuses: [], history: ['TASK_STAGING'],
    };
    core.state.tasks.set(taskKey(framework.id, task.taskId), task);
    const gateway = core.gateway(agent);
    if (verdict.executor === undefined) {
      // No command executor in the fake: the agent would run one; here the task fails at once.
      core.state.recordTaskState(task, 'TASK_FAILED');
      core.sendStatus(framework, { ...core.masterStatus({ taskId: task.taskId, agentId: agent.id }, 'TASK_FAILED', 'REASON_COMMAND_EXECUTOR_FAILED', 'The Mesos fake has no command executor: launch tasks with a custom ExecutorInfo'), source: 'SOURCE_AGENT' });
      core.completeTask(task);
    } else gateway?.runTask(framework, verdict.executor, verdict.executorResources, verdict.task);
  }
  return remaining;
}

/**
 * Turns offered unreserved (or parent-reserved) resources into dynamically reserved ones, or
 * back: the agent's total changes and so does what is left of the offer. undefined when the
 * offer does not hold what the operation names.
 */
export function changeReservations(agent: FakeAgentState, resources: Resource[], reserve: boolean, offered: Res[] | undefined, role: string | undefined): Res[] | undefined {
  const target: Res[] = [];
  const source: Res[] = [];
  for (const r of resources) {
    const res = fromWire(r);
    if (typeof res === 'string' || res.reservations.length === 0) return undefined;
    const last = res.reservations.at(-1);
    if (last !== undefined && last.type === undefined) last.type = 'DYNAMIC';
    if (last?.type !== 'DYNAMIC') return undefined;
    const parent = { ...res, reservations: res.reservations.slice(0, -1) };
    addInto(target, reserve ? res : parent);
    addInto(source, reserve ? parent : res);
  }
  const bare = (list: Res[]): Res[] => withAllocation(list, undefined);
  const total = subtract(agent.total, bare(source));
  if (total === undefined) return undefined;
  let left = offered;
  if (offered !== undefined) {
    left = subtract(offered, withAllocation(source, role));
    if (left === undefined) return undefined;
    left = sum(left, withAllocation(target, role));
  }
  agent.total = sum(total, bare(target));
  return left ?? [];
}

function rejectTask(core: MasterCore, framework: FakeFramework, task: TaskInfo, state: TaskStatus['state'], reason: TaskStatus['reason'], message: string): void {
  const record: FakeTask = {
    taskId: task.task_id.value, frameworkId: framework.id, agentId: task.agent_id.value, executorId: task.executor?.executor_id.value,
    info: structuredClone(task), resources: [], state, statuses: [], history: [state],
  };
  core.state.completedTasks.push(record);
  core.sendStatus(framework, core.masterStatus({ taskId: record.taskId, agentId: record.agentId }, state, reason, message));
}

function kill(core: MasterCore, framework: FakeFramework, taskId: string): void {
  const task = core.state.tasks.get(taskKey(framework.id, taskId));
  if (task === undefined) {
    core.sendStatus(framework, core.masterStatus({ taskId }, 'TASK_LOST', 'REASON_RECONCILIATION', 'Attempted to kill an unknown task'));
    return;
  }
  const agent = core.state.agent(task.agentId);
  if (agent !== undefined) core.gateway(agent)?.killTask(framework.id, taskId, task.info);
}

function reconcile(core: MasterCore, framework: FakeFramework, tasks: { task_id: { value: string }; agent_id?: { value: string } }[]): void {
  const partitionAware = hasCapability(framework, 'PARTITION_AWARE');
  const latest = (task: FakeTask): TaskStatus => ({
    ...core.masterStatus({ taskId: task.taskId, agentId: task.agentId, ...(task.executorId === undefined ? {} : { executorId: task.executorId }) }, task.state, 'REASON_RECONCILIATION', 'Reconciliation: Latest task state'),
  });
  if (tasks.length === 0) {
    for (const task of core.state.tasks.values()) if (task.frameworkId === framework.id) core.sendStatus(framework, latest(task));
    return;
  }
  for (const { task_id, agent_id } of tasks) {
    const task = core.state.tasks.get(taskKey(framework.id, task_id.value));
    if (task !== undefined) {
      core.sendStatus(framework, latest(task));
      continue;
    }
    const agent = agent_id === undefined ? undefined : core.state.agent(agent_id.value);
    let state: TaskStatus['state'] = 'TASK_UNKNOWN';
    let message = 'Reconciliation: Task is unknown';
    if (agent?.partitioned === true) {
      state = 'TASK_UNREACHABLE';
      message = 'Reconciliation: Task is unreachable';
    } else if (agent !== undefined) {
      state = 'TASK_GONE';
      message = 'Reconciliation: Task is unknown to the agent';
    }
    const status = core.masterStatus({ taskId: task_id.value, ...(agent_id === undefined ? {} : { agentId: agent_id.value }) }, partitionAware ? state : 'TASK_LOST', 'REASON_RECONCILIATION', message);
    core.sendStatus(framework, status);
  }
}
