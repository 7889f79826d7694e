/**
 * Where the Mesos masters are: the `--master` string parsed into plain data, the address of one
 * master, and the leader a 307 points to. Pure; the detectors (detector.ts) turn a location into
 * masters to try.
 *
 * Accepted forms, as Mesos's own tools take them:
 * - `host:port` or `http(s)://host:port[/prefix]` (a port left out is 5050, Mesos's default; a
 *   prefix is for a master behind a proxy, e.g. `https://dcos.example.com:443/mesos`);
 * - a comma list of those: each is tried in turn, any of them answers 307 to the leader;
 * - `zk://[user:pass@]host:port[,host:port…]/path`: the leader is read from ZooKeeper, where the
 *   masters register under `path` (zookeeper-detector.ts).
 * A bare `host:port` (and every master found in ZooKeeper) is reached over https when the
 * connection has a `tls` option, else over http.
 */
import { ConfigurationError } from '@sluice/common';

export interface MasterEndpoint {
  readonly scheme: 'http' | 'https';
  /** A hostname or an IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Path before `/api/v1/scheduler`: '' unless the master sits behind a proxy under a prefix. */
  readonly basePath: string;
}

export type MasterLocation =
  | { readonly kind: 'list'; readonly masters: readonly MasterEndpoint[] }
  | {
      readonly kind: 'zookeeper';
      /** `host:port,host:port` of the ZooKeeper servers. */
      readonly servers: string;
      /** The znode the masters register under, e.g. `/mesos`. */
      readonly path: string;
      /** `user:password` for ZooKeeper digest authentication. */
      readonly digest?: string;
    };

export const DEFAULT_MASTER_PORT = 5050;
const DEFAULT_ZOOKEEPER_PORT = 2181;
const SCHEDULER_API_PATH = '/api/v1/scheduler';

const ACCEPTED_FORMS =
  'expected host:port, http(s)://host:port, a comma-separated list of them, or zk://[user:pass@]host:port[,host:port…]/path';

function invalid(text: string, why: string): ConfigurationError {
  return new ConfigurationError(`invalid Mesos master '${text}': ${why}; ${ACCEPTED_FORMS}`);
}

/** Parses `--master`. `tls`: a bare `host:port` means https. Throws ConfigurationError naming the input and the accepted forms. */
export function parseMasterLocation(text: string, options: { tls?: boolean } = {}): MasterLocation {
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(text, 'it is empty');
  if (/^zk:\/\//i.test(trimmed)) return parseZooKeeperLocation(text, trimmed.slice('zk://'.length));
  const entries = trimmed.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw invalid(text, 'it has an empty entry in its comma list');
  const masters = entries.map((entry) => parseMasterEntry(text, entry, options.tls === true ? 'https' : 'http'));
  return { kind: 'list', masters };
}

function parseMasterEntry(text: string, entry: string, defaultScheme: 'http' | 'https'): MasterEndpoint {
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
  let scheme = defaultScheme;
  let rest = entry;
  if (schemeMatch !== null) {
    const name = (schemeMatch[1] as string).toLowerCase();
    if (name === 'zk') throw invalid(text, 'a zk:// URL cannot be part of a comma list');
    if (name !== 'http' && name !== 'https') throw invalid(text, `'${entry}' has the unsupported scheme '${name}://'`);
    scheme = name;
    rest = entry.slice(schemeMatch[0].length);
  }
  if (rest.includes('@')) throw invalid(text, `'${entry}' carries credentials; give them as the principal and secret options (HTTP Basic) instead`);
  if (/[?#]/.test(rest)) throw invalid(text, `'${entry}' has a query or fragment`);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const { host, port } = parseHostPort(text, entry, authority, DEFAULT_MASTER_PORT);
  let basePath = slash === -1 ? '' : rest.slice(slash).replace(/\/+$/, '');
  if (basePath.endsWith(SCHEDULER_API_PATH)) basePath = basePath.slice(0, -SCHEDULER_API_PATH.length);
  if (basePath.includes('//')) throw invalid(text, `'${entry}' has an empty path segment`);
  return { scheme, host, port, basePath };
}

function parseZooKeeperLocation(text: string, rest: string): MasterLocation {
  const slash = rest.indexOf('/');
  if (slash === -1) throw invalid(text, 'a zk:// URL needs the path the masters register under (e.g. zk://zk1:2181/mesos)');
  let authority = rest.slice(0, slash);
  const path = rest.slice(slash).replace(/\/+$/, '');
  if (path === '') throw invalid(text, 'a zk:// URL needs a path other than / (e.g. /mesos)');
  if (path.includes('//') || /[\u0000-\u001f]/.test(path)) throw invalid(text, `the ZooKeeper path '${path}' is not a valid znode path`);
  let digest: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    digest = authority.slice(0, at);
    authority = authority.slice(at + 1);
    if (!/^[^:]+:/.test(digest)) throw invalid(text, 'ZooKeeper credentials must be user:password@');
  }
  const hosts = authority.split(',').map((h) => h.trim());
  if (hosts.some((h) => h === '')) throw invalid(text, 'the zk:// URL lists no ZooKeeper server, or an empty one');
  const servers = hosts.map((h) => {
    const { host, port } = parseHostPort(text, h, h, DEFAULT_ZOOKEEPER_PORT);
    return `${hostForUrl(host)}:${port}`;
  });
  return { kind: 'zookeeper', servers: servers.join(','), path, ...(digest === undefined ? {} : { digest }) };
}

function parseHostPort(text: string, entry: string, authority: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_][a-z0-9_.-]*))(?::(\d{1,5}))?$/i.exec(authority);
  if (m === null) throw invalid(text, `'${entry}' is not host:port`);
  const host = (m[1] ?? m[2]) as string;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65_535) throw invalid(text, `'${entry}' has port ${m[3] ?? ''} outside 1-65535`);
  return { host, port };
}

/** A host as it appears in a URL or `host:port` (IPv6 in brackets). */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `host:port` of a master, as logs and `onSubscribed` show it. */
export function masterAddress(master: MasterEndpoint): string {
  return `${hostForUrl(master.host)}:${master.port}`;
}

export function sameMaster(a: MasterEndpoint, b: MasterEndpoint): boolean {
  return a.host === b.host && a.port === b.port && a.scheme === b.scheme && a.basePath === b.basePath;
}

/** The request path of the scheduler API on a master. */
export function schedulerApiPath(master: MasterEndpoint): string {
  return `${master.basePath}${SCHEDULER_API_PATH}`;
}

/**
 * The leader a 307 names. Mesos sends a protocol-relative Location (`//leader:5050/api/v1/scheduler`):
 * only its host and port are taken; the scheme and path stay ours (a proxy prefix included), as
 * mesos-go does. Undefined when the header is missing or unusable.
 */
export function redirectTarget(location: string | undefined, from: MasterEndpoint): MasterEndpoint | undefined {
  if (location === undefined || location.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(location.trim(), `${from.scheme}://${hostForUrl(from.host)}:${from.port}/`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return undefined;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { scheme: from.scheme, host, port, basePath: from.basePath };
}
