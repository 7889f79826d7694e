/**
 * One TCP (or TLS) connection to a peer process: the handshake, then calls in both directions,
 * multiplexed by call id, with replies in any order. It knows nothing of endpoints or
 * gateways: inbound calls go to its host, which owns the registry and the connection table.
 */
import type { Socket } from 'node:net';
import { describeError, type SluiceError } from '@sluice/common';
import { decodePayload, encodePayload } from './codec.js';
import { fromWireError, rpcError, toWireError, RPC_ERROR_CODES, type RpcErrorCode } from './errors.js';
import { callFrame, describeForeignBytes, frame, FrameReader, FLAG_TAGGED, FRAME, readCallBody } from './frames.js';
import {
  encodeChallenge, encodeHello, encodeRejection, HANDSHAKE_FRAME_LIMIT, newNonce, parseChallenge, parseHello, parseRejection, proof, proofMatches, readPrefix,
  versionMismatchMessage, type Hello,
} from './handshake.js';
import type { ResolvedNetworkRpcOptions } from './options.js';

export interface ConnectionHost {
  readonly options: ResolvedNetworkRpcOptions;
  /** `host:port` this process's server advertises, sent in HELLO so the peer can call back on this connection. */
  advertisedPeer(): string | undefined;
  /** Runs an inbound call; `method` null only checks that the endpoint exists. */
  dispatch(endpoint: string, method: string | null, args: unknown[]): Promise<unknown>;
  established(conn: Connection): void;
  closed(conn: Connection, reason: string, wasOpen: boolean): void;
}

interface PendingCall {
  resolve(v: unknown): void;
  reject(e: SluiceError): void;
  timer: NodeJS.Timeout | undefined;
}

type Role = 'client' | 'server';
type Step = 'hello' | 'challenge' | 'auth' | 'ready' | 'open' | 'closed';

/** Failures before the handshake completed: no call was delivered, so the caller may simply retry. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export class Connection {
  /** The peer's `host:port`: the one dialled, or the one an inbound peer advertised (after auth). */
  peer: string | undefined;
  readonly ready: Promise<void>;
  private step: Step;
  private readyResolve!: () => void;
  private readyReject!: (e: SluiceError) => void;
  private readonly pending = new Map<number, PendingCall>();
  private nextCallId = 1;
  private peerMaxFrameBytes = HANDSHAKE_FRAME_LIMIT;
  private readonly reader: FrameReader;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private hello: Hello | undefined;
  private readonly clientNonce = newNonce();
  private serverNonce: Buffer | undefined;
  private corked = false;
  private failure: SluiceError | undefined;
  private remoteSeen: string | undefined;

  constructor(
    private readonly host: ConnectionHost,
    private readonly socket: Socket,
    readonly role: Role,
    /** For a client: the `host:port` dialled. */
    private readonly dialled: string | undefined,
    connectedEvent: 'connect' | 'secureConnect' | undefined,
  ) {
    this.peer = dialled;
    if (socket.remoteAddress !== undefined) this.remoteSeen = `${socket.remoteAddress}:${socket.remotePort ?? ''}`;
    this.step = role === 'client' ? 'challenge' : 'hello';
    this.ready = new Promise<void>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.reader = new FrameReader(HANDSHAKE_FRAME_LIMIT, (k, b) => this.onFrame(k, b), (n, first) => this.onOversized(n, first));
    const o = host.options;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onSocketError(err));
    socket.on('close', () => this.close('the peer closed the connection'));
    this.handshakeTimer = setTimeout(() => this.refuse(RPC_ERROR_CODES.HANDSHAKE, `no complete handshake within ${o.handshakeTimeoutMs} ms`), o.handshakeTimeoutMs);
    if (role === 'client') {
      const sendHello = (): void => {
        const h = { version: o.protocolVersion, nonce: this.clientNonce, maxFrameBytes: o.maxFrameBytes, advertised: host.advertisedPeer() };
        this.write(frame(FRAME.HELLO, encodeHello(h)));
      };
      if (connectedEvent === undefined) sendHello();
      else socket.once(connectedEvent, sendHello);
    }
  }

  /** The socket's remote `ip:port` (the dialled peer until connected), for log lines. */
  get remote(): string {
    const s = this.socket;
    // Remembered: a destroyed socket no longer knows its peer, and the log line still needs it.
    if (s.remoteAddress !== undefined) this.remoteSeen = `${s.remoteAddress}:${s.remotePort ?? ''}`;
    return this.remoteSeen ?? this.dialled ?? '?';
  }

  /** `sluice://host:port` of the peer (or its socket address), for messages. */
  get label(): string {
    return `sluice://${this.peer ?? this.remote}`;
  }

  get isOpen(): boolean {
    return this.step === 'open';
  }

  get isClosed(): boolean {
    return this.step === 'closed';
  }

  async call(endpoint: string, method: string | null, args: unknown[], timeoutMs: number): Promise<unknown> {
    if (this.step !== 'open') await this.ready;
    if (this.step !== 'open') throw this.failure ?? rpcError(RPC_ERROR_CODES.CONNECTION_LOST, `connection to ${this.label} is closed`);
    const what = method === null ? `looking up endpoint '${endpoint}'` : `call ${endpoint}.${method}`;
    const { json, tagged } = encodePayload([endpoint, method, args]);
    const id = this.nextCallId;
    this.nextCallId = this.nextCallId >= 0xffff_ffff ? 1 : this.nextCallId + 1;
    const buf = callFrame(FRAME.CALL, id, tagged ? FLAG_TAGGED : 0, json);
    if (buf.length - 4 > this.peerMaxFrameBytes) {
      throw rpcError(RPC_ERROR_CODES.FRAME_TOO_LARGE, `${what} on ${this.label} is ${buf.length} bytes, more than the peer's frame limit of ${this.peerMaxFrameBytes} bytes (rpc maxFrameBytes); send less per call`);
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = timeoutMs > 0
        ? setTimeout(() => {
            this.pending.delete(id);
            reject(rpcError(RPC_ERROR_CODES.TIMEOUT, `${what} on ${this.label} got no reply within ${timeoutMs} ms; the peer may be overloaded or gone`));
          }, timeoutMs)
        : undefined;
      this.pending.set(id, { resolve, reject, timer });
      this.write(buf);
    });
  }

  /**
   * Ends the connection: pending calls fail with `error` (by default RPC_CONNECTION_LOST, or the
   * handshake failure), and the host learns of it. Idempotent.
   */
  close(reason: string, error?: SluiceError, farewell?: Buffer): void {
    if (this.step === 'closed') return;
    const wasOpen = this.step === 'open';
    this.step = 'closed';
    clearTimeout(this.handshakeTimer);
    this.reader.stop();
    this.failure = error ?? (wasOpen
      ? rpcError(RPC_ERROR_CODES.CONNECTION_LOST, `connection to ${this.label} was lost (${reason}); the call may or may not have run`)
      : rpcError(RPC_ERROR_CODES.HANDSHAKE, `connection to ${this.label} closed during the handshake (${reason}); if only one side has TLS (security.ssl) enabled, enable it on both`));
    this.readyReject(this.failure);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    this.pending.clear();
    if (farewell !== undefined && !this.socket.destroyed) this.socket.end(farewell, () => this.socket.destroy());
    else this.socket.destroy();
    this.host.closed(this, reason, wasOpen);
  }

  /** Refuses or ends the connection with a reason the peer is told (REJECT) and this side logs. */
  private refuse(code: RpcErrorCode, reason: string, level: 'warn' | 'error' = 'warn'): void {
    if (this.step === 'closed') return;
    const inbound = this.role === 'server' ? `from ${this.remote}` : `to ${this.label}`;
    if (this.role === 'server' || this.step === 'open') this.host.options.logger[level](`closed rpc connection ${inbound}: ${reason}`, { peer: this.remote, code });
    const farewell = frame(FRAME.REJECT, encodeRejection({ code, message: reason, version: this.host.options.protocolVersion }));
    this.close(reason, rpcError(code, `rpc connection ${inbound} closed: ${reason}`), farewell);
  }

  private onSocketError(err: NodeJS.ErrnoException): void {
    const code = err.code ?? '';
    if (this.role === 'client' && this.step !== 'open' && this.step !== 'closed') {
      if (UNREACHABLE_CODES.has(code)) {
        this.close(err.message, rpcError(RPC_ERROR_CODES.UNREACHABLE, `cannot reach ${this.label}: ${err.message}; is a Sluice process listening there?`, err));
        return;
      }
      if (isTlsError(code)) {
        this.close(err.message, rpcError(RPC_ERROR_CODES.TLS, `TLS with ${this.label} failed: ${tlsReason(err)}; check the TLS settings (security.ssl: ca, cert, key) on both sides`, err));
        return;
      }
    }
    this.close(describeError(err));
  }

  private onOversized(length: number, first: Buffer): void {
    if (this.step !== 'open') {
      this.refuse(RPC_ERROR_CODES.PROTOCOL, `what the peer sent looks like ${describeForeignBytes(first)}`);
    } else {
      const limit = this.reader.limit;
      this.refuse(RPC_ERROR_CODES.FRAME_TOO_LARGE, `a frame of ${length} bytes exceeds this process's limit of ${limit} bytes (rpc maxFrameBytes)`);
    }
  }

  private onFrame(kind: number, body: Buffer): void {
    if (kind === FRAME.REJECT) {
      this.onRejection(body);
      return;
    }
    switch (this.step) {
      case 'hello':
        if (kind === FRAME.HELLO) this.onHello(body);
        else this.refuse(RPC_ERROR_CODES.PROTOCOL, `it opened with frame kind ${kind}, not a sluice-rpc HELLO: ${describeForeignBytes(body.subarray(0, 16))}`);
        return;
      case 'challenge':
        if (kind === FRAME.CHALLENGE) this.onChallenge(body);
        else this.refuse(RPC_ERROR_CODES.PROTOCOL, `expected a CHALLENGE frame, got kind ${kind}`);
        return;
      case 'auth':
        if (kind === FRAME.AUTH) this.onAuth(body);
        else this.refuse(RPC_ERROR_CODES.PROTOCOL, `expected an AUTH frame, got kind ${kind}`);
        return;
      case 'ready':
        if (kind === FRAME.READY) this.open();
        else this.refuse(RPC_ERROR_CODES.PROTOCOL, `expected a READY frame, got kind ${kind}`);
        return;
      case 'open':
        this.onOpenFrame(kind, body);
        return;
      case 'closed':
        return;
    }
  }

  private onHello(body: Buffer): void {
    const o = this.host.options;
    const prefix = readPrefix(body);
    if ('foreign' in prefix) return this.refuse(RPC_ERROR_CODES.PROTOCOL, prefix.foreign);
    if (prefix.version !== o.protocolVersion) return this.refuse(RPC_ERROR_CODES.VERSION_MISMATCH, versionMismatchMessage(prefix.version, o.protocolVersion), 'error');
    const hello = parseHello(body);
    if (hello === undefined) return this.refuse(RPC_ERROR_CODES.PROTOCOL, 'its HELLO frame is malformed');
    this.hello = hello;
    this.serverNonce = newNonce();
    const serverProof = proof(o.secret, 'server', hello.nonce, this.serverNonce);
    this.step = 'auth';
    this.write(frame(FRAME.CHALLENGE, encodeChallenge({ version: o.protocolVersion, nonce: this.serverNonce, proof: serverProof, maxFrameBytes: o.maxFrameBytes })));
  }

  private onChallenge(body: Buffer): void {
    const o = this.host.options;
    const prefix = readPrefix(body);
    if ('foreign' in prefix) return this.refuse(RPC_ERROR_CODES.PROTOCOL, prefix.foreign);
    if (prefix.version !== o.protocolVersion) return this.refuse(RPC_ERROR_CODES.VERSION_MISMATCH, versionMismatchMessage(prefix.version, o.protocolVersion));
    const c = parseChallenge(body);
    if (c === undefined) return this.refuse(RPC_ERROR_CODES.PROTOCOL, 'its CHALLENGE frame is malformed');
    if (!proofMatches(c.proof, proof(o.secret, 'server', this.clientNonce, c.nonce))) {
      return this.refuse(RPC_ERROR_CODES.AUTH, "the cluster secret does not match the peer's (the server's proof does not match); every node must use the same secret");
    }
    this.peerMaxFrameBytes = c.maxFrameBytes;
    this.step = 'ready';
    this.write(frame(FRAME.AUTH, proof(o.secret, 'client', this.clientNonce, c.nonce)));
  }

  private onAuth(body: Buffer): void {
    const o = this.host.options;
    const hello = this.hello;
    if (hello === undefined || this.serverNonce === undefined) return this.refuse(RPC_ERROR_CODES.PROTOCOL, 'AUTH before HELLO');
    if (!proofMatches(body, proof(o.secret, 'client', hello.nonce, this.serverNonce))) {
      return this.refuse(RPC_ERROR_CODES.AUTH, 'wrong cluster secret (its proof does not match); every node must use the same secret');
    }
    this.peerMaxFrameBytes = hello.maxFrameBytes;
    this.peer = hello.advertised;
    this.write(frame(FRAME.READY));
    this.open();
  }

  private open(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.step = 'open';
    this.reader.limit = this.host.options.maxFrameBytes;
    this.readyResolve();
    this.host.established(this);
  }

  private onRejection(body: Buffer): void {
    const r = parseRejection(body);
    const o = this.host.options;
    let error: SluiceError;
    if (r.code === RPC_ERROR_CODES.VERSION_MISMATCH) {
      error = rpcError(RPC_ERROR_CODES.VERSION_MISMATCH, `${this.label}: ${versionMismatchMessage(r.version, o.protocolVersion)}`);
    } else if (r.code === RPC_ERROR_CODES.AUTH) {
      error = rpcError(RPC_ERROR_CODES.AUTH, `${this.label} refused the connection: ${this.role === 'client' ? "this process's cluster secret does not match the peer's; every node must use the same secret" : r.message}`);
    } else if (this.step === 'open') {
      error = rpcError(RPC_ERROR_CODES.CONNECTION_LOST, `connection to ${this.label} was closed by the peer: ${r.message}; the call may or may not have run`);
    } else {
      error = rpcError(RPC_ERROR_CODES.HANDSHAKE, `${this.label} refused the connection: ${r.message}`);
    }
    if (this.role === 'server') {
      const why = r.code === RPC_ERROR_CODES.AUTH ? "wrong cluster secret (the client found this server's proof does not match); every node must use the same secret" : `the client refused it: ${r.message}`;
      o.logger.warn(`closed rpc connection from ${this.remote}: ${why}`, { peer: this.remote, code: r.code });
    }
    this.close(`refused by the peer: ${r.message}`, error);
  }

  private onOpenFrame(kind: number, body: Buffer): void {
    const b = readCallBody(body);
    if (b === undefined || (kind !== FRAME.CALL && kind !== FRAME.REPLY && kind !== FRAME.ERROR)) {
      this.refuse(RPC_ERROR_CODES.PROTOCOL, `a malformed frame (kind ${kind}, ${body.length} bytes)`);
      return;
    }
    if (kind === FRAME.CALL) {
      this.onCall(b.callId, b.flags, b.json);
      return;
    }
    const p = this.pending.get(b.callId);
    if (p === undefined) return; // the call timed out; its late reply has no one to go to
    this.pending.delete(b.callId);
    clearTimeout(p.timer);
    let value: unknown;
    try {
      value = decodePayload(b.json, (b.flags & FLAG_TAGGED) !== 0);
    } catch (err) {
      p.reject(rpcError(RPC_ERROR_CODES.PROTOCOL, `cannot decode a reply from ${this.label}: ${describeError(err)}`, err));
      return;
    }
    if (kind === FRAME.REPLY) p.resolve(value);
    else p.reject(fromWireError(value, this.label));
  }

  private onCall(callId: number, flags: number, json: string): void {
    let endpoint: string;
    let method: string | null;
    let args: unknown[];
    try {
      const v = decodePayload(json, (flags & FLAG_TAGGED) !== 0) as unknown[];
      if (!Array.isArray(v) || typeof v[0] !== 'string' || (typeof v[1] !== 'string' && v[1] !== null) || !Array.isArray(v[2])) throw new Error('not [endpoint, method, args]');
      [endpoint, method, args] = v as [string, string | null, unknown[]];
    } catch (err) {
      this.reply(callId, FRAME.ERROR, toWireError(rpcError(RPC_ERROR_CODES.PROTOCOL, `cannot decode the call: ${describeError(err)}`)));
      return;
    }
    this.host.dispatch(endpoint, method, args).then(
      (result) => this.reply(callId, FRAME.REPLY, result, `the result of ${endpoint}.${method ?? ''}`),
      (err: unknown) => this.reply(callId, FRAME.ERROR, toWireError(err)),
    );
  }

  private reply(callId: number, kind: number, value: unknown, what = 'the error'): void {
    if (this.step !== 'open') return;
    let buf: Buffer;
    try {
      const { json, tagged } = encodePayload(value);
      buf = callFrame(kind, callId, tagged ? FLAG_TAGGED : 0, json);
      if (buf.length - 4 > this.peerMaxFrameBytes) {
        throw rpcError(RPC_ERROR_CODES.FRAME_TOO_LARGE, `${what} is ${buf.length} bytes, more than the caller's frame limit of ${this.peerMaxFrameBytes} bytes (rpc maxFrameBytes)`);
      }
    } catch (err) {
      const { json } = encodePayload(toWireError(err));
      buf = callFrame(FRAME.ERROR, callId, 0, json);
    }
    this.write(buf);
  }

  /** Writes in one batch whatever is sent in the same tick (many concurrent calls, one syscall). */
  private write(buf: Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }
}

/** OpenSSL's short reason ("wrong version number") rather than its multi-line message. */
export function tlsReason(err: Error): string {
  const reason = (err as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason.length > 0 ? reason : err.message;
}

function isTlsError(code: string): boolean {
  return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME/.test(code);
}
