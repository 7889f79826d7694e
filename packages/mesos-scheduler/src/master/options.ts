/**
 * Options of the master connection: one interface, one frozen default object, one resolve
 * function that validates them (ConfigurationError naming the option) and reads the TLS files.
 */
import { readFileSync } from 'node:fs';
import { ConfigurationError, createLogger, describeError, type Logger } from '@sluice/common';
import { DEFAULT_MAX_RECORD_BYTES, type MesosEncoding } from '@sluice/mesos-proto';
import { parseMasterLocation, type MasterLocation } from './location.js';

export type MasterConnectionState = 'idle' | 'subscribing' | 'subscribed' | 'closed';

export interface MasterTlsOptions {
  /** PEM file of the CA(s) that signed the masters' certificates; Node's default CAs otherwise. */
  readonly caFile?: string;
  /** Client certificate and key (PEM), for masters that verify clients. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Verify the master's certificate and host name (default true). */
  readonly rejectUnauthorized?: boolean;
}

export interface MasterConnectionOptions {
  /** `host:port`, `http(s)://host:port`, a comma list of them, or `zk://[user:pass@]host:port,…/path`. */
  readonly master: string;
  /** Encoding of calls and events (default protobuf). */
  readonly encoding?: MesosEncoding;
  /** HTTP Basic credentials sent on every request (the secret as read from its file). */
  readonly credentials?: { readonly principal: string; readonly secret: string };
  /** https to the masters: a bare host:port and the masters found in ZooKeeper then use https. */
  readonly tls?: MasterTlsOptions;
  readonly logger?: Logger;
  /** Largest event record accepted; a larger one drops the stream (default 64 MiB). */
  readonly maxRecordBytes?: number;
  /** First delay before resubscribing; it grows by `backoffFactor` up to `backoffMaxMs`, with jitter. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly backoffFactor?: number;
  /** The stream is dropped after this many heartbeat intervals without a byte (default 5). */
  readonly heartbeatMissFactor?: number;
  /** Bounds of that silence, whatever interval the master announces. */
  readonly minHeartbeatTimeoutMs?: number;
  readonly maxHeartbeatTimeoutMs?: number;
  /** From sending SUBSCRIBE to the SUBSCRIBED event (default 30 s); longer means another attempt. */
  readonly subscribeTimeoutMs?: number;
  /** A call without an answer for this long fails with MESOS_CALL_FAILED (default 30 s). */
  readonly callTimeoutMs?: number;
  /** Redirects followed in one attempt before it counts as a redirect loop (default 5). */
  readonly maxRedirects?: number;
  /** For ZooKeeper detection: the session timeout and the reconnect backoff. */
  readonly zookeeperSessionTimeoutMs?: number;
  readonly zookeeperRetryInitialMs?: number;
  readonly zookeeperRetryMaxMs?: number;
  /** Random numbers in [0, 1) for the backoff jitter (tests pass a fixed one). */
  readonly random?: () => number;
  /** Called on every state change (for the driver's metrics). */
  readonly onStateChange?: (state: MasterConnectionState, previous: MasterConnectionState) => void;
}

export const MASTER_CONNECTION_DEFAULTS = Object.freeze({
  encoding: 'protobuf' as MesosEncoding,
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  backoffInitialMs: 1_000,
  // The reference: resubscribe with exponential backoff up to about 15 s.
  backoffMaxMs: 15_000,
  backoffFactor: 2,
  heartbeatMissFactor: 5,
  minHeartbeatTimeoutMs: 5_000,
  maxHeartbeatTimeoutMs: 10 * 60_000,
  /** Used when SUBSCRIBED carries no heartbeat interval; the master's own default. */
  defaultHeartbeatIntervalSeconds: 15,
  subscribeTimeoutMs: 30_000,
  callTimeoutMs: 30_000,
  maxRedirects: 5,
});

export interface ResolvedMasterConnectionOptions {
  readonly masterText: string;
  readonly location: MasterLocation;
  readonly encoding: MesosEncoding;
  /** The `Authorization` header value, when credentials are given. */
  readonly authorization: string | undefined;
  readonly principal: string | undefined;
  readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean } | undefined;
  readonly logger: Logger;
  readonly maxRecordBytes: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffFactor: number;
  readonly heartbeatMissFactor: number;
  readonly minHeartbeatTimeoutMs: number;
  readonly maxHeartbeatTimeoutMs: number;
  readonly subscribeTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly maxRedirects: number;
  readonly zookeeper: { sessionTimeoutMs?: number; retryInitialMs?: number; retryMaxMs?: number };
  readonly random: () => number;
  readonly onStateChange: ((state: MasterConnectionState, previous: MasterConnectionState) => void) | undefined;
}

function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigurationError(`Mesos master connection option ${name} must be a positive ${integer ? 'integer' : 'number'}, not ${String(value)}`);
  }
  return v;
}

function readTlsFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigurationError(`Mesos TLS ${what} '${file}' cannot be read: ${describeError(err)}`, { cause: err });
  }
}

export function resolveMasterConnectionOptions(options: MasterConnectionOptions): ResolvedMasterConnectionOptions {
  const d = MASTER_CONNECTION_DEFAULTS;
  const encoding = options.encoding ?? d.encoding;
  if (encoding !== 'protobuf' && encoding !== 'json') {
    throw new ConfigurationError(`Mesos master connection option encoding must be 'protobuf' or 'json', not '${String(encoding)}'`);
  }
  let authorization: string | undefined;
  const creds = options.credentials;
  if (creds !== undefined) {
    if (creds.principal === '' || creds.principal.includes(':')) {
      throw new ConfigurationError(`Mesos principal '${creds.principal}' must be non-empty and free of ':' (HTTP Basic cannot carry it)`);
    }
    if (creds.secret === '') throw new ConfigurationError(`the Mesos secret for principal '${creds.principal}' is empty; check the secret file`);
    authorization = `Basic ${Buffer.from(`${creds.principal}:${creds.secret}`, 'utf8').toString('base64')}`;
  }
  let tls: ResolvedMasterConnectionOptions['tls'];
  if (options.tls !== undefined) {
    const t = options.tls;
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      throw new ConfigurationError('Mesos TLS: give both certFile and keyFile (a client certificate), or neither');
    }
    tls = {
      rejectUnauthorized: t.rejectUnauthorized ?? true,
      ...(t.caFile === undefined ? {} : { ca: readTlsFile('CA file', t.caFile) }),
      ...(t.certFile === undefined ? {} : { cert: readTlsFile('certificate file', t.certFile) }),
      ...(t.keyFile === undefined ? {} : { key: readTlsFile('key file', t.keyFile) }),
    };
  }
  const backoffInitialMs = positive('backoffInitialMs', options.backoffInitialMs, d.backoffInitialMs);
  const backoffMaxMs = positive('backoffMaxMs', options.backoffMaxMs, d.backoffMaxMs);
  const backoffFactor = positive('backoffFactor', options.backoffFactor, d.backoffFactor, false);
  if (backoffFactor < 1) throw new ConfigurationError(`Mesos master connection option backoffFactor must be at least 1, not ${backoffFactor}`);
  const minHeartbeatTimeoutMs = positive('minHeartbeatTimeoutMs', options.minHeartbeatTimeoutMs, d.minHeartbeatTimeoutMs);
  const maxHeartbeatTimeoutMs = positive('maxHeartbeatTimeoutMs', options.maxHeartbeatTimeoutMs, d.maxHeartbeatTimeoutMs);
  if (maxHeartbeatTimeoutMs < minHeartbeatTimeoutMs) {
    throw new ConfigurationError(`Mesos master connection option maxHeartbeatTimeoutMs (${maxHeartbeatTimeoutMs}) is below minHeartbeatTimeoutMs (${minHeartbeatTimeoutMs})`);
  }
  const zk = {
    ...(options.zookeeperSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: positive('zookeeperSessionTimeoutMs', options.zookeeperSessionTimeoutMs, 1) }),
    ...(options.zookeeperRetryInitialMs === undefined ? {} : { retryInitialMs: positive('zookeeperRetryInitialMs', options.zookeeperRetryInitialMs, 1) }),
    ...(options.zookeeperRetryMaxMs === undefined ? {} : { retryMaxMs: positive('zookeeperRetryMaxMs', options.zookeeperRetryMaxMs, 1) }),
  };
  return {
    masterText: options.master,
    location: parseMasterLocation(options.master, { tls: options.tls !== undefined }),
    encoding,
    authorization,
    principal: creds?.principal,
    tls,
    logger: options.logger ?? createLogger(undefined, 'mesos-master'),
    maxRecordBytes: positive('maxRecordBytes', options.maxRecordBytes, d.maxRecordBytes),
    backoffInitialMs,
    backoffMaxMs,
    backoffFactor,
    heartbeatMissFactor: positive('heartbeatMissFactor', options.heartbeatMissFactor, d.heartbeatMissFactor, false),
    minHeartbeatTimeoutMs,
    maxHeartbeatTimeoutMs,
    subscribeTimeoutMs: positive('subscribeTimeoutMs', options.subscribeTimeoutMs, d.subscribeTimeoutMs),
    callTimeoutMs: positive('callTimeoutMs', options.callTimeoutMs, d.callTimeoutMs),
    maxRedirects: positive('maxRedirects', options.maxRedirects, d.maxRedirects),
    zookeeper: zk,
    random: options.random ?? Math.random,
    onStateChange: options.onStateChange,
  };
}

/** Delay before attempt `failures + 1`: exponential, capped, with "equal jitter" (half fixed, half random) so many schedulers do not retry in step. */
export function backoffDelayMs(failures: number, o: Pick<ResolvedMasterConnectionOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'backoffFactor' | 'random'>): number {
  const base = Math.min(o.backoffMaxMs, o.backoffInitialMs * o.backoffFactor ** Math.max(0, failures - 1));
  return Math.round(base / 2 + (o.random() * base) / 2);
}
