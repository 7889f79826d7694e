/**
 * The high-availability options, checked at the edge: one default object, one resolve function
 * that names the option at fault and what it should be.
 */
import { ConfigurationError } from '@sluice/common';
import type { HighAvailabilityOptions } from './services.js';

export type ZooKeeperHaOptions = Extract<HighAvailabilityOptions, { mode: 'zookeeper' }>;

export interface ResolvedZooKeeperOptions {
  quorum: string;
  rootPath: string;
  clusterId: string;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  digest?: string;
  /** `<rootPath>/<clusterId>`: every znode of the cluster lives under it. */
  base: string;
}

export const ZOOKEEPER_HA_DEFAULTS = Object.freeze({
  rootPath: '/sluice',
  clusterId: 'default',
  sessionTimeoutMs: 60_000,
  connectionTimeoutMs: 15_000,
});

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const ZNODE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export function resolveZooKeeperOptions(o: ZooKeeperHaOptions): ResolvedZooKeeperOptions {
  const quorum = typeof o.quorum === 'string' ? o.quorum.trim() : '';
  const members = quorum.split(',').map((m) => m.trim());
  const bad = members.find((m) => {
    const port = Number(HOST_PORT.exec(m)?.[2]);
    return !(port >= 1 && port <= 65535);
  });
  if (quorum === '' || bad !== undefined) {
    throw new ConfigurationError(`high availability: the ZooKeeper quorum ${JSON.stringify(o.quorum)} is not a list of host:port (${quorum === '' ? 'empty' : `${JSON.stringify(bad)} is not one`}); give it as host1:2181,host2:2181,host3:2181`);
  }
  const rootPath = o.rootPath ?? ZOOKEEPER_HA_DEFAULTS.rootPath;
  const parts = rootPath.split('/').slice(1);
  if (!rootPath.startsWith('/') || parts.some((p) => !ZNODE_NAME.test(p) || p === 'zookeeper')) {
    throw new ConfigurationError(`high availability: the ZooKeeper root path ${JSON.stringify(rootPath)} is not an absolute znode path (like /sluice or /apps/sluice: names of letters, digits, '.', '_', '-', no trailing '/', not under /zookeeper)`);
  }
  const clusterId = o.clusterId ?? ZOOKEEPER_HA_DEFAULTS.clusterId;
  if (!ZNODE_NAME.test(clusterId)) {
    throw new ConfigurationError(`high availability: the cluster id ${JSON.stringify(clusterId)} is not a znode name (letters, digits, '.', '_', '-'; at most 128; not starting with '.')`);
  }
  const sessionTimeoutMs = positive('sessionTimeoutMs', o.sessionTimeoutMs ?? ZOOKEEPER_HA_DEFAULTS.sessionTimeoutMs);
  const connectionTimeoutMs = positive('connectionTimeoutMs', o.connectionTimeoutMs ?? ZOOKEEPER_HA_DEFAULTS.connectionTimeoutMs);
  if (o.digest !== undefined && !/^[^:]+:.+$/.test(o.digest)) {
    throw new ConfigurationError('high availability: the ZooKeeper digest credentials are not user:password');
  }
  if (o.tls !== undefined && (typeof o.tls.caFile !== 'string' || o.tls.caFile === '' || (o.tls.certFile === undefined) !== (o.tls.keyFile === undefined))) {
    throw new ConfigurationError('high availability: ZooKeeper TLS needs caFile, and certFile and keyFile together or neither');
  }
  const out: ResolvedZooKeeperOptions = { quorum: members.join(','), rootPath, clusterId, sessionTimeoutMs, connectionTimeoutMs, base: `${rootPath}/${clusterId}` };
  if (o.tls !== undefined) out.tls = o.tls;
  if (o.digest !== undefined) out.digest = o.digest;
  return out;
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigurationError(`high availability: ${name} must be a whole number of milliseconds above 0, not ${String(v)}`);
  return v;
}
