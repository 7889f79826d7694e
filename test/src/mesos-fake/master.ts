/**
 * One fake master's HTTP server: `POST /api/v1/scheduler` (and `/master/api/v1/scheduler`) with
 * the checks of Mesos's `Master::Http::scheduler` in its order and with its messages, plus the
 * operator endpoints (operator.ts). Several masters share one MasterCore; only the leader
 * serves, the others redirect to it (307, protocol-relative Location) or answer 503.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodeSchedulerCall, encodingOfMediaType, type MesosEncoding, type SchedulerCall } from '@sluice/mesos-proto';
import { answer, checkBasicAuth, closeServer, listen, methodNotAllowed, negotiateAccept, readBody, trackSockets } from './http-util.js';
import type { MasterCore } from './master-core.js';
import { handleOperatorRequest } from './operator.js';
import { handleSchedulerCall } from './scheduler-calls.js';

const SCHEDULER_PATHS = new Set(['/api/v1/scheduler', '/master/api/v1/scheduler']);

/** A fault: the next `count` scheduler calls (of the given types, if any) get this answer. */
export interface CallFault {
  count: number;
  status: number;
  body: string;
  types: readonly string[] | undefined;
}

export class FakeMaster {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;

  constructor(
    readonly index: number,
    private readonly core: MasterCore,
    private readonly faults: CallFault[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => answer(res, 500, String(err)));
    });
    this.sockets = trackSockets(server);
    this.server = server;
    this.port = await listen(server, '127.0.0.1', 0);
    this.core.masterPorts[this.index] = this.port;
  }

  async stop(): Promise<void> {
    if (this.server !== undefined) await closeServer(this.server, this.sockets);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (SCHEDULER_PATHS.has(path)) return this.scheduler(req, res, path);
    const body = await readBody(req);
    if (!handleOperatorRequest(this.core, this.index, req, res, path, body)) answer(res, 404);
  }

  private leaderLocation(path: string): string | undefined {
    const leader = this.core.state.leader;
    if (leader === undefined) return undefined;
    return `//127.0.0.1:${this.core.masterPorts[leader] ?? 0}${path}`;
  }

  private async scheduler(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const state = this.core.state;
    const body = await readBody(req);
    const credential = state.options.authenticate;
    let principal: string | undefined;
    if (credential !== undefined) {
      const auth = checkBasicAuth(req, credential);
      if (!auth.ok) return answer(res, 401, auth.reason, { 'WWW-Authenticate': 'Basic realm="mesos"' });
      principal = auth.principal;
    }
    if (state.leader !== this.index) {
      const location = this.leaderLocation(path);
      if (location === undefined) return answer(res, 503, 'No leader elected');
      return answer(res, 307, '', { Location: location });
    }
    if (Date.now() < state.recoveringUntil) return answer(res, 503, 'Master has not finished recovery');
    if (req.method !== 'POST') return methodNotAllowed(res, req.method);
    const contentType = req.headers['content-type'];
    if (contentType === undefined) return answer(res, 400, "Expecting 'Content-Type' to be present");
    const encoding = encodingOfMediaType(contentType);
    if (encoding === undefined) return answer(res, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
    const decoded = decode(body, encoding);
    if (typeof decoded === 'string') return answer(res, 400, decoded);
    const call = decoded;
    const record = (status: number): void => {
      state.calls.push({ api: 'scheduler', at: `master-${this.index}`, encoding, call, status });
      state.changed();
    };
    const fault = this.takeFault(call);
    if (fault !== undefined) {
      record(fault.status);
      return answer(res, fault.status, fault.body);
    }
    const invalid = validateCall(call, principal);
    if (invalid !== undefined) {
      record(400);
      return answer(res, 400, `Failed to validate scheduler::Call: ${invalid}`);
    }
    if (call.type === 'SUBSCRIBE') {
      const accept = negotiateAccept(req.headers.accept);
      if (accept === undefined) {
        record(406);
        return answer(res, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
      }
      if (req.headers['mesos-stream-id'] !== undefined) {
        record(400);
        return answer(res, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      const subscribe = structuredClone(call.subscribe!);
      if (principal !== undefined && subscribe.framework_info.principal === undefined) subscribe.framework_info.principal = principal;
      record(200);
      this.core.subscribe(res, accept, subscribe, this.index);
      return;
    }
    const frameworkId = call.framework_id?.value ?? '';
    const framework = state.frameworks.get(frameworkId);
    const refuse = (status: number, message: string): void => {
      record(status);
      answer(res, status, message);
    };
    if (framework === undefined) return refuse(400, 'Framework cannot be found');
    if (principal !== undefined && framework.info.principal !== undefined && principal !== framework.info.principal) {
      return refuse(400, `Authenticated principal '${principal}' does not match principal '${framework.info.principal}' set in \`FrameworkInfo\``);
    }
    if (framework.stream === undefined || framework.stream.closed) return refuse(403, 'Framework is not subscribed');
    const streamId = req.headers['mesos-stream-id'];
    if (streamId === undefined) return refuse(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    if (streamId !== framework.streamId) {
      return refuse(400, `The stream ID '${String(streamId)}' included in this request didn't match the stream ID currently associated with framework ID ${framework.id}`);
    }
    const status = handleSchedulerCall(this.core, framework, call);
    record(status);
    answer(res, status);
  }

  private takeFault(call: SchedulerCall): CallFault | undefined {
    const fault = this.faults.find((f) => f.count > 0 && (f.types === undefined || f.types.includes(call.type ?? 'UNKNOWN')));
    if (fault === undefined) return undefined;
    fault.count--;
    if (fault.count === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }
}

function decode(body: Buffer, encoding: MesosEncoding): SchedulerCall | string {
  if (encoding === 'json') {
    try {
      JSON.parse(body.toString('utf8'));
    } catch (err) {
      return `Failed to parse body into JSON: ${(err as Error).message}`;
    }
  }
  try {
    return decodeSchedulerCall(body, encoding);
  } catch (err) {
    return encoding === 'json' ? `Failed to convert JSON into Call protobuf: ${(err as Error).message}` : 'Failed to parse body into Call protobuf';
  }
}

const PAYLOAD: Partial<Record<string, keyof SchedulerCall>> = {
  SUBSCRIBE: 'subscribe', ACCEPT: 'accept', DECLINE: 'decline', ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers', KILL: 'kill', SHUTDOWN: 'shutdown', ACKNOWLEDGE: 'acknowledge',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status', RECONCILE: 'reconcile', RECONCILE_OPERATIONS: 'reconcile_operations',
  MESSAGE: 'message', REQUEST: 'request', UPDATE_FRAMEWORK: 'update_framework',
};

/** validation::scheduler::call::validate. */
export function validateCall(call: SchedulerCall, principal: string | undefined): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  const payload = PAYLOAD[call.type];
  if (payload !== undefined && call[payload] === undefined) return `Expecting '${payload}' to be present`;
  if (call.type === 'SUBSCRIBE') {
    const info = call.subscribe!.framework_info;
    if (call.framework_id?.value !== info.id?.value) return "'framework_id' differs from 'subscribe.framework_info.id'";
    if (principal !== undefined && info.principal !== undefined && info.principal !== principal) {
      return `Authenticated principal '${principal}' does not match principal '${info.principal}' set in \`FrameworkInfo\``;
    }
    return undefined;
  }
  if (call.type === 'UNKNOWN') return undefined;
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present";
  if (call.type === 'ACKNOWLEDGE') {
    const uuid = call.acknowledge!.uuid;
    if (uuid.byteLength !== 16) return `Failed to parse UUID: expected 16 bytes, got ${uuid.byteLength}`;
  }
  if (call.type === 'UPDATE_FRAMEWORK' && call.update_framework!.framework_info.id?.value !== call.framework_id.value) {
    return "'framework_id' differs from 'update_framework.framework_info.id'";
  }
  return undefined;
}
