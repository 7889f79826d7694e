/**
 * Connect strings and znode paths: parsing and validation at the edge, before anything is sent,
 * and the chroot mapping between the caller's paths and the server's.
 */
import { ZooKeeperError } from './errors.js';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ConnectString {
  servers: ServerAddress[];
  /** '' for none, else an absolute path without a trailing slash. */
  chroot: string;
}

/** 'host:port,host:port[/chroot]'; IPv6 as [addr]:port; a missing port is 2181. */
export function parseConnectString(connectString: string): ConnectString {
  const bad = (why: string): ZooKeeperError =>
    new ZooKeeperError('ZK_BADARGUMENTS', `invalid ZooKeeper connect string '${connectString}': ${why}; expected 'host:port,host:port[/chroot]'`);
  const trimmed = connectString.trim();
  const slash = trimmed.indexOf('/');
  const hostPart = slash === -1 ? trimmed : trimmed.slice(0, slash);
  let chroot = slash === -1 ? '' : trimmed.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot !== '') {
    const problem = pathProblem(chroot);
    if (problem !== undefined) throw bad(`chroot ${problem}`);
  }
  const servers: ServerAddress[] = [];
  for (const raw of hostPart.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    let host: string;
    let portText: string | undefined;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']');
      if (close === -1) throw bad(`'${entry}' opens an IPv6 bracket it does not close`);
      host = entry.slice(1, close);
      const rest = entry.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) throw bad(`unexpected '${rest}' after '[${host}]'`);
      portText = rest === '' ? undefined : rest.slice(1);
    } else {
      const colon = entry.lastIndexOf(':');
      if (colon !== entry.indexOf(':')) throw bad(`'${entry}' looks like an IPv6 address; write it as [addr]:port`);
      host = colon === -1 ? entry : entry.slice(0, colon);
      portText = colon === -1 ? undefined : entry.slice(colon + 1);
    }
    const port = portText === undefined ? 2181 : Number(portText);
    if (host === '') throw bad(`'${entry}' has no host`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`'${entry}' has no valid port`);
    servers.push({ host, port });
  }
  if (servers.length === 0) throw bad('no server');
  return { servers, chroot };
}

export function formatServer(s: ServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Why `path` is not a valid znode path, or undefined. */
function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be absolute (start with /)';
  if (path === '/') return undefined;
  if (path.endsWith('/')) return 'must not end with /';
  if (path.includes('//')) return 'must not contain an empty segment (//)';
  for (const segment of path.slice(1).split('/')) {
    if (segment === '.' || segment === '..') return `must not contain a relative segment ('${segment}')`;
  }
  // ZooKeeper's PathUtils refuses these code points too.
  if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(path)) return 'must not contain control or reserved characters';
  return undefined;
}

/** Throws ZK_BADARGUMENTS naming the path and what is wrong with it. */
export function validatePath(path: string, what = 'path'): void {
  if (typeof path !== 'string') throw new ZooKeeperError('ZK_BADARGUMENTS', `invalid ZooKeeper ${what}: expected a string, got ${typeof path}`);
  const problem = pathProblem(path);
  if (problem !== undefined) throw new ZooKeeperError('ZK_BADARGUMENTS', `invalid ZooKeeper ${what} '${path}': it ${problem}`);
}

/** The server's path for a caller's path. */
export function toServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === '/' ? chroot : chroot + path;
}

/** The caller's path for a server's path (which is inside the chroot). */
export function fromServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  if (path === chroot) return '/';
  return path.startsWith(`${chroot}/`) ? path.slice(chroot.length) : path;
}

/** The proper ancestors of an absolute path, shortest first ('/a/b/c' → '/a', '/a/b'). */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/', 1); i !== -1; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}
