/**
 * ZooKeeperClient: the public API. Validates arguments before anything is sent, maps paths
 * through the chroot, encodes each call as one request of the session and decodes its reply
 * (registering watches there, on the reply's frame).
 */
import { readFileSync } from 'node:fs';
import { ConfigurationError, createLogger, describeError, type Logger } from '@sluice/common';
import type { TlsMaterial } from './connection.js';
import { isZooKeeperError, serverError, ZK_CODE, ZooKeeperError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, JuteWriter } from './jute.js';
import { ancestors, fromServerPath, parseConnectString, toServerPath, validatePath } from './paths.js';
import {
  type Acl,
  CREATE_FLAGS,
  type CreateMode,
  CREATOR_ALL_ACL,
  OPEN_ACL_UNSAFE,
  OpCode,
  readMultiResponse,
  readStat,
  type Stat,
  type WireOp,
  writeCreate,
  writeMulti,
  writePathVersion,
  writePathWatch,
  writeSetData,
} from './protocol.js';
import { Session, type StateListener, type ZooKeeperState } from './session.js';
import type { Watcher } from './watches.js';

export type Op =
  | { type: 'create'; path: string; data?: Buffer | string; mode?: CreateMode }
  | { type: 'set'; path: string; data: Buffer | string; version?: number }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'check'; path: string; version: number };

export type OpResult = { type: 'create'; path: string } | { type: 'set'; stat: Stat } | { type: 'delete' } | { type: 'check' };

export interface ZooKeeperClientOptions {
  /** 'host:port,host:port[/chroot]' (IPv6 as [addr]:port). */
  connectString: string;
  /** Requested session timeout (default 30_000); the server's negotiated value is `sessionTimeoutMs` after connect. */
  sessionTimeoutMs?: number;
  /** How long start() waits for the first session before rejecting (default 15_000). */
  connectionTimeoutMs?: number;
  /** TLS to the servers' secure client port: CA file, and optionally a client key and certificate (PEM). */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** Digest authentication ('user:password') added on every (re)connect; with acl 'creator' nodes are created with CREATOR_ALL_ACL, else OPEN_ACL_UNSAFE. */
  digest?: string;
  acl?: 'open' | 'creator';
  logger?: Logger;
  /** Largest frame accepted from a server (default 16 MiB); a larger one ends the connection as corrupt. */
  maxFrameBytes?: number;
}

export const ZOOKEEPER_CLIENT_DEFAULTS = Object.freeze({
  sessionTimeoutMs: 30_000,
  connectionTimeoutMs: 15_000,
  acl: 'open' as const,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
});

export class ZooKeeperClient {
  private readonly session: Session;
  private readonly chroot: string;
  private readonly acls: readonly Acl[];

  constructor(options: ZooKeeperClientOptions) {
    const parsed = parseConnectString(options.connectString);
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!Number.isInteger(v) || v <= 0) throw new ConfigurationError(`ZooKeeper option ${name} must be a positive integer (ms or bytes), not ${String(value)}`);
      return v;
    };
    const acl = options.acl ?? ZOOKEEPER_CLIENT_DEFAULTS.acl;
    if (options.digest !== undefined && !/^[^:]+:.*$/s.test(options.digest)) {
      throw new ConfigurationError("ZooKeeper option digest must be 'user:password'");
    }
    if (acl === 'creator' && options.digest === undefined) {
      throw new ConfigurationError("ZooKeeper option acl 'creator' needs digest credentials ('user:password'): the creator is identified by them");
    }
    if (acl !== 'open' && acl !== 'creator') throw new ConfigurationError(`ZooKeeper option acl must be 'open' or 'creator', not '${String(acl)}'`);
    this.chroot = parsed.chroot;
    this.acls = acl === 'creator' ? CREATOR_ALL_ACL : OPEN_ACL_UNSAFE;
    const tls = options.tls === undefined ? undefined : loadTls(options.tls);
    this.session = new Session({
      servers: parsed.servers,
      chroot: parsed.chroot,
      sessionTimeoutMs: positive('sessionTimeoutMs', options.sessionTimeoutMs, ZOOKEEPER_CLIENT_DEFAULTS.sessionTimeoutMs),
      connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, ZOOKEEPER_CLIENT_DEFAULTS.connectionTimeoutMs),
      maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes, ZOOKEEPER_CLIENT_DEFAULTS.maxFrameBytes),
      ...(tls === undefined ? {} : { tls }),
      ...(options.digest === undefined ? {} : { digest: options.digest }),
      logger: options.logger ?? createLogger(undefined, 'zookeeper'),
    });
  }

  /** Resolves on the first session; rejects with ZK_UNREACHABLE naming the servers after connectionTimeoutMs (the client is then closed). */
  start(): Promise<void> {
    return this.session.start();
  }

  get state(): ZooKeeperState {
    return this.session.state;
  }

  /** 16 hex digits ('0000000000000000' before the first session). */
  get sessionId(): string {
    return this.session.sessionIdHex;
  }

  /** The session timeout the server granted (0 before the first session). */
  get sessionTimeoutMs(): number {
    return this.session.negotiatedTimeoutMs;
  }

  /** 'host:port' of the server the session is connected through; undefined unless connected. */
  get connectedServer(): string | undefined {
    return this.session.connectedServer;
  }

  /** Listeners run synchronously on each change; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    return this.session.onStateChange(listener);
  }

  /** The created path (with the sequence suffix of a sequential mode). `parents`: creates missing ancestors as empty persistent nodes. */
  async create(path: string, data?: Buffer | string, options: { mode?: CreateMode; parents?: boolean } = {}): Promise<string> {
    validatePath(path);
    const mode = options.mode ?? 'persistent';
    const flags = CREATE_FLAGS[mode];
    if (flags === undefined) throw new ZooKeeperError('ZK_BADARGUMENTS', `invalid create mode '${String(mode)}' for ${path}; use ${Object.keys(CREATE_FLAGS).join(', ')}`);
    const serverPath = toServerPath(this.chroot, path);
    const bytes = toBuffer(data);
    try {
      return await this.createRaw(serverPath, bytes, flags);
    } catch (err) {
      if (options.parents !== true || !isZooKeeperError(err, 'NONODE')) throw err;
    }
    for (const ancestor of ancestors(serverPath)) {
      try {
        await this.createRaw(ancestor, Buffer.alloc(0), CREATE_FLAGS.persistent);
      } catch (err) {
        if (!isZooKeeperError(err, 'NODEEXISTS')) throw err;
      }
    }
    return this.createRaw(serverPath, bytes, flags);
  }

  private createRaw(serverPath: string, data: Buffer, flags: number): Promise<string> {
    const body = new JuteWriter();
    writeCreate(body, serverPath, data, this.acls, flags);
    return this.session.request(OpCode.create, body.bytes(), (header, r) => {
      if (header.err !== 0) throw serverError(header.err, 'create', fromServerPath(this.chroot, serverPath));
      return fromServerPath(this.chroot, r.ustring());
    });
  }

  async getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    validatePath(path);
    const serverPath = toServerPath(this.chroot, path);
    const body = new JuteWriter();
    writePathWatch(body, serverPath, watcher !== undefined);
    return this.session.request(OpCode.getData, body.bytes(), (header, r) => {
      if (header.err !== 0) throw serverError(header.err, 'getData', path);
      const result = { data: r.buffer(), stat: readStat(r) };
      if (watcher !== undefined) this.session.watches.add('data', serverPath, watcher);
      return result;
    });
  }

  /** Version default -1 (any). */
  async setData(path: string, data: Buffer | string, version = -1): Promise<Stat> {
    validatePath(path);
    const body = new JuteWriter();
    writeSetData(body, toServerPath(this.chroot, path), toBuffer(data), version);
    return this.session.request(OpCode.setData, body.bytes(), (header, r) => {
      if (header.err !== 0) throw serverError(header.err, 'setData', path);
      return readStat(r);
    });
  }

  /** The node's stat, or undefined; a watcher fires on its creation, change or deletion. */
  async exists(path: string, watcher?: Watcher): Promise<Stat | undefined> {
    validatePath(path);
    const serverPath = toServerPath(this.chroot, path);
    const body = new JuteWriter();
    writePathWatch(body, serverPath, watcher !== undefined);
    return this.session.request(OpCode.exists, body.bytes(), (header, r) => {
      if (header.err === ZK_CODE.NONODE) {
        if (watcher !== undefined) this.session.watches.add('exist', serverPath, watcher);
        return undefined;
      }
      if (header.err !== 0) throw serverError(header.err, 'exists', path);
      const stat = readStat(r);
      if (watcher !== undefined) this.session.watches.add('data', serverPath, watcher);
      return stat;
    });
  }

  /** Child names (not paths), in the server's order; a watcher fires on a child change or the node's deletion. */
  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    validatePath(path);
    const serverPath = toServerPath(this.chroot, path);
    const body = new JuteWriter();
    writePathWatch(body, serverPath, watcher !== undefined);
    return this.session.request(OpCode.getChildren, body.bytes(), (header, r) => {
      if (header.err !== 0) throw serverError(header.err, 'getChildren', path);
      const children = r.vector((x) => x.ustring());
      if (watcher !== undefined) this.session.watches.add('child', serverPath, watcher);
      return children;
    });
  }

  /** Version default -1 (any). */
  async delete(path: string, version = -1): Promise<void> {
    validatePath(path);
    const body = new JuteWriter();
    writePathVersion(body, toServerPath(this.chroot, path), version);
    return this.session.request(OpCode.delete, body.bytes(), (header) => {
      if (header.err !== 0) throw serverError(header.err, 'delete', path);
    });
  }

  /** All or nothing. On failure: a ZooKeeperError with the failing op's code and `failedOp` its index. */
  async multi(ops: Op[]): Promise<OpResult[]> {
    const wire = ops.map((op, i) => this.wireOp(op, i));
    if (wire.length === 0) return [];
    const body = new JuteWriter();
    writeMulti(body, wire);
    return this.session.request(OpCode.multi, body.bytes(), (header, r) => {
      // A multi that failed as a whole still lists a result per op: the failing one carries its
      // code, those before it OK and those after it RUNTIMEINCONSISTENCY.
      const results = header.err === 0 || r.remaining > 0 ? readMultiResponse(r) : [];
      const failedOp = results.findIndex((res) => res.type === 'error' && res.err !== 0);
      if (failedOp !== -1) {
        const failed = results[failedOp];
        const code = failed?.type === 'error' ? failed.err : header.err;
        const op = ops[failedOp];
        throw serverError(code, `multi op ${failedOp} (${op?.type ?? '?'})`, op?.path, failedOp);
      }
      if (header.err !== 0) throw serverError(header.err, 'multi', undefined);
      return results.map((res): OpResult => {
        switch (res.type) {
          case 'create':
            return { type: 'create', path: fromServerPath(this.chroot, res.path) };
          case 'set':
            return { type: 'set', stat: res.stat };
          case 'delete':
          case 'check':
            return { type: res.type };
          case 'error':
            throw serverError(res.err, 'multi', undefined);
        }
      });
    });
  }

  private wireOp(op: Op, index: number): WireOp {
    validatePath(op.path, `path of multi op ${index}`);
    const path = toServerPath(this.chroot, op.path);
    switch (op.type) {
      case 'create': {
        const flags = CREATE_FLAGS[op.mode ?? 'persistent'];
        if (flags === undefined) throw new ZooKeeperError('ZK_BADARGUMENTS', `invalid create mode '${String(op.mode)}' in multi op ${index}`);
        return { type: 'create', path, data: toBuffer(op.data), acls: this.acls, flags };
      }
      case 'set':
        return { type: 'set', path, data: toBuffer(op.data), version: op.version ?? -1 };
      case 'delete':
        return { type: 'delete', path, version: op.version ?? -1 };
      case 'check':
        if (!Number.isInteger(op.version)) throw new ZooKeeperError('ZK_BADARGUMENTS', `multi op ${index} (check ${op.path}) needs an integer version`);
        return { type: 'check', path, version: op.version };
      default:
        throw new ZooKeeperError('ZK_BADARGUMENTS', `multi op ${index} has unknown type '${String((op as { type?: unknown }).type)}'`);
    }
  }

  /** Ends the session (the server deletes its ephemeral nodes at once) and every timer and socket. Idempotent. */
  close(): Promise<void> {
    return this.session.close();
  }
}

function toBuffer(data: Buffer | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function loadTls(tls: { caFile: string; certFile?: string; keyFile?: string }): TlsMaterial {
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigurationError('ZooKeeper TLS: give both certFile and keyFile (a client certificate), or neither');
  }
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigurationError(`ZooKeeper TLS ${what} '${file}' cannot be read: ${describeError(err)}`, { cause: err });
    }
  };
  const material: TlsMaterial = { ca: read('caFile', tls.caFile) };
  if (tls.certFile !== undefined) material.cert = read('certFile', tls.certFile);
  if (tls.keyFile !== undefined) material.key = read('keyFile', tls.keyFile);
  return material;
}
