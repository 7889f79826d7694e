/**
 * ZooKeeper's wire records (zookeeper.jute, ZooDefs) as pure encode/decode functions over the
 * jute codec. Paths here are the server's paths (chroot included); the client maps them.
 */
import { ZooKeeperError } from './errors.js';
import { type JuteReader, JuteWriter } from './jute.js';

/** ZooDefs.OpCode values this client sends. */
export const OpCode = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getChildren: 8,
  ping: 11,
  check: 13,
  multi: 14,
  auth: 100,
  setWatches: 101,
  closeSession: -11,
  error: -1,
} as const;

/** Reserved xids of packets outside the request/response sequence. */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

export const CREATE_FLAGS: Readonly<Record<CreateMode, number>> = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
};

export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

const PERMS_ALL = 31; // READ | WRITE | CREATE | DELETE | ADMIN
export const OPEN_ACL_UNSAFE: readonly Acl[] = [{ perms: PERMS_ALL, scheme: 'world', id: 'anyone' }];
/** All permissions to whoever created the node, as identified by its authentication. */
export const CREATOR_ALL_ACL: readonly Acl[] = [{ perms: PERMS_ALL, scheme: 'auth', id: '' }];

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export function readStat(r: JuteReader): Stat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: Number(r.long()),
    mtime: Number(r.long()),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid).long(s.mzxid).long(BigInt(s.ctime)).long(BigInt(s.mtime));
  w.int(s.version).int(s.cversion).int(s.aversion).long(s.ephemeralOwner);
  w.int(s.dataLength).int(s.numChildren).long(s.pzxid);
}

export interface ConnectRequest {
  lastZxidSeen: bigint;
  timeoutMs: number;
  sessionId: bigint;
  passwd: Buffer;
}

/** The first frame on a connection (no request header); protocol version 0, never read-only. */
export function encodeConnectRequest(req: ConnectRequest): Buffer {
  return new JuteWriter(64).int(0).long(req.lastZxidSeen).int(req.timeoutMs).long(req.sessionId).buffer(req.passwd).bool(false).frame();
}

export interface ConnectResponse {
  protocolVersion: number;
  /** The negotiated session timeout; ≤ 0 means the session asked for has expired. */
  timeoutMs: number;
  sessionId: bigint;
  passwd: Buffer;
}

export function decodeConnectResponse(r: JuteReader): ConnectResponse {
  // A trailing read-only flag follows in servers that support it; this client ignores it.
  return { protocolVersion: r.int(), timeoutMs: r.int(), sessionId: r.long(), passwd: r.buffer() };
}

/** A request frame: header (xid, opcode) then the body written by `body`. */
export function encodeRequest(xid: number, opCode: number, body?: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(128).int(xid).int(opCode);
  body?.(w);
  return w.frame();
}

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}

export function readReplyHeader(r: JuteReader): ReplyHeader {
  return { xid: r.int(), zxid: r.long(), err: r.int() };
}

export function writeAcls(w: JuteWriter, acls: readonly Acl[]): void {
  w.vector(acls, (x, a) => x.int(a.perms).ustring(a.scheme).ustring(a.id));
}

export function writeCreate(w: JuteWriter, path: string, data: Buffer, acls: readonly Acl[], flags: number): void {
  w.ustring(path).buffer(data);
  writeAcls(w, acls);
  w.int(flags);
}

/** GetDataRequest, ExistsRequest and GetChildrenRequest share this shape. */
export function writePathWatch(w: JuteWriter, path: string, watch: boolean): void {
  w.ustring(path).bool(watch);
}

/** DeleteRequest and CheckVersionRequest share this shape. */
export function writePathVersion(w: JuteWriter, path: string, version: number): void {
  w.ustring(path).int(version);
}

export function writeSetData(w: JuteWriter, path: string, data: Buffer, version: number): void {
  w.ustring(path).buffer(data).int(version);
}

export function writeAuth(w: JuteWriter, scheme: string, auth: Buffer): void {
  w.int(0).ustring(scheme).buffer(auth);
}

export interface WatchLists {
  data: string[];
  exist: string[];
  child: string[];
}

export function writeSetWatches(w: JuteWriter, relativeZxid: bigint, lists: WatchLists): void {
  const strings = (x: JuteWriter, s: string): void => void x.ustring(s);
  w.long(relativeZxid).vector(lists.data, strings).vector(lists.exist, strings).vector(lists.child, strings);
}

/** One op of a multi request, paths already mapped to the server's. */
export type WireOp =
  | { type: 'create'; path: string; data: Buffer; acls: readonly Acl[]; flags: number }
  | { type: 'set'; path: string; data: Buffer; version: number }
  | { type: 'delete'; path: string; version: number }
  | { type: 'check'; path: string; version: number };

const OP_CODES: Readonly<Record<WireOp['type'], number>> = { create: OpCode.create, set: OpCode.setData, delete: OpCode.delete, check: OpCode.check };

/** MultiRequest: per op a MultiHeader (opcode, done=false, err=-1) and its record; then done. */
export function writeMulti(w: JuteWriter, ops: readonly WireOp[]): void {
  for (const op of ops) {
    w.int(OP_CODES[op.type]).bool(false).int(-1);
    switch (op.type) {
      case 'create':
        writeCreate(w, op.path, op.data, op.acls, op.flags);
        break;
      case 'set':
        writeSetData(w, op.path, op.data, op.version);
        break;
      case 'delete':
      case 'check':
        writePathVersion(w, op.path, op.version);
        break;
    }
  }
  w.int(-1).bool(true).int(-1);
}

export type WireOpResult =
  | { type: 'create'; path: string }
  | { type: 'set'; stat: Stat }
  | { type: 'delete' }
  | { type: 'check' }
  | { type: 'error'; err: number };

/** MultiResponse: results until a header with done=true. */
export function readMultiResponse(r: JuteReader): WireOpResult[] {
  const out: WireOpResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // the header's err; an error result carries it again in its body
    if (done) return out;
    switch (type) {
      case OpCode.create:
        out.push({ type: 'create', path: r.ustring() });
        break;
      case OpCode.setData:
        out.push({ type: 'set', stat: readStat(r) });
        break;
      case OpCode.delete:
        out.push({ type: 'delete' });
        break;
      case OpCode.check:
        out.push({ type: 'check' });
        break;
      case OpCode.error:
        out.push({ type: 'error', err: r.int() });
        break;
      default:
        throw new ZooKeeperError('ZK_MARSHALLINGERROR', `unexpected result type ${type} in a ZooKeeper multi response`);
    }
  }
}

export interface WatcherEvent {
  /** 1 created, 2 deleted, 3 data changed, 4 children changed; others are not node events. */
  type: number;
  state: number;
  path: string;
}

export function readWatcherEvent(r: JuteReader): WatcherEvent {
  return { type: r.int(), state: r.int(), path: r.ustring() };
}
