/**
 * The TaskManagers' data port, authenticated with the cluster secret (and under TLS when the RPC
 * has it): a DataTransport for the shuffle's TCP exchange. Before a stream is handed to the
 * exchange, both sides prove they hold the secret with the RPC's HMAC proofs under their own
 * label, so a proof from one protocol is worthless in the other:
 *
 *   client → HELLO     magic "SLDX" | u16 version | 32-byte client nonce
 *   server → CHALLENGE 0x02 | u16 version | 32-byte server nonce | server proof
 *   client → AUTH      0x03 | client proof            (only after checking the server's proof)
 *   server → READY     0x04
 *   either → REJECT    0x05 | u16 length | UTF-8 reason, then close
 *
 * Whatever fails (garbage, another version, a wrong secret, silence) is logged with the reason on
 * the server, which refuses that connection and goes on serving.
 */
import { createServer as createTcpServer, connect as tcpConnect, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, checkServerIdentity, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { ConfigurationError, SluiceError } from '@sluice/common';
import type { DataAddress } from '@sluice/protocol';
import { peerKey } from './address.js';
import { describeForeignBytes } from './frames.js';
import { newNonce, NONCE_BYTES, PROOF_BYTES, proof, proofMatches } from './handshake.js';
import { isLoopback, isWildcard, type ResolvedNetworkRpcOptions } from './options.js';
import { tlsReason } from './connection.js';

export const DATA_HANDSHAKE_VERSION = 1;
const MAGIC = Buffer.from('SLDX', 'latin1');
const LABEL = 'sluice-data';
const KIND = { CHALLENGE: 0x02, AUTH: 0x03, READY: 0x04, REJECT: 0x05 } as const;
const MAX_REASON_BYTES = 1024;

/** What the shuffle's exchange needs of a transport (structurally @sluice/runtime's DataTransport). */
export interface AuthenticatedDataTransport {
  connect(address: DataAddress): Promise<Duplex>;
  listen(onConnection: (stream: Duplex) => void): Promise<DataAddress>;
  close(): Promise<void>;
}

export interface AuthenticatedDataTransportOptions {
  /** The secret, TLS, logger and handshake timeout to use: those of this process's NetworkRpcService. */
  rpc: ResolvedNetworkRpcOptions;
  /** Interface to listen on; default the RPC's bindHost. */
  bindHost?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Host peers dial; default the RPC's advertisedHost, else bindHost. */
  advertisedHost?: string;
  /** Port peers dial, when a port mapping puts it elsewhere than the bound one. */
  advertisedPort?: number;
}

export class DataHandshakeError extends SluiceError {
  constructor(message: string, retriable = false) {
    super('DATA_HANDSHAKE', message, { retriable });
    this.name = 'DataHandshakeError';
  }
}

export function createAuthenticatedDataTransport(options: AuthenticatedDataTransportOptions): AuthenticatedDataTransport {
  const rpc = options.rpc;
  const bindHost = options.bindHost ?? rpc.bindHost;
  const advertisedHost = options.advertisedHost ?? rpc.advertisedHost ?? bindHost;
  if (isWildcard(bindHost) && advertisedHost === bindHost) {
    throw new ConfigurationError(`the data port binds ${bindHost} (every interface): set an advertised host so other TaskManagers know where to connect`);
  }
  const log = rpc.logger;
  let server: Server | undefined;
  const accepted = new Set<Socket>();

  const serve = (socket: Socket, onConnection: (s: Duplex) => void): void => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? ''}`;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    serverHandshake(socket, rpc).then(
      () => {
        accepted.delete(socket);
        onConnection(socket);
      },
      (err: unknown) => {
        log.warn(`refused data connection from ${who}: ${err instanceof Error ? err.message : String(err)}`, { peer: who });
        socket.destroy();
      },
    );
  };

  return {
    async connect(address) {
      const localAddress = isIP(bindHost) !== 0 && !isWildcard(bindHost) && (!isLoopback(bindHost) || isLoopback(address.host)) ? bindHost : undefined;
      const base = { host: address.host, port: address.port, ...(localAddress === undefined ? {} : { localAddress }) };
      const tls = rpc.tls;
      const socket: Socket =
        tls === undefined
          ? tcpConnect(base)
          : tlsConnect({
              ...base,
              ca: tls.ca,
              key: tls.key,
              cert: tls.cert,
              ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
              checkServerIdentity: (host, cert) => (tls.verifyHostname ? checkServerIdentity(host, cert) : undefined),
            });
      socket.setNoDelay(true);
      const target = peerKey(address.host, address.port);
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => reject(new DataHandshakeError(`cannot connect to the data port ${target}: ${tls === undefined ? err.message : tlsReason(err)}`, true));
        socket.once('error', fail);
        socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
          socket.off('error', fail);
          resolve();
        });
      });
      socket.on('error', () => undefined);
      try {
        await clientHandshake(socket, rpc, target);
      } catch (err) {
        socket.destroy();
        throw err;
      }
      return socket;
    },

    listen(onConnection) {
      const tls = rpc.tls;
      const s =
        tls === undefined
          ? createTcpServer((socket) => serve(socket, onConnection))
          : createTlsServer(
              { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.requireClientAuth, rejectUnauthorized: tls.requireClientAuth, handshakeTimeout: rpc.handshakeTimeoutMs },
              (socket: TLSSocket) => serve(socket, onConnection),
            );
      s.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        log.warn(`refused data connection from ${socket.remoteAddress ?? 'a client that closed the connection'}: TLS handshake failed: ${tlsReason(err)}`);
      });
      server = s;
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(new ConfigurationError(`cannot listen on data port ${peerKey(bindHost, options.port ?? 0)}: ${err.message}; choose another data port or bind host`, { cause: err }));
        s.once('error', onError);
        s.listen(options.port ?? 0, bindHost, () => {
          s.off('error', onError);
          const bound = s.address();
          const port = typeof bound === 'object' && bound !== null ? bound.port : (options.port ?? 0);
          const advertisedPort = options.advertisedPort ?? port;
          log.info('data port listening', { bind: peerKey(bindHost, port), advertised: peerKey(advertisedHost, advertisedPort), tls: tls !== undefined });
          resolve({ host: advertisedHost, port: advertisedPort });
        });
      });
    },

    close() {
      const s = server;
      server = undefined;
      for (const socket of accepted) socket.destroy();
      accepted.clear();
      if (s === undefined) return Promise.resolve();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}

async function serverHandshake(socket: Socket, rpc: ResolvedNetworkRpcOptions): Promise<void> {
  const reader = new HandshakeReader(socket, rpc.handshakeTimeoutMs);
  try {
    // The magic first, so a stranger that sends a few bytes and waits is told off at once.
    const magic = await reader.take(MAGIC.length);
    if (!magic.equals(MAGIC)) {
      throw new DataHandshakeError(`what it sent looks like ${describeForeignBytes(Buffer.concat([magic, reader.peek(12)]), 'the Sluice data exchange')}`);
    }
    const hello = await reader.take(2 + NONCE_BYTES);
    const version = hello.readUInt16BE(0);
    if (version !== DATA_HANDSHAKE_VERSION) {
      const why = versionMessage(version);
      reject(socket, why);
      throw new DataHandshakeError(why);
    }
    const clientNonce = hello.subarray(2);
    const serverNonce = newNonce();
    const head = Buffer.alloc(3);
    head[0] = KIND.CHALLENGE;
    head.writeUInt16BE(DATA_HANDSHAKE_VERSION, 1);
    socket.write(Buffer.concat([head, serverNonce, proof(rpc.secret, 'server', clientNonce, serverNonce, LABEL)]));
    const kind = (await reader.take(1))[0];
    if (kind === KIND.REJECT) throw new DataHandshakeError(`the client refused it: ${await readReason(reader)}`);
    if (kind !== KIND.AUTH) throw new DataHandshakeError(`expected AUTH, got message kind ${kind}`);
    const got = await reader.take(PROOF_BYTES);
    if (!proofMatches(got, proof(rpc.secret, 'client', clientNonce, serverNonce, LABEL))) {
      const why = 'wrong cluster secret (its proof does not match); every node must use the same secret';
      reject(socket, why);
      throw new DataHandshakeError(why);
    }
    socket.write(Buffer.of(KIND.READY));
  } finally {
    reader.release();
  }
}

async function clientHandshake(socket: Socket, rpc: ResolvedNetworkRpcOptions, target: string): Promise<void> {
  const reader = new HandshakeReader(socket, rpc.handshakeTimeoutMs);
  try {
    const clientNonce = newNonce();
    const version = Buffer.alloc(2);
    version.writeUInt16BE(DATA_HANDSHAKE_VERSION);
    socket.write(Buffer.concat([MAGIC, version, clientNonce]));
    const refused = async (): Promise<never> => {
      throw new DataHandshakeError(`the data port ${target} refused the connection: ${await readReason(reader)}`);
    };
    const kind = (await reader.take(1))[0];
    if (kind === KIND.REJECT) return await refused();
    if (kind !== KIND.CHALLENGE) throw new DataHandshakeError(`${target} is not a Sluice data port (it answered with byte ${kind})`);
    const challenge = await reader.take(2 + NONCE_BYTES + PROOF_BYTES);
    const serverVersion = challenge.readUInt16BE(0);
    if (serverVersion !== DATA_HANDSHAKE_VERSION) throw new DataHandshakeError(`${target}: ${versionMessage(serverVersion)}`);
    const serverNonce = challenge.subarray(2, 2 + NONCE_BYTES);
    if (!proofMatches(challenge.subarray(2 + NONCE_BYTES), proof(rpc.secret, 'server', clientNonce, serverNonce, LABEL))) {
      reject(socket, "wrong cluster secret (the client found this server's proof does not match); every node must use the same secret");
      throw new DataHandshakeError(`the data port ${target} does not share this process's cluster secret; every node must use the same secret`);
    }
    socket.write(Buffer.concat([Buffer.of(KIND.AUTH), proof(rpc.secret, 'client', clientNonce, serverNonce, LABEL)]));
    const answer = (await reader.take(1))[0];
    if (answer === KIND.REJECT) return await refused();
    if (answer !== KIND.READY) throw new DataHandshakeError(`the data port ${target} answered the proof with byte ${answer}, not READY`);
  } finally {
    reader.release();
  }
}

function versionMessage(peerVersion: number): string {
  return `peer speaks data handshake version ${peerVersion}, this process speaks ${DATA_HANDSHAKE_VERSION}; run the same Sluice version on every node`;
}

function reject(socket: Socket, reason: string): void {
  const text = Buffer.from(reason, 'utf8').subarray(0, MAX_REASON_BYTES);
  const head = Buffer.alloc(3);
  head[0] = KIND.REJECT;
  head.writeUInt16BE(text.length, 1);
  socket.end(Buffer.concat([head, text]));
}

async function readReason(reader: HandshakeReader): Promise<string> {
  const length = (await reader.take(2)).readUInt16BE(0);
  if (length > MAX_REASON_BYTES) return 'an unreadable reason';
  return (await reader.take(length)).toString('utf8');
}

/**
 * Exact reads from a socket during the handshake; afterwards the socket is left paused with any
 * bytes read past the handshake pushed back, so the exchange (which resumes it) misses nothing.
 */
class HandshakeReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { n: number; resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    this.timer = setTimeout(() => this.fail(new DataHandshakeError(`no complete handshake within ${timeoutMs} ms`, true)), timeoutMs);
  }

  take(n: number): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.serve();
    });
  }

  /** Up to `n` bytes already received past what was taken (for log lines). */
  peek(n: number): Buffer {
    return this.buffered.subarray(0, n);
  }

  release(): void {
    clearTimeout(this.timer);
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.pause();
    if (this.buffered.length > 0 && !this.socket.destroyed) this.socket.unshift(this.buffered);
    this.buffered = Buffer.alloc(0);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.serve();
  };

  private readonly onClose = (): void => this.fail(new DataHandshakeError('the connection closed during the handshake', true));

  private serve(): void {
    const w = this.waiting;
    if (w === undefined || this.buffered.length < w.n) return;
    this.waiting = undefined;
    const out = Buffer.from(this.buffered.subarray(0, w.n));
    this.buffered = this.buffered.subarray(w.n);
    w.resolve(out);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }
}
