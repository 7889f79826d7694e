/**
 * NetworkRpcService: the RpcService that serves gateways to other processes and hosts. Local
 * names (`register('resourcemanager', gw)`) are served both to this process and, at
 * `sluice://<advertised host>:<port>/resourcemanager`, to peers; `connect()` of a network address
 * returns a proxy whose methods are calls over the one connection this process keeps per peer.
 */
import { createServer as createTcpServer, connect as tcpConnect, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, checkServerIdentity, type TLSSocket } from 'node:tls';
import { ConfigurationError, describeError, SluiceError } from '@sluice/common';
import { RpcUnreachableError, type RpcService } from '@sluice/protocol';
import { checkEndpointName, formatAddress, isNetworkAddress, parseAddress, parsePeer, peerKey, type NetworkAddress } from './address.js';
import { Connection, tlsReason, type ConnectionHost } from './connection.js';
import { rpcError, RPC_ERROR_CODES } from './errors.js';
import { createGatewayProxy, findCallable } from './gateway.js';
import { isLoopback, isWildcard, resolveNetworkRpcOptions, type NetworkRpcOptions, type ResolvedNetworkRpcOptions } from './options.js';

export interface ConnectOptions {
  /** Timeout of each call through this gateway; 0 = none (for calls that wait for an outcome, like requestJobResult). */
  timeoutMs?: number;
}

export interface PeerLost {
  /** `host:port` of the peer. */
  peer: string;
  reason: string;
}

export interface RpcConnectionInfo {
  direction: 'inbound' | 'outbound';
  /** `host:port` dialled, or advertised by an inbound peer (undefined: a client-only peer). */
  peer: string | undefined;
  /** The socket's remote `ip:port`. */
  remote: string;
  open: boolean;
}

export class NetworkRpcService implements RpcService, ConnectionHost {
  readonly options: ResolvedNetworkRpcOptions;
  private readonly endpoints = new Map<string, object>();
  /** The connection calls to a peer use: one this process dialled, or an inbound one the peer advertised. */
  private readonly byPeer = new Map<string, Connection>();
  private readonly connections = new Set<Connection>();
  /**
   * Every socket not yet closed, both directions, also those still in a TLS handshake or
   * flushing a farewell after their connection ended, so stop() can end them all.
   */
  private readonly sockets = new Map<Socket, Promise<void>>();
  private readonly lostListeners = new Map<string, Set<(e: PeerLost) => void>>();
  /** Every network address this process connected to, by peer: what `onAddressLost` reports. */
  private readonly connectedAddresses = new Map<string, Set<string>>();
  private readonly addressListeners = new Set<(address: string, reason: string) => void>();
  private server: Server | undefined;
  private boundPort: number | undefined;
  private stopped = false;

  constructor(options: NetworkRpcOptions = {}) {
    this.options = resolveNetworkRpcOptions(options);
  }

  /** Listens on bindHost:port; resolves with the bound port. */
  async start(): Promise<number> {
    const o = this.options;
    if (this.stopped) throw rpcError(RPC_ERROR_CODES.SERVICE_STOPPED, 'this RpcService was stopped; create a new one');
    if (this.server !== undefined) throw new SluiceError('RPC_ALREADY_STARTED', 'this RpcService is already started');
    if (isWildcard(o.bindHost) && o.advertisedHost === undefined) {
      throw new ConfigurationError(`rpc bindHost ${o.bindHost} listens on every interface, so peers need to be told which address to use: set advertisedHost`);
    }
    const server = o.tls === undefined
      ? createTcpServer((s) => this.accept(s))
      : createTlsServer(
          { key: o.tls.key, cert: o.tls.cert, ca: o.tls.ca, requestCert: o.tls.requireClientAuth, rejectUnauthorized: o.tls.requireClientAuth, handshakeTimeout: o.handshakeTimeoutMs },
          (s) => this.accept(s),
        );
    server.on('connection', (raw: Socket) => this.track(raw));
    server.on('tlsClientError', (err: Error, s: TLSSocket) => {
      // A client that hangs up mid-handshake (often: it does not trust this server's
      // certificate) has taken its address with it.
      const who = s.remoteAddress === undefined ? 'a client that closed the connection' : `${s.remoteAddress}:${s.remotePort ?? ''}`;
      o.logger.warn(`refused rpc connection from ${who}: TLS handshake failed: ${tlsReason(err)}`, { peer: who });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server = undefined;
        reject(new ConfigurationError(`rpc cannot listen on ${peerKey(o.bindHost, o.port)}: ${err.message}; choose another rpc port or bindHost`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(o.port, o.bindHost, () => {
        server.off('error', onError);
        server.on('error', (err) => o.logger.error(`rpc server error: ${describeError(err)}`));
        resolve();
      });
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : o.port;
    o.logger.info('rpc listening', { bind: peerKey(o.bindHost, this.boundPort), advertised: this.advertisedPeer(), tls: o.tls !== undefined, authenticated: o.authenticated });
    return this.boundPort;
  }

  /** The port the server listens on (undefined before start()); may differ from the advertised one. */
  get listeningPort(): number | undefined {
    return this.boundPort;
  }

  /** The full address peers use to call `endpoint` here: `sluice://<advertised host>:<port>/<endpoint>`. */
  addressOf(endpoint: string): string {
    checkEndpointName(endpoint);
    const peer = this.advertisedHostPort();
    if (peer === undefined) throw rpcError(RPC_ERROR_CODES.NOT_STARTED, `addressOf('${endpoint}') before start(): the port is not known yet`);
    return formatAddress(peer.host, peer.port, endpoint);
  }

  advertisedPeer(): string | undefined {
    const p = this.advertisedHostPort();
    return p === undefined ? undefined : peerKey(p.host, p.port);
  }

  register<G extends object>(address: string, gateway: G): void {
    const endpoint = this.localEndpoint(address);
    if (this.endpoints.has(endpoint)) throw new SluiceError('RPC_ADDRESS_IN_USE', `RPC address '${address}' is already registered`);
    this.endpoints.set(endpoint, gateway);
  }

  /** Stops serving `address`; like LocalRpcService, never throws (it runs on shutdown paths). */
  unregister(address: string): void {
    if (!isNetworkAddress(address)) {
      this.endpoints.delete(address);
      return;
    }
    try {
      const a = parseAddress(address);
      if (this.isSelf(a.peer)) this.endpoints.delete(a.endpoint);
    } catch {
      // not an address this process could have registered
    }
  }

  /**
   * A gateway at `address`. A local name, or a network address of this process, resolves to the
   * registered object itself; any other network address to a proxy, after checking over the
   * connection that the endpoint exists (RPC_UNREACHABLE if not).
   */
  async connect<G extends object>(address: string, options: ConnectOptions = {}): Promise<G> {
    if (this.stopped) throw rpcError(RPC_ERROR_CODES.SERVICE_STOPPED, `cannot connect to '${address}': this RpcService was stopped`);
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new ConfigurationError(`rpc connect timeoutMs must be a non-negative integer, got ${timeoutMs}`);
    const target = isNetworkAddress(address) ? parseAddress(address) : undefined;
    if (target === undefined || this.isSelf(target.peer)) {
      const g = this.endpoints.get(target?.endpoint ?? address);
      if (g === undefined) throw new RpcUnreachableError(address);
      return g as G;
    }
    await this.connectionTo(target).call(target.endpoint, null, [], timeoutMs);
    let known = this.connectedAddresses.get(target.peer);
    if (known === undefined) this.connectedAddresses.set(target.peer, (known = new Set()));
    known.add(address);
    return createGatewayProxy<G>(address, async (method, args) => this.connectionTo(target).call(target.endpoint, method, args, timeoutMs));
  }

  /**
   * Calls `listener` whenever an established connection with the peer of `address` (a network
   * address or `host:port`) closes, other than by this service's stop(): calls on it then fail
   * with RPC_CONNECTION_LOST, and the next call reconnects. Returns the unsubscribe function.
   */
  onPeerLost(address: string, listener: (e: PeerLost) => void): () => void {
    const { peer } = parsePeer(address);
    let set = this.lostListeners.get(peer);
    if (set === undefined) this.lostListeners.set(peer, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.lostListeners.get(peer) === set) this.lostListeners.delete(peer);
    };
  }

  /**
   * Calls `listener` with every address this process has connected to (`connect()`) at a peer
   * whose established connection closed, other than by stop(): what a component's
   * `peerConnectionClosed(address)` takes, so its heartbeat peers there are lost at once.
   * Returns the unsubscribe function.
   */
  onAddressLost(listener: (address: string, reason: string) => void): () => void {
    this.addressListeners.add(listener);
    return () => void this.addressListeners.delete(listener);
  }

  connectionInfo(): RpcConnectionInfo[] {
    return [...this.connections].map((c) => ({ direction: c.role === 'client' ? 'outbound' : 'inbound', peer: c.peer, remote: c.remote, open: c.isOpen }));
  }

  /** Closes the server and every connection; pending calls fail with RPC_SERVICE_STOPPED. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const server = this.server;
    const serverClosed = server === undefined ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
    const error = rpcError(RPC_ERROR_CODES.SERVICE_STOPPED, 'the RpcService was stopped; the call may or may not have run');
    for (const c of [...this.connections]) c.close('this process stopped its RpcService', error);
    const closing = [...this.sockets.values()];
    for (const s of this.sockets.keys()) s.destroy();
    await Promise.all([serverClosed, ...closing]);
    this.lostListeners.clear();
    this.addressListeners.clear();
  }

  async dispatch(endpoint: string, method: string | null, args: unknown[]): Promise<unknown> {
    const gateway = this.endpoints.get(endpoint);
    if (gateway === undefined) throw new RpcUnreachableError(this.advertisedPeer() === undefined ? endpoint : this.addressOf(endpoint));
    if (method === null) return true;
    const fn = findCallable(gateway, method);
    if (fn === undefined) {
      throw rpcError(RPC_ERROR_CODES.UNKNOWN_METHOD, `endpoint '${endpoint}' has no callable method '${method}'; the caller may run another Sluice version`);
    }
    return await fn.apply(gateway, args);
  }

  established(conn: Connection): void {
    if (this.stopped) return;
    if (conn.role === 'server' && conn.peer !== undefined) {
      // The peer said where its own server is: calls to it can go back over this connection,
      // so a pair of processes calling each other shares one.
      try {
        conn.peer = parsePeer(conn.peer).peer;
      } catch {
        conn.peer = undefined;
        return;
      }
      if (this.byPeer.get(conn.peer)?.isClosed !== false) this.byPeer.set(conn.peer, conn);
    }
    this.options.logger.debug('rpc connection open', { peer: conn.peer ?? conn.remote, direction: conn.role === 'client' ? 'outbound' : 'inbound' });
  }

  closed(conn: Connection, reason: string, wasOpen: boolean): void {
    this.connections.delete(conn);
    const peer = conn.peer;
    if (peer === undefined) return;
    if (this.byPeer.get(peer) === conn) this.byPeer.delete(peer);
    if (!wasOpen || this.stopped) return;
    this.options.logger.info(`rpc connection with ${peer} closed: ${reason}`, { peer });
    for (const listener of [...(this.lostListeners.get(peer) ?? [])]) {
      try {
        listener({ peer, reason });
      } catch (err) {
        this.options.logger.error(`a peer-lost listener threw: ${describeError(err)}`, { peer });
      }
    }
    for (const address of [...(this.connectedAddresses.get(peer) ?? [])]) {
      for (const listener of [...this.addressListeners]) {
        try {
          listener(address, reason);
        } catch (err) {
          this.options.logger.error(`an address-lost listener threw: ${describeError(err)}`, { peer });
        }
      }
    }
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(this, socket, 'server', undefined, undefined));
  }

  private connectionTo(target: NetworkAddress): Connection {
    if (this.stopped) throw rpcError(RPC_ERROR_CODES.SERVICE_STOPPED, `cannot call ${formatAddress(target.host, target.port, target.endpoint)}: this RpcService was stopped`);
    const existing = this.byPeer.get(target.peer);
    if (existing !== undefined && !existing.isClosed) return existing;
    const o = this.options;
    // Outgoing connections leave from the bind address, so a peer sees this process at the host
    // it knows it by (several "hosts" on one machine, multi-homed machines).
    const localAddress = isIP(o.bindHost) !== 0 && !isWildcard(o.bindHost) && (!isLoopback(o.bindHost) || isLoopback(target.host)) ? o.bindHost : undefined;
    const base = { host: target.host, port: target.port, ...(localAddress === undefined ? {} : { localAddress }) };
    let socket: Socket;
    if (o.tls === undefined) {
      socket = tcpConnect(base);
    } else {
      const tls = o.tls;
      socket = tlsConnect({
        ...base,
        ca: tls.ca,
        key: tls.key,
        cert: tls.cert,
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
        checkServerIdentity: (host, cert) => (tls.verifyHostname ? checkServerIdentity(host, cert) : undefined),
      });
    }
    this.track(socket);
    const conn = new Connection(this, socket, 'client', target.peer, o.tls === undefined ? 'connect' : 'secureConnect');
    this.connections.add(conn);
    this.byPeer.set(target.peer, conn);
    return conn;
  }

  private track(socket: Socket): void {
    this.sockets.set(socket, new Promise<void>((resolve) => socket.once('close', () => {
      this.sockets.delete(socket);
      resolve();
    })));
  }

  private isSelf(peer: string): boolean {
    return this.boundPort !== undefined && (peer === this.advertisedPeer() || peer === peerKey(this.options.bindHost, this.boundPort));
  }

  private advertisedHostPort(): { host: string; port: number } | undefined {
    if (this.boundPort === undefined) return undefined;
    return { host: this.options.advertisedHost ?? this.options.bindHost, port: this.options.advertisedPort ?? this.boundPort };
  }

  /** A local name, or a network address of this process reduced to its endpoint. */
  private localEndpoint(address: string): string {
    if (!isNetworkAddress(address)) {
      checkEndpointName(address);
      return address;
    }
    const a = parseAddress(address);
    if (!this.isSelf(a.peer)) throw new ConfigurationError(`cannot register '${address}': it is not an address of this process (${this.advertisedPeer() ?? 'not started'})`);
    return a.endpoint;
  }
}
