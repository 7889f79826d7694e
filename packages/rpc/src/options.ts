/**
 * Settings of a NetworkRpcService: one options interface, one frozen default, one resolve
 * function that validates everything and reads the secret and TLS files, so a bad setting fails
 * at start-up with a message naming it, never on the first call.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigurationError, createLogger, describeError, readSecretFile, type Logger } from '@sluice/common';
import { HANDSHAKE_FRAME_LIMIT, PROTOCOL_VERSION } from './handshake.js';

/** Modelled on Flink's `security.ssl.internal.*`: every node has a key and certificate the others trust. */
export interface RpcTlsOptions {
  enabled: boolean;
  /** PEM private key, or `keyFile`. */
  key?: string;
  keyFile?: string;
  /** PEM certificate (chain), or `certFile`. */
  cert?: string;
  certFile?: string;
  /** PEM CA certificates peers' certificates must chain to (the truststore), or `caFile`. */
  ca?: string;
  caFile?: string;
  /** Servers demand a client certificate signed by `ca` (mutual TLS). Default true, as in Flink's internal SSL. */
  requireClientAuth?: boolean;
  /** Clients check that the server certificate names the host they dialled. Default true. */
  verifyHostname?: boolean;
}

export interface NetworkRpcOptions {
  /** Interface to listen on. Default 127.0.0.1; 0.0.0.0 or :: for all, which needs advertisedHost. */
  bindHost?: string;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Host name or IP peers use to reach this process. Default: bindHost. */
  advertisedHost?: string;
  /** Port peers use (differs from the bound port behind a port mapping). Default: the bound port. */
  advertisedPort?: number;
  /** The cluster secret (at least 16 bytes), or `secretFile` holding it. */
  secret?: string | Uint8Array;
  secretFile?: string;
  /** Run without a secret. Only with a loopback bindHost; for development. */
  allowUnauthenticated?: boolean;
  tls?: RpcTlsOptions;
  /** Largest frame this process accepts and sends. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Per-call timeout; 0 = none. Default 30 s; connect() can override it per gateway. */
  callTimeoutMs?: number;
  /** Time a connection has to complete connect, TLS and handshake. Default 10 s. */
  handshakeTimeoutMs?: number;
  logger?: Logger;
  /** For tests of version mismatches only: the protocol version this process claims. */
  protocolVersion?: number;
}

export const DEFAULT_NETWORK_RPC_OPTIONS = Object.freeze({
  bindHost: '127.0.0.1',
  port: 0,
  maxFrameBytes: 64 * 1024 * 1024,
  callTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
});

const MAX_FRAME_CEILING = 256 * 1024 * 1024;
const MIN_SECRET_BYTES = 16;

export interface ResolvedTls {
  key: string;
  cert: string;
  ca: string;
  requireClientAuth: boolean;
  verifyHostname: boolean;
}

export interface ResolvedNetworkRpcOptions {
  bindHost: string;
  port: number;
  advertisedHost: string | undefined;
  advertisedPort: number | undefined;
  /** Empty when unauthenticated: both sides then prove knowledge of the empty key. */
  secret: Buffer;
  authenticated: boolean;
  tls: ResolvedTls | undefined;
  maxFrameBytes: number;
  callTimeoutMs: number;
  handshakeTimeoutMs: number;
  logger: Logger;
  protocolVersion: number;
}

export function resolveNetworkRpcOptions(o: NetworkRpcOptions = {}): ResolvedNetworkRpcOptions {
  const d = DEFAULT_NETWORK_RPC_OPTIONS;
  const bindHost = o.bindHost ?? d.bindHost;
  if (bindHost.length === 0) throw new ConfigurationError('rpc bindHost is empty: give an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0');
  const port = o.port ?? d.port;
  checkInt('rpc port', port, 0, 65535);
  if (o.advertisedPort !== undefined) checkInt('rpc advertisedPort', o.advertisedPort, 1, 65535);
  if (o.advertisedHost !== undefined && (o.advertisedHost.length === 0 || /[\s/@]/.test(o.advertisedHost))) {
    throw new ConfigurationError(`rpc advertisedHost ${JSON.stringify(o.advertisedHost)} is not a host name or IP address`);
  }
  const maxFrameBytes = o.maxFrameBytes ?? d.maxFrameBytes;
  checkInt('rpc maxFrameBytes', maxFrameBytes, HANDSHAKE_FRAME_LIMIT, MAX_FRAME_CEILING);
  const callTimeoutMs = o.callTimeoutMs ?? d.callTimeoutMs;
  checkInt('rpc callTimeoutMs', callTimeoutMs, 0, 2 ** 31 - 1);
  const handshakeTimeoutMs = o.handshakeTimeoutMs ?? d.handshakeTimeoutMs;
  checkInt('rpc handshakeTimeoutMs', handshakeTimeoutMs, 1, 2 ** 31 - 1);
  const logger = o.logger ?? createLogger(undefined, 'rpc');
  const { secret, authenticated } = resolveSecret(o, bindHost, logger);
  return {
    bindHost,
    port,
    advertisedHost: o.advertisedHost,
    advertisedPort: o.advertisedPort,
    secret,
    authenticated,
    tls: o.tls?.enabled === true ? resolveTls(o.tls) : undefined,
    maxFrameBytes,
    callTimeoutMs,
    handshakeTimeoutMs,
    logger,
    protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION,
  };
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function resolveSecret(o: NetworkRpcOptions, bindHost: string, logger: Logger): { secret: Buffer; authenticated: boolean } {
  if (o.secret !== undefined && o.secretFile !== undefined) throw new ConfigurationError('rpc secret and secretFile are both set: give one');
  let secret: Buffer | undefined;
  if (o.secret !== undefined) secret = typeof o.secret === 'string' ? Buffer.from(o.secret, 'utf8') : Buffer.from(o.secret);
  if (o.secretFile !== undefined) secret = Buffer.from(readSecretFile(o.secretFile, 'the rpc cluster secret file', (m) => logger.warn(m)), 'utf8');
  if (secret === undefined) {
    if (o.allowUnauthenticated !== true) {
      throw new ConfigurationError('rpc needs the cluster secret (secret or secretFile) to authenticate every connection; for a development setup on loopback only, set allowUnauthenticated');
    }
    if (!isLoopback(bindHost)) {
      throw new ConfigurationError(`rpc allowUnauthenticated is refused with bindHost ${bindHost}: anyone who can reach it could control the cluster; bind a loopback address or configure the cluster secret`);
    }
    return { secret: Buffer.alloc(0), authenticated: false };
  }
  if (secret.length < MIN_SECRET_BYTES) throw new ConfigurationError(`rpc cluster secret has ${secret.length} bytes; use at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -base64 32\`)`);
  return { secret, authenticated: true };
}

function resolveTls(t: RpcTlsOptions): ResolvedTls {
  return {
    key: pem('key', t.key, t.keyFile),
    cert: pem('cert', t.cert, t.certFile),
    ca: pem('ca', t.ca, t.caFile),
    requireClientAuth: t.requireClientAuth ?? true,
    verifyHostname: t.verifyHostname ?? true,
  };
}

function pem(what: string, inline: string | undefined, file: string | undefined): string {
  if (inline !== undefined && file !== undefined) throw new ConfigurationError(`rpc tls ${what} and ${what}File are both set: give one`);
  if (inline !== undefined) return inline;
  if (file === undefined) throw new ConfigurationError(`rpc tls is enabled but has no ${what}: set tls.${what}File (PEM)`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigurationError(`cannot read rpc tls ${what}File ${file}: ${describeError(err)}`, { cause: err });
  }
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigurationError(`${name} must be an integer in ${min}–${max}, got ${v}`);
}
