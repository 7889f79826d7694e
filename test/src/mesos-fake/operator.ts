/**
 * The master's plain operator endpoints, enough for tests and tooling: `/master/state` (alias
 * `/state`), `/master/frameworks`, `/master/tasks`, `/master/slaves`, `/master/redirect`,
 * `/health`, `/version`, `/metrics/snapshot` and `POST /master/teardown`. JSON shapes follow
 * Mesos's informal ones (field names as Mesos writes them), with resources as Mesos's maps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer, answerJson } from './http-util.js';
import type { MasterCore } from './master-core.js';
import { isTerminal, type FakeAgentState, type FakeFramework, type FakeTask } from './model.js';
import { scalarOf, sum, type Res } from './resources.js';

function resourceMap(list: Res[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const name of new Set(list.map((r) => r.name))) {
    const entries = list.filter((r) => r.name === name);
    const first = entries[0];
    if (first?.type === 'SCALAR') out[name] = scalarOf(entries, name);
    else if (first?.type === 'RANGES') out[name] = `[${entries.flatMap((r) => r.ranges ?? []).map(([b, e]) => `${b}-${e}`).join(', ')}]`;
    else out[name] = `{${entries.flatMap((r) => r.set ?? []).join(', ')}}`;
  }
  return out;
}

function taskJson(task: FakeTask): Record<string, unknown> {
  return {
    id: task.taskId,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: task.executorId ?? '',
    slave_id: task.agentId,
    state: task.state,
    resources: resourceMap(task.resources),
    statuses: task.statuses.map((s) => ({ state: s.state, timestamp: s.timestamp })),
  };
}

function frameworkJson(core: MasterCore, f: FakeFramework): Record<string, unknown> {
  const tasks = [...core.state.tasks.values()].filter((t) => t.frameworkId === f.id);
  return {
    id: f.id,
    name: f.info.name,
    user: f.info.user,
    roles: f.roles,
    principal: f.info.principal,
    capabilities: [...f.capabilities],
    failover_timeout: f.info.failover_timeout ?? 0,
    checkpoint: f.info.checkpoint ?? false,
    active: f.stream !== undefined && !f.stream.closed,
    connected: f.stream !== undefined && !f.stream.closed,
    registered_time: f.registeredAt / 1000,
    used_resources: resourceMap(sum(...tasks.filter((t) => !isTerminal(t.state)).map((t) => t.resources))),
    offered_resources: resourceMap(sum(...[...core.state.offers.values()].filter((o) => o.frameworkId === f.id).map((o) => o.resources))),
    tasks: tasks.map(taskJson),
    completed_tasks: core.state.completedTasks.filter((t) => t.frameworkId === f.id).map(taskJson),
    offers: [...core.state.offers.values()].filter((o) => o.frameworkId === f.id).map((o) => ({ id: o.id, framework_id: o.frameworkId, slave_id: o.agentId, resources: resourceMap(o.resources) })),
  };
}

function agentJson(core: MasterCore, a: FakeAgentState): Record<string, unknown> {
  return {
    id: a.id,
    pid: `slave(1)@${a.ip}:${a.port}`,
    hostname: a.hostname,
    port: a.port,
    resources: resourceMap(a.total),
    used_resources: resourceMap(core.allocator.used(a)),
    offered_resources: resourceMap(core.allocator.offered(a)),
    reserved_resources: resourceMap(a.total.filter((r) => r.reservations.length > 0)),
    unreserved_resources: resourceMap(a.total.filter((r) => r.reservations.length === 0)),
    attributes: Object.fromEntries(a.attributes.map((x) => [x.name, x.text?.value ?? x.scalar?.value ?? x.ranges ?? x.set])),
    domain: a.domain,
    active: !a.partitioned && !a.down,
  };
}

function metrics(core: MasterCore, index: number): Record<string, number> {
  const s = core.state;
  const tasks = [...s.tasks.values(), ...s.completedTasks];
  const count = (state: string): number => tasks.filter((t) => t.state === state).length;
  const connected = [...s.frameworks.values()].filter((f) => f.stream !== undefined && !f.stream.closed).length;
  return {
    'master/elected': s.leader === index ? 1 : 0,
    'master/uptime_secs': (Date.now() - s.startedAt) / 1000,
    'master/frameworks_active': connected,
    'master/frameworks_connected': connected,
    'master/frameworks_disconnected': s.frameworks.size - connected,
    'master/slaves_active': s.agents.filter((a) => !a.partitioned && !a.down).length,
    'master/slaves_connected': s.agents.filter((a) => !a.partitioned && !a.down).length,
    'master/slaves_unreachable': s.agents.filter((a) => a.partitioned).length,
    'master/tasks_staging': count('TASK_STAGING'),
    'master/tasks_starting': count('TASK_STARTING'),
    'master/tasks_running': count('TASK_RUNNING'),
    'master/tasks_killing': count('TASK_KILLING'),
    'master/tasks_finished': count('TASK_FINISHED'),
    'master/tasks_failed': count('TASK_FAILED'),
    'master/tasks_killed': count('TASK_KILLED'),
    'master/tasks_lost': count('TASK_LOST'),
    'master/tasks_error': count('TASK_ERROR'),
    'master/tasks_dropped': count('TASK_DROPPED'),
    'master/tasks_unreachable': count('TASK_UNREACHABLE'),
    'master/outstanding_offers': s.offers.size,
  };
}

/** Serves an operator path; false when the path is not one of them. */
export function handleOperatorRequest(core: MasterCore, index: number, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): boolean {
  const state = core.state;
  switch (path) {
    case '/health':
    case '/master/health':
      answer(res, 200);
      return true;
    case '/version':
      answerJson(res, { version: '1.11.0', build_user: 'sluice-fake' });
      return true;
    case '/redirect':
    case '/master/redirect': {
      const leader = state.leader ?? index;
      answer(res, 307, '', { Location: `//127.0.0.1:${core.masterPorts[leader] ?? 0}` });
      return true;
    }
    case '/metrics/snapshot':
      answerJson(res, metrics(core, index));
      return true;
    case '/state':
    case '/state.json':
    case '/master/state':
    case '/master/state.json': {
      const leaderPort = state.leader === undefined ? undefined : core.masterPorts[state.leader];
      answerJson(res, {
        version: '1.11.0',
        id: `${state.masterId}-${index}`,
        pid: `master@127.0.0.1:${core.masterPorts[index] ?? 0}`,
        hostname: '127.0.0.1',
        elected_time: state.leader === index ? state.startedAt / 1000 : undefined,
        leader: leaderPort === undefined ? undefined : `master@127.0.0.1:${leaderPort}`,
        activated_slaves: state.agents.filter((a) => !a.partitioned && !a.down).length,
        unreachable_slaves: state.agents.filter((a) => a.partitioned).length,
        slaves: state.agents.map((a) => agentJson(core, a)),
        frameworks: [...state.frameworks.values()].map((f) => frameworkJson(core, f)),
        completed_frameworks: [...state.removedFrameworks].map((id) => ({ id })),
      });
      return true;
    }
    case '/master/frameworks':
      answerJson(res, { frameworks: [...state.frameworks.values()].map((f) => frameworkJson(core, f)) });
      return true;
    case '/master/tasks':
      answerJson(res, { tasks: [...state.tasks.values(), ...state.completedTasks].map(taskJson) });
      return true;
    case '/master/slaves':
      answerJson(res, { slaves: state.agents.map((a) => agentJson(core, a)) });
      return true;
    case '/master/teardown': {
      if (req.method !== 'POST') {
        answer(res, 405, `Expecting one of { 'POST' }, but received '${req.method ?? ''}'`, { Allow: 'POST' });
        return true;
      }
      const id = new URLSearchParams(body.toString('utf8')).get('frameworkId');
      const framework = id === null ? undefined : state.frameworks.get(id);
      if (framework === undefined) answer(res, 400, 'No framework found with specified ID');
      else {
        core.removeFramework(framework);
        answer(res, 200);
      }
      return true;
    }
    default:
      return false;
  }
}
