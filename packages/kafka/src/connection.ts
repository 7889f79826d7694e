/**
 * How Sluice reaches a Kafka cluster: one `KafkaConnectionOptions` shared by the source, the sink
 * and the dead-letter producer, resolved once and turned into a kafkajs client. Timeouts and retry
 * counts are bounded on purpose: a wrong address or a missing topic must surface as an error
 * within seconds, not as kafkajs retrying for minutes.
 */
import { ConfigurationError, describeError, SluiceError } from '@sluice/common';
import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { causeText, KafkaConnectorError, refusalError, type RefusalSubject } from './errors.js';

export { KafkaConnectorError } from './errors.js';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaConnectionOptions {
  /** `host:port` list, or one comma-separated string. */
  bootstrapServers: string | readonly string[];
  clientId?: string;
  /**
   * TLS to the brokers: true (system CAs), or Node TLS options (`ca`, `cert`, `key`,
   * `servername`, `rejectUnauthorized`, …), passed to kafkajs as is.
   */
  ssl?: boolean | tls.ConnectionOptions;
  /**
   * SASL: `{ mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password }`, or
   * any other mechanism kafkajs supports ('aws', 'oauthbearer'), passed to kafkajs as is. With
   * `ssl` it is SASL_SSL, without it SASL_PLAINTEXT.
   */
  sasl?: SASLOptions;
  /** TCP connect timeout per attempt. */
  connectionTimeoutMs?: number;
  /** Timeout of one request to a broker. */
  requestTimeoutMs?: number;
  /** kafkajs retries per operation (with backoff, capped by `maxRetryTimeMs`). */
  retries?: number;
  maxRetryTimeMs?: number;
  /** kafkajs's own log output; Sluice reports every failure it acts on itself. */
  logLevel?: KafkaLogLevel;
}

export interface ResolvedKafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean | tls.ConnectionOptions | undefined;
  readonly sasl: SASLOptions | undefined;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly maxRetryTimeMs: number;
  readonly logLevel: KafkaLogLevel;
}

export const DEFAULT_KAFKA_CONNECTION = Object.freeze({
  clientId: 'sluice',
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  retries: 3,
  maxRetryTimeMs: 2_000,
  logLevel: 'nothing' as KafkaLogLevel,
});

const LOG_LEVELS: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigurationError(`Kafka option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}

export function resolveKafkaConnection(options: KafkaConnectionOptions): ResolvedKafkaConnection {
  const raw = options.bootstrapServers;
  const list = (typeof raw === 'string' ? raw.split(',') : [...raw]).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new ConfigurationError('Kafka bootstrapServers is empty; give at least one host:port');
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new ConfigurationError(`Kafka bootstrap server '${b}' is not host:port`);
  }
  const ssl = options.ssl;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (ssl === null || typeof ssl !== 'object')) {
    throw new ConfigurationError(`Kafka ssl must be true, false or Node TLS options ({ ca, cert, key, ... }), got ${typeof ssl}`);
  }
  if (options.sasl !== undefined) validateSasl(options.sasl);
  const level = options.logLevel ?? DEFAULT_KAFKA_CONNECTION.logLevel;
  if (!(level in LOG_LEVELS)) throw new ConfigurationError(`Kafka logLevel must be one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${String(level)}`);
  return Object.freeze({
    brokers: Object.freeze(list),
    clientId: options.clientId ?? DEFAULT_KAFKA_CONNECTION.clientId,
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, DEFAULT_KAFKA_CONNECTION.connectionTimeoutMs),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_KAFKA_CONNECTION.requestTimeoutMs),
    retries: positive('retries', options.retries, DEFAULT_KAFKA_CONNECTION.retries, true),
    maxRetryTimeMs: positive('maxRetryTimeMs', options.maxRetryTimeMs, DEFAULT_KAFKA_CONNECTION.maxRetryTimeMs),
    logLevel: level,
  });
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'aws', 'oauthbearer'];

/** Catches the mistakes kafkajs would only report as a failed login at the broker. */
function validateSasl(sasl: SASLOptions): void {
  if (sasl === null || typeof sasl !== 'object') throw new ConfigurationError('Kafka sasl must be an object like { mechanism: "scram-sha-512", username, password }');
  const mechanism: unknown = (sasl as { mechanism?: unknown }).mechanism;
  if (typeof mechanism !== 'string' || !SASL_MECHANISMS.includes(mechanism)) {
    throw new ConfigurationError(`Kafka sasl.mechanism must be one of ${SASL_MECHANISMS.join(', ')} (lower case), got ${JSON.stringify(mechanism)}`);
  }
  if (mechanism === 'plain' || mechanism.startsWith('scram-')) {
    const { username, password } = sasl as { username?: unknown; password?: unknown };
    if (typeof username !== 'string' || username === '') throw new ConfigurationError(`Kafka sasl mechanism '${mechanism}' needs a username`);
    if (typeof password !== 'string') throw new ConfigurationError(`Kafka sasl mechanism '${mechanism}' needs a password (a string)`);
  }
}

/**
 * kafkajs's own socket factory, plus TCP_NODELAY: with Nagle's algorithm on, a small fetch or
 * produce request can wait for the peer's delayed ACK (tens of ms on Linux) — latency Sluice
 * pipelines cannot afford. Kafka's Java clients disable Nagle too.
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(ssl as tls.ConnectionOptions), noDelay: true } as tls.ConnectionOptions, onConnect)
    : net.connect({ host, port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function kafkaConfig(c: ResolvedKafkaConnection, clientSuffix: string): KafkaConfig {
  const config: KafkaConfig = {
    socketFactory: noDelaySocketFactory,
    brokers: [...c.brokers],
    clientId: `${c.clientId}-${clientSuffix}`,
    connectionTimeout: c.connectionTimeoutMs,
    requestTimeout: c.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { retries: c.retries, initialRetryTime: 200, maxRetryTime: c.maxRetryTimeMs },
    logLevel: LOG_LEVELS[c.logLevel],
  };
  if (c.ssl !== undefined) config.ssl = c.ssl;
  if (c.sasl !== undefined) config.sasl = c.sasl;
  return config;
}

export function createKafkaClient(c: ResolvedKafkaConnection, clientSuffix: string): Kafka {
  return new Kafka(kafkaConfig(c, clientSuffix));
}

/** The bootstrap list as users wrote it, for error messages. */
export function describeBrokers(c: ResolvedKafkaConnection): string {
  return c.brokers.join(',');
}

/**
 * Runs `action` and turns any failure (or running past `timeoutMs`) into a KafkaConnectorError
 * that says what was attempted against which brokers. kafkajs's own retries are bounded by the
 * connection options; the timeout is the backstop that guarantees "never a silent hang".
 */
export async function withKafkaDeadline<T>(
  c: ResolvedKafkaConnection,
  what: string,
  timeoutMs: number,
  action: () => Promise<T>,
  /** Names the topics / group in an authorization error. */
  subject: RefusalSubject = { access: 'read' },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KafkaConnectorError(
            'KAFKA_TIMEOUT',
            `${what} did not complete within ${timeoutMs} ms (Kafka bootstrap servers: ${describeBrokers(c)}); check that the brokers are reachable and the address is right${
              c.ssl !== undefined || c.sasl !== undefined ? ', and that the ssl / sasl settings match what that listener expects' : ''
            }`,
            { retriable: true },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([action(), deadline]);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    const refused = refusalError(err, what, describeBrokers(c), subject);
    if (refused !== undefined) throw refused;
    throw new KafkaConnectorError(
      'KAFKA_UNAVAILABLE',
      `${what} failed (Kafka bootstrap servers: ${describeBrokers(c)}): ${describeError(err)}${causeText(err)}`,
      { retriable: true, cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `p` (a disconnect, say) at most `ms`, ignoring its failure: shutdown must not hang. */
export async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
