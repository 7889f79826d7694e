/**
 * The agent's executor API, `POST /api/v1/executor` (also `/slave(1)/api/v1/executor`), with the
 * agent's checks and messages: 503 while recovering (SUBSCRIBE allowed), 405/400/415, call
 * validation (UPDATE: 16-byte uuid, SOURCE_EXECUTOR, not STAGING, executor id match), 400 for an
 * unknown framework or executor, 403 before SUBSCRIBE or on token claims that do not match,
 * 401 without a valid token when executor authentication is on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeExecutorCall, encodeExecutorEvent, encodingOfMediaType, type ExecutorCall, type ExecutorEvent, type MesosEncoding } from '@sluice/mesos-proto';
import type { FakeAgent } from './agent.js';
import { EventStream, answer, methodNotAllowed, negotiateAccept, readBody } from './http-util.js';
import { executorKey, isTerminal, type FakeExecutor } from './model.js';

const PATHS = new Set(['/api/v1/executor', '/slave(1)/api/v1/executor']);

function encodeEvent(event: unknown, encoding: MesosEncoding): Buffer {
  return encodeExecutorEvent(event as ExecutorEvent, encoding, { mesosDefaults: true });
}

/** executor::call::validate. */
export function validateExecutorCall(call: ExecutorCall): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.type === 'SUBSCRIBE' && call.subscribe === undefined) return "Expecting 'subscribe' to be present";
  if (call.type === 'MESSAGE' && call.message === undefined) return "Expecting 'message' to be present";
  if (call.type === 'UPDATE') {
    const status = call.update?.status;
    if (status === undefined) return "Expecting 'update' to be present";
    if (status.executor_id !== undefined && status.executor_id.value !== call.executor_id.value) {
      return `ExecutorID in Call: ${call.executor_id.value} does not match ExecutorID in TaskStatus: ${status.executor_id.value}`;
    }
    if (status.source !== 'SOURCE_EXECUTOR') return `Received Call from executor ${call.executor_id.value} of framework ${call.framework_id.value} with invalid source, expecting 'SOURCE_EXECUTOR'`;
    if (status.uuid === undefined) return "Expecting 'uuid' to be present";
    if (status.uuid.byteLength !== 16) return `Invalid UUID: expected 16 bytes, got ${status.uuid.byteLength}`;
    if (status.state === 'TASK_STAGING') return "Received TASK_STAGING from executor, which is not allowed";
  }
  return undefined;
}

export async function handleExecutorRequest(agent: FakeAgent, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const body = await readBody(req);
  if (!PATHS.has(path)) {
    if (path === '/health' || path === '/slave(1)/health') return answer(res, 200);
    return answer(res, 404);
  }
  const cluster = agent.cluster;
  let claims: { fid: string; eid: string } | undefined;
  if (cluster.options.executorAuthentication) {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    claims = m === null ? undefined : agent.verifyToken(m[1] as string);
    if (claims === undefined) return answer(res, 401, m === null ? 'Missing authorization header' : 'Invalid token', { 'WWW-Authenticate': 'Bearer realm="mesos-agent-executor"' });
  }
  if (req.method !== 'POST') return methodNotAllowed(res, req.method);
  const contentType = req.headers['content-type'];
  if (contentType === undefined) return answer(res, 400, "Expecting 'Content-Type' to be present");
  const encoding = encodingOfMediaType(contentType);
  if (encoding === undefined) return answer(res, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
  let call: ExecutorCall;
  try {
    call = decodeExecutorCall(body, encoding);
  } catch (err) {
    return answer(res, 400, encoding === 'json' ? `Failed to convert JSON into Call protobuf: ${(err as Error).message}` : 'Failed to parse body into Call protobuf');
  }
  const record = (status: number): void => {
    cluster.calls.push({ api: 'executor', at: agent.state.id, encoding, call, status });
    cluster.changed();
  };
  const refuse = (status: number, message: string): void => {
    record(status);
    answer(res, status, message);
  };
  const invalid = validateExecutorCall(call);
  if (invalid !== undefined) return refuse(400, `Failed to validate Executor::Call: ${invalid}`);
  if (call.type === 'HEARTBEAT') return refuse(202, '');
  if (agent.state.recovering && call.type !== 'SUBSCRIBE') return refuse(503, 'Agent has not finished recovery');
  if (claims !== undefined && (claims.fid !== call.framework_id.value || claims.eid !== call.executor_id.value)) {
    return refuse(403, 'Authenticated principal does not match the framework and executor of the call');
  }
  const frameworkId = call.framework_id.value;
  if (![...agent.state.executors.values()].some((e) => e.frameworkId === frameworkId)) return refuse(400, 'Framework cannot be found');
  const ex = agent.state.executors.get(executorKey(frameworkId, call.executor_id.value));
  if (ex === undefined || ex.phase === 'terminated') return refuse(400, 'Executor cannot be found');
  switch (call.type) {
    case 'SUBSCRIBE': {
      const accept = negotiateAccept(req.headers.accept);
      if (accept === undefined) return refuse(406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
      record(200);
      return subscribe(agent, ex, res, accept, call);
    }
    case 'UPDATE': {
      if (ex.stream === undefined || ex.stream.closed) return refuse(403, 'Executor is not subscribed');
      acceptUpdate(agent, ex, call.update!.status);
      return refuse(202, '');
    }
    case 'MESSAGE':
      if (ex.stream === undefined || ex.stream.closed) return refuse(403, 'Executor is not subscribed');
      agent.link.executorMessage(agent.state, frameworkId, ex.executorId, call.message!.data);
      return refuse(202, '');
    default:
      return refuse(501, '');
  }
}

function subscribe(agent: FakeAgent, ex: FakeExecutor, res: ServerResponse, encoding: MesosEncoding, call: ExecutorCall): void {
  const old = ex.stream;
  const stream = new EventStream(res, encoding, `${ex.containerId}`, encodeEvent);
  ex.stream = stream;
  old?.close();
  stream.onClose(() => {
    if (ex.stream !== stream) return;
    ex.stream = undefined;
    agent.executorDisconnected(ex);
  });
  if (ex.phase !== 'terminating') ex.phase = 'running';
  const framework = agent.cluster.frameworks.get(ex.frameworkId);
  const a = agent.state;
  const agentInfo = { hostname: a.hostname, port: a.port, id: { value: a.id }, ...(a.attributes.length > 0 ? { attributes: a.attributes } : {}), ...(a.domain === undefined ? {} : { domain: a.domain }) };
  stream.send({
    type: 'SUBSCRIBED',
    subscribed: {
      executor_info: { ...ex.info, framework_id: { value: ex.frameworkId } },
      framework_info: framework === undefined ? { user: '', name: '', id: { value: ex.frameworkId } } : { ...framework.info, id: { value: framework.id } },
      agent_info: agentInfo,
      container_id: { value: ex.containerId },
    },
  });
  // After an agent restart: updates the executor still holds, and tasks it never received.
  for (const update of call.subscribe?.unacknowledged_updates ?? []) acceptUpdate(agent, ex, update.status);
  const held = new Set((call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value));
  for (const [taskId, state] of [...ex.taskStates]) {
    if (state !== 'TASK_STAGING' || !ex.launched.has(taskId) || held.has(taskId)) continue;
    const lost = agent.partitionAware(ex.frameworkId) ? 'TASK_DROPPED' : 'TASK_LOST';
    agent.agentUpdate(ex, taskId, lost, 'REASON_AGENT_RESTARTED', 'Task was not received by the executor before the agent restarted');
  }
  for (const task of ex.queued.splice(0)) agent.sendLaunch(ex, task);
  agent.cluster.changed();
}

/** The agent accepts an executor's update: status update manager, then ACKNOWLEDGED on its stream. */
function acceptUpdate(agent: FakeAgent, ex: FakeExecutor, incoming: NonNullable<ExecutorCall['update']>['status']): void {
  const status = { ...incoming, agent_id: { value: agent.state.id }, executor_id: { value: ex.executorId } };
  status.timestamp ??= Date.now() / 1000;
  const uuid = Buffer.from(status.uuid!).toString('base64');
  const taskId = status.task_id.value;
  if (!ex.seenUuids.has(uuid)) {
    ex.seenUuids.add(uuid);
    ex.taskStates.set(taskId, status.state);
    if (isTerminal(status.state)) ex.launched.delete(taskId);
    agent.updates.add(ex.frameworkId, status);
  }
  ex.stream?.send({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: taskId }, uuid: status.uuid! } });
}
