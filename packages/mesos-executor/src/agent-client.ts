/**
 * The agent's v1 executor API over node:http (not fetch: its body timeout would cut the event
 * stream, which the agent heartbeats only every 30 minutes). SUBSCRIBE holds one connection open
 * and reads RecordIO-framed events from it; every other call goes on a connection of its own
 * pool and expects 202. Whatever the agent sends that is not an event ends the stream with an
 * AgentError for the caller's reconnect logic; nothing here throws out of a socket callback.
 */
import { request, Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { describeError } from '@sluice/common';
import {
  decodeExecutorEvent,
  encodeExecutorCall,
  encodingOfMediaType,
  MESOS_MEDIA_TYPES,
  RecordIOReader,
  type ExecutorCall,
  type MesosEncoding,
} from '@sluice/mesos-proto';
import { AgentError, type AgentGateway, type AgentStreamHandlers, type AgentSubscription } from './agent-gateway.js';

export const EXECUTOR_API_PATH = '/api/v1/executor';

export interface AgentClientOptions {
  /** `host:port` of the agent. */
  endpoint: string;
  /** A Unix socket to reach the agent through instead of TCP. */
  domainSocket?: string;
  encoding?: MesosEncoding;
  /** Sent as `Authorization: Bearer <token>`. */
  authenticationToken?: string;
  /** Largest event accepted; a bigger one ends the stream. Default 16 MiB (a LAUNCH carries one TaskInfo). */
  maxEventBytes?: number;
  /** Bound on a call, and on the wait for SUBSCRIBE's response headers. Default 30 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How much of a refusal's body is kept for the error message. */
const MAX_ERROR_BODY = 2048;

export class AgentClient implements AgentGateway {
  private readonly encoding: MesosEncoding;
  private readonly pool = new Agent({ keepAlive: true, maxSockets: 4 });
  private readonly timeoutMs: number;

  constructor(private readonly options: AgentClientOptions) {
    this.encoding = options.encoding ?? 'protobuf';
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Where calls go, for log lines. */
  get url(): string {
    const where = this.options.domainSocket === undefined ? this.options.endpoint : `unix:${this.options.domainSocket}`;
    return `http://${where}${EXECUTOR_API_PATH}`;
  }

  subscribe(call: ExecutorCall, handlers: AgentStreamHandlers): AgentSubscription {
    let closed = false;
    let req: ClientRequest | undefined;
    const finish = (error: AgentError): void => {
      if (closed) return;
      closed = true;
      req?.destroy();
      handlers.onClose(error);
    };
    let body: Buffer;
    try {
      body = encodeExecutorCall(call, this.encoding);
    } catch (err) {
      queueMicrotask(() => finish(new AgentError('MESOS_AGENT_REFUSED', `cannot encode the SUBSCRIBE call: ${describeError(err)}`, { cause: err })));
      return { close: () => void (closed = true) };
    }
    // A connection of its own (no pool): it stays open for as long as the subscription lasts.
    req = this.send(body, false, (res) => {
      req!.setTimeout(0);
      if (res.statusCode !== 200) {
        void readBody(res).then((text) => finish(refusal('SUBSCRIBE', res.statusCode ?? 0, text)));
        return;
      }
      const encoding = encodingOfMediaType(res.headers['content-type']) ?? this.encoding;
      const reader = new RecordIOReader({ maxRecordBytes: this.options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES });
      res.on('data', (chunk: Buffer) => {
        if (closed) return;
        try {
          for (const record of reader.push(chunk)) {
            const event = decodeExecutorEvent(record, encoding);
            if (closed) return;
            handlers.onEvent(event);
          }
        } catch (err) {
          finish(new AgentError('MESOS_AGENT_STREAM', `the agent's event stream carried something that is not an event (${describeError(err)}); dropping the connection`, { cause: err }));
        }
      });
      res.once('end', () => {
        try {
          reader.end();
          finish(new AgentError('MESOS_AGENT_STREAM', 'the agent closed the event stream'));
        } catch (err) {
          finish(new AgentError('MESOS_AGENT_STREAM', `the agent's event stream broke off: ${describeError(err)}`, { cause: err }));
        }
      });
      res.once('error', (err) => finish(new AgentError('MESOS_AGENT_STREAM', `the agent's event stream failed: ${describeError(err)}`, { cause: err })));
      res.once('close', () => {
        if (!res.complete) finish(new AgentError('MESOS_AGENT_STREAM', 'the connection to the agent was lost'));
      });
    });
    req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    req.setTimeout(this.timeoutMs, () => finish(new AgentError('MESOS_AGENT_UNAVAILABLE', `the agent at ${this.url} did not answer SUBSCRIBE within ${this.timeoutMs} ms`)));
    req.once('error', (err) => finish(unavailable(this.url, err)));
    return {
      close: () => {
        closed = true;
        req?.destroy();
      },
    };
  }

  call(call: ExecutorCall): Promise<void> {
    const type = call.type ?? 'UNKNOWN';
    return new Promise<void>((resolve, reject) => {
      let body: Buffer;
      try {
        body = encodeExecutorCall(call, this.encoding);
      } catch (err) {
        reject(new AgentError('MESOS_AGENT_REFUSED', `cannot encode the ${type} call: ${describeError(err)}`, { cause: err }));
        return;
      }
      const req = this.send(body, true, (res) => {
        void readBody(res).then((text) => {
          if (res.statusCode === 202) resolve();
          else reject(refusal(type, res.statusCode ?? 0, text));
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer to ${type} within ${this.timeoutMs} ms`)));
      req.once('error', (err) => reject(unavailable(this.url, err)));
    });
  }

  close(): void {
    this.pool.destroy();
  }

  private send(body: Buffer, pooled: boolean, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const media = MESOS_MEDIA_TYPES[this.encoding];
    const headers: Record<string, string | number> = {
      'Content-Type': media,
      Accept: media,
      'Content-Length': body.byteLength,
    };
    if (this.options.authenticationToken !== undefined) headers.Authorization = `Bearer ${this.options.authenticationToken}`;
    const where =
      this.options.domainSocket === undefined
        ? { host: hostOf(this.options.endpoint), port: Number(portOf(this.options.endpoint)) }
        : { socketPath: this.options.domainSocket };
    if (this.options.domainSocket !== undefined) headers.Host = 'localhost';
    const req = request({ ...where, method: 'POST', path: EXECUTOR_API_PATH, headers, agent: pooled ? this.pool : false }, onResponse);
    req.end(body);
    return req;
  }
}

function hostOf(endpoint: string): string {
  const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function portOf(endpoint: string): string {
  return endpoint.slice(endpoint.lastIndexOf(':') + 1);
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY) parts.push(chunk);
      size += chunk.byteLength;
    });
    const done = (): void => resolve(Buffer.concat(parts).toString('utf8').slice(0, MAX_ERROR_BODY).trim());
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}

function refusal(type: string, status: number, body: string): AgentError {
  const said = body === '' ? '' : `: ${body}`;
  const code = status >= 400 && status < 500 ? 'MESOS_AGENT_REFUSED' : 'MESOS_AGENT_UNAVAILABLE';
  return new AgentError(code, `the agent answered ${type} with ${status}${said}`, { status, body });
}

function unavailable(url: string, err: unknown): AgentError {
  return new AgentError('MESOS_AGENT_UNAVAILABLE', `cannot reach the agent at ${url}: ${describeError(err)}`, { cause: err });
}
