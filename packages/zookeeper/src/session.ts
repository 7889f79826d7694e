/**
 * The session: its state machine, the connection loop over the servers, and the request
 * pipeline. All state changes happen here, on frames and timers of the one live connection.
 *
 * States (Curator's ConnectionState, which HA leadership is built on):
 * - connecting: before the first session.
 * - connected.
 * - suspended: the connection was lost but the session may live; connecting to the servers in
 *   turn with the same session id and password. In-flight requests failed with
 *   ZK_CONNECTIONLOSS (their outcome is unknown); new requests wait for the reconnection.
 * - lost (terminal): a server said the session expired, or no connection came back within the
 *   negotiated session timeout of last hearing from a server, so a server has expired it or
 *   will. Waiting requests fail with ZK_SESSIONEXPIRED.
 * - closed (terminal): close(), or start() gave up.
 */
import { type Logger, describeError } from '@sluice/common';
import { Connection, type TlsMaterial } from './connection.js';
import { ZooKeeperError } from './errors.js';
import { JuteReader } from './jute.js';
import { type ServerAddress, formatServer, fromServerPath } from './paths.js';
import { type ConnectResponse, type ReplyHeader, encodeRequest, OpCode, readReplyHeader, readWatcherEvent, writeAuth, writeSetWatches, Xid } from './protocol.js';
import { batchWatchLists, eventType, WatchRegistry } from './watches.js';

/** connecting (first connect), connected, suspended (connection lost, session may live: reconnecting), lost (session expired / closed by the server: terminal, make a new client), closed (by close()). */
export type ZooKeeperState = 'connecting' | 'connected' | 'suspended' | 'lost' | 'closed';
export type StateListener = (state: ZooKeeperState, previous: ZooKeeperState) => void;

export interface SessionOptions {
  servers: readonly ServerAddress[];
  chroot: string;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  maxFrameBytes: number;
  tls?: TlsMaterial;
  digest?: string;
  logger: Logger;
}

/** Runs on the reply's frame, before any later frame: decodes it and registers watches. */
export type ReplyDecoder<T> = (header: ReplyHeader, reader: JuteReader) => T;

interface Pending {
  opCode: number;
  body: Buffer;
  xid: number;
  decode: ReplyDecoder<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** A connect attempt never gets less than this, however many servers share the session timeout. */
const MIN_CONNECT_TIMEOUT_MS = 1_000;
/** Pause after every server was tried once in vain, before the next round. */
const ROUND_DELAY_MS = { min: 100, max: 1_000 };

export class Session {
  state: ZooKeeperState = 'connecting';
  sessionId = 0n;
  negotiatedTimeoutMs = 0;
  readonly watches = new WatchRegistry();
  private passwd: Buffer = Buffer.alloc(16);
  private lastZxid = 0n;
  private lastHeard = 0;
  private nextXid = 1;
  private readonly servers: ServerAddress[];
  private serverIndex = 0;
  private attemptsThisRound = 0;
  private connection: Connection | undefined;
  private connected = false;
  private readonly queue: Pending[] = [];
  private readonly inFlight: Pending[] = [];
  private readonly listeners = new Set<StateListener>();
  private retryTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private starting: { promise: Promise<void>; resolve(): void; reject(err: unknown): void } | undefined;
  private closing: Promise<void> | undefined;
  private lastConnectError: ZooKeeperError | undefined;

  constructor(private readonly options: SessionOptions) {
    // Shuffled once, so clients spread over the ensemble; then tried in turn.
    this.servers = [...options.servers];
    for (let i = this.servers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [this.servers[i], this.servers[j]] = [this.servers[j]!, this.servers[i]!];
    }
  }

  get serverList(): string {
    return this.options.servers.map(formatServer).join(',');
  }

  /** The server of the live connection, or undefined while not connected. */
  get connectedServer(): string | undefined {
    return this.connected ? this.connection?.server : undefined;
  }

  onStateChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): Promise<void> {
    if (this.starting !== undefined) return this.starting.promise;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.starting = { promise, resolve, reject };
    if (this.state === 'closed' || this.state === 'lost') {
      reject(new ZooKeeperError('ZK_CLOSED', 'the ZooKeeper client was closed before start(); create a new client'));
      return promise;
    }
    this.startTimer = setTimeout(() => {
      const why = this.lastConnectError === undefined ? '' : ` (last: ${this.lastConnectError.message})`;
      const err = new ZooKeeperError(
        'ZK_UNREACHABLE',
        `no ZooKeeper session with any of ${this.serverList} within ${this.options.connectionTimeoutMs} ms${why}; check that the servers run and the connect string (and TLS settings) match them`,
        { cause: this.lastConnectError },
      );
      this.terminate('closed', err);
    }, this.options.connectionTimeoutMs);
    this.connectNext();
    return promise;
  }

  /** Sends `body` as one request (after the reconnection, if suspended); `decode` reads the reply. */
  request<T>(opCode: number, body: Buffer, decode: ReplyDecoder<T>): Promise<T> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ opCode, body, xid: 0, decode, resolve: resolve as (v: unknown) => void, reject });
      this.flush();
    });
  }

  private refusal(): ZooKeeperError | undefined {
    if (this.starting === undefined) return new ZooKeeperError('ZK_NOT_STARTED', 'the ZooKeeper client is not started; call start() first');
    if (this.state === 'lost') return new ZooKeeperError('ZK_SESSIONEXPIRED', `the ZooKeeper session 0x${this.sessionIdHex} is lost; create a new client`);
    if (this.state === 'closed' || this.closing !== undefined) return new ZooKeeperError('ZK_CLOSED', 'the ZooKeeper client is closed');
    return undefined;
  }

  get sessionIdHex(): string {
    return BigInt.asUintN(64, this.sessionId).toString(16).padStart(16, '0');
  }

  /** closeSession when connected (the server deletes the ephemeral nodes at once), then ends. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'lost' || this.state === 'closed') return;
      if (this.connected) {
        const bound = Math.max(MIN_CONNECT_TIMEOUT_MS, Math.floor((this.negotiatedTimeoutMs * 2) / 3));
        let timer: NodeJS.Timeout | undefined;
        const closeSession = new Promise<void>((resolve) => {
          this.queue.push({ opCode: OpCode.closeSession, body: Buffer.alloc(0), xid: 0, decode: () => undefined, resolve: () => resolve(), reject: () => resolve() });
          this.flush();
        });
        await Promise.race([closeSession, new Promise<void>((resolve) => (timer = setTimeout(resolve, bound)))]);
        clearTimeout(timer);
      }
      this.terminate('closed', new ZooKeeperError('ZK_CLOSED', 'the ZooKeeper client was closed'));
    })();
    return this.closing;
  }

  private setState(next: ZooKeeperState): void {
    const previous = this.state;
    if (previous === next) return;
    this.state = next;
    this.options.logger.info(`ZooKeeper session ${next}`, { session: this.sessionIdHex, previous });
    for (const listener of [...this.listeners]) {
      try {
        listener(next, previous);
      } catch (err) {
        this.options.logger.error('a ZooKeeper state listener threw', { error: describeError(err) });
      }
    }
  }

  private connectNext(): void {
    this.retryTimer = undefined;
    if (this.state === 'lost' || this.state === 'closed') return;
    const n = this.servers.length;
    if (this.attemptsThisRound >= n) {
      this.attemptsThisRound = 0;
      const delay = ROUND_DELAY_MS.min + Math.random() * (ROUND_DELAY_MS.max - ROUND_DELAY_MS.min);
      this.retryTimer = setTimeout(() => this.connectNext(), delay);
      return;
    }
    this.attemptsThisRound++;
    const server = this.servers[this.serverIndex++ % n]!;
    const timeout = this.negotiatedTimeoutMs > 0 ? this.negotiatedTimeoutMs : this.options.sessionTimeoutMs;
    this.connection = new Connection(
      {
        server,
        ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
        connectTimeoutMs: Math.max(MIN_CONNECT_TIMEOUT_MS, Math.floor(timeout / n)),
        maxFrameBytes: this.options.maxFrameBytes,
        request: { lastZxidSeen: this.lastZxid, timeoutMs: this.options.sessionTimeoutMs, sessionId: this.sessionId, passwd: this.passwd },
      },
      {
        handshake: (c, response) => this.onHandshake(c, response),
        frame: (c, frame) => this.onFrame(c, frame),
        closed: (c, reason) => this.onClosed(c, reason),
      },
    );
  }

  private onHandshake(connection: Connection, response: ConnectResponse): void {
    if (connection !== this.connection) return;
    if (response.timeoutMs <= 0) {
      this.terminate('lost', new ZooKeeperError('ZK_SESSIONEXPIRED', `ZooKeeper server ${connection.server} says session 0x${this.sessionIdHex} has expired; create a new client`));
      return;
    }
    const resumed = this.sessionId !== 0n;
    this.sessionId = response.sessionId;
    this.passwd = response.passwd;
    this.negotiatedTimeoutMs = response.timeoutMs;
    this.connected = true;
    this.attemptsThisRound = 0;
    this.lastHeard = performance.now();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.options.logger.info(`ZooKeeper session ${resumed ? 'resumed' : 'established'} with ${connection.server}`, {
      session: this.sessionIdHex,
      timeoutMs: response.timeoutMs,
    });
    // Credentials and watches go before any waiting request, so those run with both in place.
    if (this.options.digest !== undefined) {
      connection.send(encodeRequest(Xid.auth, OpCode.auth, (w) => writeAuth(w, 'digest', Buffer.from(this.options.digest ?? '', 'utf8'))));
    }
    if (this.watches.size > 0) {
      for (const batch of batchWatchLists(this.watches.lists())) {
        connection.send(encodeRequest(Xid.setWatches, OpCode.setWatches, (w) => writeSetWatches(w, this.lastZxid, batch)));
      }
    }
    this.flush();
    if (this.startTimer !== undefined) {
      clearTimeout(this.startTimer);
      this.startTimer = undefined;
      this.starting?.resolve();
    }
    this.setState('connected');
  }

  private onFrame(connection: Connection, frame: Buffer): void {
    if (connection !== this.connection) return;
    this.lastHeard = performance.now();
    const reader = new JuteReader(frame);
    const header = readReplyHeader(reader);
    if (header.zxid > 0n && header.zxid > this.lastZxid) this.lastZxid = header.zxid;
    switch (header.xid) {
      case Xid.ping:
        return;
      case Xid.notification:
        return this.onNotification(reader);
      case Xid.auth:
        if (header.err !== 0) {
          // The server closes the connection after this; the credentials will not get better.
          this.terminate('lost', new ZooKeeperError('ZK_AUTHFAILED', `ZooKeeper server ${connection.server} refused the digest credentials; check the digest option`));
        }
        return;
      case Xid.setWatches:
        if (header.err !== 0) this.options.logger.warn('ZooKeeper refused to re-register watches', { err: header.err });
        return;
    }
    const pending = this.inFlight[0];
    if (pending === undefined || pending.xid !== header.xid) {
      // Left in flight: the connection ends on this and fails it with ZK_CONNECTIONLOSS.
      throw new ZooKeeperError('ZK_MARSHALLINGERROR', `ZooKeeper server ${connection.server} answered xid ${header.xid} but ${pending?.xid ?? 'nothing'} was next`);
    }
    this.inFlight.shift();
    let value: unknown;
    try {
      value = pending.decode(header, reader);
    } catch (err) {
      pending.reject(err);
      return;
    }
    pending.resolve(value);
  }

  private onNotification(reader: JuteReader): void {
    const event = readWatcherEvent(reader);
    const type = eventType(event.type);
    if (type === undefined) return;
    const path = fromServerPath(this.options.chroot, event.path);
    for (const watcher of this.watches.take(type, event.path)) {
      // After the continuations of replies read before this event: delivery in frame order.
      queueMicrotask(() => {
        try {
          watcher({ type, path });
        } catch (err) {
          this.options.logger.error('a ZooKeeper watcher threw', { path, type, error: describeError(err) });
        }
      });
    }
  }

  private onClosed(connection: Connection, reason: ZooKeeperError): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.lastConnectError = reason;
    const wasConnected = this.connected;
    this.connected = false;
    for (const pending of this.inFlight.splice(0)) {
      pending.reject(new ZooKeeperError('ZK_CONNECTIONLOSS', `${reason.message}; the outcome of the request is unknown`, { cause: reason }));
    }
    // Closing: the server ends the connection after closeSession; close() terminates next.
    if (this.closing !== undefined) return;
    if (wasConnected) {
      this.options.logger.warn('ZooKeeper connection lost; reconnecting', { session: this.sessionIdHex, reason: reason.message });
      const left = this.lastHeard + this.negotiatedTimeoutMs - performance.now();
      this.expiryTimer = setTimeout(() => {
        this.terminate(
          'lost',
          new ZooKeeperError('ZK_SESSIONEXPIRED', `no ZooKeeper server of ${this.serverList} answered within the session timeout of ${this.negotiatedTimeoutMs} ms; session 0x${this.sessionIdHex} is lost`),
        );
      }, Math.max(0, left));
      this.setState('suspended');
      if (this.state !== 'suspended') return; // a listener closed the client
    } else {
      this.options.logger.debug('ZooKeeper connect attempt failed', { reason: reason.message });
    }
    this.connectNext();
  }

  private flush(): void {
    const connection = this.connection;
    if (connection === undefined || !this.connected) return;
    while (this.queue.length > 0) {
      const pending = this.queue.shift()!;
      pending.xid = this.nextXid;
      this.nextXid = this.nextXid >= 0x7fffffff ? 1 : this.nextXid + 1;
      this.inFlight.push(pending);
      connection.send(encodeRequest(pending.xid, pending.opCode, (w) => void w.raw(pending.body)));
    }
  }

  /** Ends in a terminal state: every timer and socket gone, every waiting call failed with `err`. */
  private terminate(state: 'lost' | 'closed', err: ZooKeeperError): void {
    if (this.state === 'lost' || this.state === 'closed') return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.startTimer);
    this.retryTimer = this.expiryTimer = this.startTimer = undefined;
    this.connection?.close();
    this.connection = undefined;
    this.connected = false;
    this.watches.clear();
    const waiting = [...this.inFlight.splice(0), ...this.queue.splice(0)];
    // In flight at a close: the server may have applied it. Anything else never reached a server.
    for (const pending of waiting) pending.reject(err);
    this.starting?.reject(err);
    this.setState(state);
  }
}
