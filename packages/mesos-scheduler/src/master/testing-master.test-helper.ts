/**
 * A scripted Mesos master for the connection's tests, after mesos-rxjava's MesosServerSimulation:
 * node:http (or https) on 127.0.0.1, port 0. Every request is recorded with its headers and
 * decoded call; SUBSCRIBE is answered by the test's `onSubscribe` script (a RecordIO stream of
 * scripted events, or any status), other calls by `onCall` (202 by default). No validation and
 * no state: the full Mesos fake lives in test/. Also: a recorder of what the connection reports,
 * a capturing logger, and openssl-made certificates for the https tests.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createLogger, type Logger } from '@sluice/common';
import {
  decodeSchedulerCall, encodeRecord, encodeSchedulerEvent, encodingOfMediaType, MESOS_MEDIA_TYPES,
  type MesosEncoding, type SchedulerCall, type SchedulerEvent,
} from '@sluice/mesos-proto';
import type { MasterConnectionEvents } from './types.js';

/** Resolves when `predicate` holds, re-checked on every `changed()`; a hang guard rejects naming `what`. */
export class Observable {
  private readonly waiters = new Set<() => void>();

  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  until(predicate: () => boolean, what: string, hangGuardMs = 30_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, hangGuardMs);
      this.waiters.add(check);
    });
  }
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body decoded with the encoding its Content-Type names; undefined if it does not decode. */
  readonly call: SchedulerCall | undefined;
}

/** The open answer to one SUBSCRIBE. */
export class TestingStream extends Observable {
  closed = false;

  constructor(
    readonly request: RecordedRequest,
    private readonly res: http.ServerResponse,
    readonly encoding: MesosEncoding,
    readonly streamId: string,
  ) {
    super();
    res.on('close', () => {
      this.closed = true;
      this.changed();
    });
  }

  send(event: SchedulerEvent): void {
    this.res.write(encodeRecord(encodeSchedulerEvent(event, this.encoding)));
  }

  subscribed(frameworkId: string, heartbeatIntervalSeconds = 15): void {
    this.send({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: frameworkId }, heartbeat_interval_seconds: heartbeatIntervalSeconds } });
  }

  /** Bytes as they are: broken framing, undecodable records. */
  sendRaw(bytes: Buffer | string): void {
    this.res.write(bytes);
  }

  /** Ends the chunked body cleanly. */
  end(): void {
    this.res.end();
  }

  /** Closes the connection after what was written, without the terminating chunk. */
  cut(): void {
    this.res.socket?.end();
  }
}

export interface SubscribeContext {
  readonly request: RecordedRequest;
  /** 200 with a Mesos-Stream-Id and the Content-Type the request's Accept names. */
  accept(options?: { streamId?: string; contentType?: string }): TestingStream;
  answer(status: number, body?: string, headers?: http.OutgoingHttpHeaders): void;
}

/** By default a SUBSCRIBE is accepted with SUBSCRIBED for the framework id it carries, or `fw-1`. */
export function acceptSubscribe(ctx: SubscribeContext): void {
  const stream = ctx.accept();
  stream.subscribed(ctx.request.call?.framework_id?.value ?? 'fw-1');
}

export class TestingMesosMaster extends Observable {
  readonly requests: RecordedRequest[] = [];
  readonly streams: TestingStream[] = [];
  onSubscribe: (ctx: SubscribeContext) => void = acceptSubscribe;
  /** 'destroy' cuts the connection without an answer. */
  onCall: (request: RecordedRequest) => { status: number; body?: string } | 'destroy' = () => ({ status: 202 });
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: http.Server | https.Server, readonly scheme: 'http' | 'https') {
    super();
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.changed();
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.changed();
      });
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res));
  }

  static async start(tls?: { keyFile: string; certFile: string; caFile?: string; requestCert?: boolean }): Promise<TestingMesosMaster> {
    const server =
      tls === undefined
        ? http.createServer()
        : https.createServer({
            key: readFileSync(tls.keyFile),
            cert: readFileSync(tls.certFile),
            ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
            ...(tls.requestCert === true ? { requestCert: true, rejectUnauthorized: true } : {}),
          });
    const master = new TestingMesosMaster(server, tls === undefined ? 'http' : 'https');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return master;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `127.0.0.1:port`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.scheme}://${this.address}`;
  }

  /** TCP connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  subscribes(): RecordedRequest[] {
    return this.requests.filter((r) => r.call?.type === 'SUBSCRIBE');
  }

  calls(): RecordedRequest[] {
    return this.requests.filter((r) => r.call !== undefined && r.call.type !== 'SUBSCRIBE');
  }

  async stream(index: number): Promise<TestingStream> {
    await this.until(() => this.streams.length > index, `SUBSCRIBE stream #${index + 1} on ${this.address}`);
    return this.streams[index] as TestingStream;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const encoding = encodingOfMediaType(req.headers['content-type']);
      let call: SchedulerCall | undefined;
      try {
        call = encoding === undefined ? undefined : decodeSchedulerCall(body, encoding);
      } catch {
        call = undefined;
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, call };
      this.requests.push(recorded);
      if (call?.type === 'SUBSCRIBE') this.onSubscribe(this.subscribeContext(recorded, res));
      else {
        const answer = this.onCall(recorded);
        if (answer === 'destroy') res.destroy();
        else res.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(answer.body ?? '');
      }
      this.changed();
    });
  }

  private subscribeContext(request: RecordedRequest, res: http.ServerResponse): SubscribeContext {
    return {
      request,
      accept: (options = {}) => {
        const encoding = encodingOfMediaType(request.headers.accept) ?? 'json';
        const streamId = options.streamId ?? randomUUID();
        res.writeHead(200, { 'Content-Type': options.contentType ?? MESOS_MEDIA_TYPES[encoding], 'Mesos-Stream-Id': streamId });
        res.flushHeaders();
        const stream = new TestingStream(request, res, encoding, streamId);
        this.streams.push(stream);
        this.changed();
        return stream;
      },
      answer: (status, body = '', headers = {}) => {
        res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(body);
      },
    };
  }
}

/** What the connection told the scheduler, in order. */
export class RecordingScheduler extends Observable implements MasterConnectionEvents {
  readonly subscribed: Array<{ frameworkId: string; heartbeatIntervalSeconds: number; masterHost: string; streamId: string }> = [];
  readonly events: SchedulerEvent[] = [];
  readonly disconnects: string[] = [];
  /** Everything in one list, for order checks: 'subscribed', event types, 'disconnected'. */
  readonly log: string[] = [];
  /** Optional work done in onSubscribed (e.g. a promise standing for persisting the id). */
  onSubscribedHook: (() => void | Promise<void>) | undefined;

  onSubscribed(info: { frameworkId: string; heartbeatIntervalSeconds: number; masterHost: string; streamId: string }): void | Promise<void> {
    this.subscribed.push(info);
    this.log.push('subscribed');
    this.changed();
    return this.onSubscribedHook?.();
  }

  onEvent(event: SchedulerEvent): void {
    this.events.push(event);
    this.log.push(event.type ?? 'untyped');
    this.changed();
  }

  onDisconnected(reason: string): void {
    this.disconnects.push(reason);
    this.log.push('disconnected');
    this.changed();
  }
}

/** A logger whose lines a test can wait for. */
export function capturingLogger(): { logger: Logger; lines: string[]; until(pattern: RegExp): Promise<string> } {
  const lines: string[] = [];
  const observable = new Observable();
  const logger = createLogger('debug', 'test', (line) => {
    lines.push(line);
    observable.changed();
  });
  return {
    logger,
    lines,
    async until(pattern) {
      await observable.until(() => lines.some((l) => pattern.test(l)), `a log line matching ${String(pattern)}`);
      return lines.find((l) => pattern.test(l)) as string;
    },
  };
}

/** A CA and a certificate for 127.0.0.1/localhost signed by it (for server and client use), made by openssl in `dir`. */
export function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=mesos-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', ...ec, '-keyout', 'master.key', '-out', 'master.csr', '-subj', '/CN=mesos-test-master');
  writeFileSync(join(dir, 'master.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'master.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'master.crt', '-days', '2', '-extfile', 'master.ext');
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'master.crt'), keyFile: join(dir, 'master.key') };
}
