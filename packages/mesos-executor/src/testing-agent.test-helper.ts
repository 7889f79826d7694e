/**
 * A scripted Mesos agent for the executor's tests, in the manner of mesos-rxjava's
 * MesosServerSimulation: `POST /api/v1/executor` decodes calls (protobuf or JSON, by
 * Content-Type), records them with their headers, answers SUBSCRIBE with a RecordIO stream that
 * starts with SUBSCRIBED and then carries whatever the test sends, and answers other calls 202
 * (or what the test scripted). Like the real agent, it can ACKNOWLEDGE each accepted UPDATE on
 * the stream. Not a fake of the agent's logic: no validation, no task bookkeeping.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  decodeExecutorCall,
  encodeExecutorEvent,
  encodeRecord,
  encodingOfMediaType,
  MESOS_MEDIA_TYPES,
  type ExecutorCall,
  type ExecutorCallType,
  type ExecutorEvent,
  type FrameworkCapabilityType,
  type MesosEncoding,
  type TaskStatus,
} from '@sluice/mesos-proto';
import { decodeTaskManagerReport, type TaskManagerReport } from './task-protocol.js';

export interface RecordedCall {
  call: ExecutorCall;
  headers: IncomingHttpHeaders;
  encoding: MesosEncoding;
  /** The status the simulation answered with. */
  status: number;
}

interface Waiter {
  match: (c: RecordedCall) => boolean;
  resolve: (c: RecordedCall) => void;
}

export class TestingAgent {
  readonly calls: RecordedCall[] = [];
  /** Send ACKNOWLEDGED on the stream for every UPDATE answered 202. */
  autoAcknowledge = true;
  /** Capabilities of the framework_info in SUBSCRIBED. */
  frameworkCapabilities: FrameworkCapabilityType[] = [];
  private readonly scripted = new Map<string, { status: number; body: string }[]>();
  private stream: { res: ServerResponse; encoding: MesosEncoding } | undefined;
  private readonly sockets = new Set<Socket>();
  private waiters: Waiter[] = [];
  private streamWaiters: (() => void)[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<TestingAgent> {
    const server = createServer();
    const agent = new TestingAgent(server);
    server.on('request', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => agent.handle(req.headers, Buffer.concat(parts), res));
    });
    server.on('connection', (s) => {
      agent.sockets.add(s);
      s.once('close', () => agent.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return agent;
  }

  get endpoint(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next call(s) of `type` get this answer instead of the usual one. */
  answerNext(type: ExecutorCallType, status: number, body = ''): void {
    const list = this.scripted.get(type) ?? [];
    list.push({ status, body });
    this.scripted.set(type, list);
  }

  /** Writes an event to the open SUBSCRIBE stream. */
  send(event: ExecutorEvent): void {
    if (this.stream === undefined) throw new Error('no executor is subscribed');
    this.stream.res.write(encodeRecord(encodeExecutorEvent(event, this.stream.encoding)));
  }

  /** Writes raw bytes to the stream (bad RecordIO, undecodable events). */
  sendRaw(bytes: Uint8Array | string): void {
    if (this.stream === undefined) throw new Error('no executor is subscribed');
    this.stream.res.write(bytes);
  }

  /** Cuts the stream as an agent restart would. */
  dropStream(): void {
    this.stream?.res.socket?.destroy();
    this.stream = undefined;
  }

  get subscribed(): boolean {
    return this.stream !== undefined;
  }

  /** Resolves when a SUBSCRIBE stream is open. */
  whenSubscribed(): Promise<void> {
    return this.stream !== undefined ? Promise.resolve() : new Promise((resolve) => this.streamWaiters.push(resolve));
  }

  /** The first recorded call (from `from` on) that matches, now or when it arrives. */
  waitForCall(match: (c: RecordedCall) => boolean, from = 0): Promise<RecordedCall> {
    const seen = this.calls.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The n-th (from 1) call of a type. */
  nth(type: ExecutorCallType, n: number): Promise<RecordedCall> {
    let seen = 0;
    return this.waitForCall((c) => c.call.type === type && ++seen === n);
  }

  /** Resolves with the first UPDATE (accepted) of `state` for `taskId`. */
  waitForUpdate(taskId: string, state: TaskStatus['state']): Promise<TaskStatus> {
    return this.waitForCall((c) => c.call.type === 'UPDATE' && c.status === 202 && c.call.update?.status.task_id.value === taskId && c.call.update.status.state === state).then((c) => c.call.update!.status);
  }

  /** Status updates the agent accepted, in order. */
  updates(): TaskStatus[] {
    return this.calls.filter((c) => c.call.type === 'UPDATE' && c.status === 202).map((c) => c.call.update!.status);
  }

  states(taskId: string): string[] {
    return [...new Set(this.updates().filter((s) => s.task_id.value === taskId).map((s) => `${s.state}`))];
  }

  /** The framework messages accepted, decoded as TaskManager reports. */
  reports(): TaskManagerReport[] {
    return this.calls.filter((c) => c.call.type === 'MESSAGE' && c.status === 202).map((c) => decodeTaskManagerReport(c.call.message!.data));
  }

  waitForReport(match: (r: TaskManagerReport) => boolean): Promise<TaskManagerReport> {
    return this.waitForCall((c) => c.call.type === 'MESSAGE' && c.status === 202 && match(decodeTaskManagerReport(c.call.message!.data))).then((c) => decodeTaskManagerReport(c.call.message!.data));
  }

  async stop(): Promise<void> {
    this.stream?.res.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(headers: IncomingHttpHeaders, body: Buffer, res: ServerResponse): void {
    const encoding = encodingOfMediaType(headers['content-type']);
    if (encoding === undefined) {
      res.writeHead(415).end(`unsupported Content-Type '${headers['content-type'] ?? ''}'`);
      return;
    }
    const call = decodeExecutorCall(body, encoding);
    const type = call.type ?? 'UNKNOWN';
    const scripted = this.scripted.get(type)?.shift();
    const status = scripted?.status ?? (type === 'SUBSCRIBE' ? 200 : 202);
    const recorded: RecordedCall = { call, headers, encoding, status };
    if (status !== 200) res.writeHead(status).end(scripted?.body ?? '');
    else this.openStream(res, encodingOfMediaType(headers.accept) ?? 'json');
    if (type === 'UPDATE' && status === 202 && this.autoAcknowledge && this.stream !== undefined) {
      const s = call.update!.status;
      this.send({ type: 'ACKNOWLEDGED', acknowledged: { task_id: s.task_id, uuid: s.uuid! } });
    }
    this.record(recorded);
  }

  private openStream(res: ServerResponse, encoding: MesosEncoding): void {
    this.stream?.res.socket?.destroy();
    res.writeHead(200, { 'Content-Type': MESOS_MEDIA_TYPES[encoding] });
    this.stream = { res, encoding };
    res.once('close', () => {
      if (this.stream?.res === res) this.stream = undefined;
    });
    this.send({
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: { executor_id: { value: 'sluice-executor' } },
        framework_info: { user: 'sluice', name: 'sluice', capabilities: this.frameworkCapabilities.map((type) => ({ type })) },
        agent_info: { hostname: 'agent-1.test' },
      },
    });
    for (const w of this.streamWaiters.splice(0)) w();
  }

  private record(c: RecordedCall): void {
    this.calls.push(c);
    for (const w of this.waiters.filter((x) => x.match(c))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(c);
    }
  }
}
