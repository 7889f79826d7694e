/**
 * One TCP (or TLS) connection to one ZooKeeper server: the connect handshake, frames in and out,
 * and the heartbeat of a live connection (a ping when nothing was sent for a third of the
 * session timeout; the connection counts as lost when nothing arrived for two thirds of it).
 * It knows nothing of requests or sessions: the session owns it and hears from it through a
 * handler, synchronously and in frame order, so a reply and the watch event after it in the same
 * chunk are handled in that order.
 */
import { isIP, type Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ZooKeeperError } from './errors.js';
import { FrameDecoder, JuteReader } from './jute.js';
import { type ServerAddress, formatServer } from './paths.js';
import { type ConnectRequest, type ConnectResponse, decodeConnectResponse, encodeConnectRequest, encodeRequest, OpCode, Xid } from './protocol.js';

/** PEM material for TLS, read by the client once. */
export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ConnectionHandler {
  /** The server accepted the ConnectRequest (its timeout may still say the session expired). */
  handshake(connection: Connection, response: ConnectResponse): void;
  /** One frame after the handshake. */
  frame(connection: Connection, frame: Buffer): void;
  /** The connection ended other than by close(): refused, timed out, reset, silent, or corrupt. */
  closed(connection: Connection, reason: ZooKeeperError): void;
}

export interface ConnectionOptions {
  server: ServerAddress;
  tls?: TlsMaterial;
  /** Bound on TCP connect + TLS handshake + ConnectResponse. */
  connectTimeoutMs: number;
  maxFrameBytes: number;
  request: ConnectRequest;
}

const PING_FRAME = encodeRequest(Xid.ping, OpCode.ping);

export class Connection {
  readonly server: string;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | undefined;
  private shaken = false;
  private ended = false;
  private lastSent = 0;
  private lastReceived = 0;
  private readTimeoutMs = 0;
  private pingIntervalMs = 0;

  constructor(
    options: ConnectionOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.server = formatServer(options.server);
    this.decoder = new FrameDecoder(options.maxFrameBytes);
    const { host, port } = options.server;
    this.socket =
      options.tls === undefined
        ? netConnect({ host, port })
        : tlsConnect({
            host,
            port,
            ca: options.tls.ca,
            ...(options.tls.cert === undefined ? {} : { cert: options.tls.cert }),
            ...(options.tls.key === undefined ? {} : { key: options.tls.key }),
            // SNI takes names only; an IP address is checked against the certificate's IP SANs.
            ...(isIP(host) === 0 ? { servername: host } : {}),
          });
    this.socket.setNoDelay(true);
    this.timer = setTimeout(
      () => this.fail(new ZooKeeperError('ZK_CONNECTIONLOSS', `no session handshake from ZooKeeper server ${this.server} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(new ZooKeeperError('ZK_CONNECTIONLOSS', `connection to ZooKeeper server ${this.server} failed: ${err.message}`, { cause: err })));
    this.socket.on('close', () => this.fail(new ZooKeeperError('ZK_CONNECTIONLOSS', `ZooKeeper server ${this.server} closed the connection`)));
    // Written before the socket connects, it is sent as soon as it does (after the TLS handshake).
    this.send(encodeConnectRequest(options.request));
  }

  send(frame: Buffer): void {
    if (this.ended) return;
    this.lastSent = performance.now();
    this.socket.write(frame);
  }

  /** Ends the connection without telling the handler. Idempotent. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
  }

  private fail(reason: ZooKeeperError): void {
    if (this.ended) return;
    this.close();
    this.handler.closed(this, reason);
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.lastReceived = performance.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as ZooKeeperError);
      return;
    }
    for (const frame of frames) {
      if (this.ended) return;
      try {
        if (this.shaken) this.handler.frame(this, frame);
        else this.onHandshake(frame);
      } catch (err) {
        const reason =
          err instanceof ZooKeeperError ? err : new ZooKeeperError('ZK_MARSHALLINGERROR', `bad frame from ZooKeeper server ${this.server}: ${String(err)}`, { cause: err });
        this.fail(reason);
        return;
      }
    }
  }

  private onHandshake(frame: Buffer): void {
    const response = decodeConnectResponse(new JuteReader(frame));
    this.shaken = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (response.timeoutMs > 0) {
      this.readTimeoutMs = Math.floor((response.timeoutMs * 2) / 3);
      this.pingIntervalMs = Math.floor(response.timeoutMs / 3);
      this.heartbeat();
    }
    this.handler.handshake(this, response);
  }

  private heartbeat(): void {
    if (this.ended) return;
    const now = performance.now();
    if (now - this.lastReceived >= this.readTimeoutMs) {
      const silent = Math.round(now - this.lastReceived);
      this.fail(new ZooKeeperError('ZK_CONNECTIONLOSS', `no answer from ZooKeeper server ${this.server} for ${silent} ms (read timeout ${this.readTimeoutMs} ms)`));
      return;
    }
    if (now - this.lastSent >= this.pingIntervalMs) this.send(PING_FRAME);
    const next = Math.min(this.lastSent + this.pingIntervalMs, this.lastReceived + this.readTimeoutMs) - now;
    this.timer = setTimeout(() => this.heartbeat(), Math.max(1, Math.ceil(next)));
  }
}
