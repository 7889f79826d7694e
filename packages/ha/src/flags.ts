/**
 * The command-line flags of high availability, shared by `sluice cluster start` and
 * `sluice taskmanager`: one list, one help text, one parser (pure: the digest file is read by
 * the command, not here).
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigurationError, describeError } from '@sluice/common';
import type { HighAvailabilityOptions } from './services.js';

export const HA_FLAGS = {
  'high-availability': { type: 'string' },
  'ha-quorum': { type: 'string' },
  'ha-root': { type: 'string' },
  'ha-cluster-id': { type: 'string' },
  'ha-session-timeout': { type: 'string' },
  'ha-connection-timeout': { type: 'string' },
  'ha-tls-ca-file': { type: 'string' },
  'ha-tls-cert-file': { type: 'string' },
  'ha-tls-key-file': { type: 'string' },
  'ha-digest-file': { type: 'string' },
} as const;

export const HA_FLAGS_HELP = `  --high-availability <mode>  none (default: one entrypoint, its store the cluster directory) or
                              zookeeper (standby entrypoints; one leads, elected in ZooKeeper)
  --ha-quorum <host:port,...> The ZooKeeper ensemble (required with zookeeper)
  --ha-root <path>            Root znode (default /sluice); the cluster lives under <root>/<id>
  --ha-cluster-id <id>        Entrypoints with the same id form one cluster (default default)
  --ha-session-timeout <ms>   ZooKeeper session timeout (default 60000): how long a leader that
                              went silent keeps its term; a shorter blip restarts nothing
  --ha-connection-timeout <ms> How long to wait for ZooKeeper at start (default 15000)
  --ha-tls-ca-file <file>     TLS to ZooKeeper's secure client port, trusting this CA; with
  --ha-tls-cert-file <file>   these two as well, a client certificate
  --ha-tls-key-file <file>
  --ha-digest-file <file>     A file holding user:password: ZooKeeper digest authentication,
                              and Sluice's znodes readable and writable by that user only
`;

export type ZooKeeperFlags = Extract<HighAvailabilityOptions, { mode: 'zookeeper' }> & {
  /** Read by the command into `digest`. */
  digestFile?: string;
};

/**
 * The ZooKeeper options the flags name, undefined for `none` (or no flags); `fail` makes the
 * error for a bad flag (a usage error: exit code 2).
 */
export function zooKeeperFromFlags(values: Partial<Record<keyof typeof HA_FLAGS, string>>, fail: (message: string) => Error): ZooKeeperFlags | undefined {
  const mode = values['high-availability'] ?? 'none';
  const others = (Object.keys(HA_FLAGS) as (keyof typeof HA_FLAGS)[]).filter((k) => k !== 'high-availability' && values[k] !== undefined);
  if (mode === 'none') {
    if (others.length > 0) throw fail(`--${others[0]} needs --high-availability zookeeper`);
    return undefined;
  }
  if (mode !== 'zookeeper') throw fail(`invalid value '${mode}' for --high-availability: expected none or zookeeper`);
  const quorum = values['ha-quorum'];
  if (quorum === undefined || quorum.trim() === '') throw fail('--high-availability zookeeper needs --ha-quorum host:port[,host:port...]');
  const out: ZooKeeperFlags = { mode: 'zookeeper', quorum };
  if (values['ha-root'] !== undefined) out.rootPath = values['ha-root'];
  if (values['ha-cluster-id'] !== undefined) out.clusterId = values['ha-cluster-id'];
  const ms = (flag: 'ha-session-timeout' | 'ha-connection-timeout'): number | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) throw fail(`invalid value '${raw}' for --${flag}: expected a whole number of milliseconds above 0`);
    return n;
  };
  const session = ms('ha-session-timeout');
  if (session !== undefined) out.sessionTimeoutMs = session;
  const connection = ms('ha-connection-timeout');
  if (connection !== undefined) out.connectionTimeoutMs = connection;
  const ca = values['ha-tls-ca-file'];
  const cert = values['ha-tls-cert-file'];
  const key = values['ha-tls-key-file'];
  if ((cert === undefined) !== (key === undefined)) throw fail('--ha-tls-cert-file and --ha-tls-key-file go together');
  if (cert !== undefined && ca === undefined) throw fail('--ha-tls-cert-file needs --ha-tls-ca-file');
  if (ca !== undefined) out.tls = { caFile: ca, ...(cert === undefined || key === undefined ? {} : { certFile: cert, keyFile: key }) };
  if (values['ha-digest-file'] !== undefined) out.digestFile = values['ha-digest-file'];
  return out;
}

/** The store options from parsed flags, the digest read from its file (which must be private). */
export function zooKeeperOptionsOf(flags: ZooKeeperFlags): Extract<HighAvailabilityOptions, { mode: 'zookeeper' }> {
  const { digestFile, ...options } = flags;
  if (digestFile === undefined) return options;
  let text: string;
  try {
    const mode = statSync(digestFile).mode;
    if ((mode & 0o077) !== 0) throw new Error(`it is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 ${digestFile}`);
    text = readFileSync(digestFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigurationError(`cannot use the ZooKeeper digest file ${digestFile}: ${describeError(err)}`, { cause: err });
  }
  return { ...options, digest: text };
}
