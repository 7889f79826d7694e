/**
 * ZooKeeperError: a server's KeeperException code (zkCode, as on the wire) and its stable Sluice
 * code `ZK_<NAME>`. Client-side conditions get codes of their own and the zkCode of the server
 * condition nearest to them (see CLIENT_CODES).
 */
import { SluiceError } from '@sluice/common';

/** KeeperException.Code: wire value → name. */
const SERVER_CODES: ReadonlyMap<number, string> = new Map([
  [0, 'OK'],
  [-1, 'SYSTEMERROR'],
  [-2, 'RUNTIMEINCONSISTENCY'],
  [-3, 'DATAINCONSISTENCY'],
  [-4, 'CONNECTIONLOSS'],
  [-5, 'MARSHALLINGERROR'],
  [-6, 'UNIMPLEMENTED'],
  [-7, 'OPERATIONTIMEOUT'],
  [-8, 'BADARGUMENTS'],
  [-12, 'UNKNOWNSESSION'],
  [-13, 'NEWCONFIGNOQUORUM'],
  [-14, 'RECONFIGINPROGRESS'],
  [-100, 'APIERROR'],
  [-101, 'NONODE'],
  [-102, 'NOAUTH'],
  [-103, 'BADVERSION'],
  [-108, 'NOCHILDRENFOREPHEMERALS'],
  [-110, 'NODEEXISTS'],
  [-111, 'NOTEMPTY'],
  [-112, 'SESSIONEXPIRED'],
  [-113, 'INVALIDCALLBACK'],
  [-114, 'INVALIDACL'],
  [-115, 'AUTHFAILED'],
  [-118, 'SESSIONMOVED'],
  [-119, 'NOTREADONLY'],
  [-120, 'EPHEMERALONLOCALSESSION'],
  [-121, 'NOWATCHER'],
  [-122, 'REQUESTTIMEOUT'],
  [-123, 'RECONFIGDISABLED'],
  [-124, 'SESSIONCLOSEDREQUIRESASLAUTH'],
  [-125, 'QUOTAEXCEEDED'],
  [-127, 'THROTTLEDOP'],
]);

/** Codes only this client raises, with the zkCode each carries. */
const CLIENT_CODES: Readonly<Record<string, number>> = {
  /** start() found no server within connectionTimeoutMs. */
  ZK_UNREACHABLE: -4,
  /** The client was closed (close(), or start() gave up): the session is gone for this client. */
  ZK_CLOSED: -112,
  /** A call before start(). */
  ZK_NOT_STARTED: -4,
};

export const ZK_CODE = {
  OK: 0,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  BADARGUMENTS: -8,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  AUTHFAILED: -115,
  RUNTIMEINCONSISTENCY: -2,
} as const;

/** Conditions after which the same call may succeed: the outcome of the call itself is unknown. */
const RETRIABLE = new Set(['ZK_CONNECTIONLOSS', 'ZK_OPERATIONTIMEOUT', 'ZK_THROTTLEDOP', 'ZK_UNREACHABLE', 'ZK_REQUESTTIMEOUT']);

export class ZooKeeperError extends SluiceError {
  readonly zkCode: number;
  /** For multi(): the index of the op that failed. */
  readonly failedOp?: number;

  constructor(code: string, message: string, options: { zkCode?: number; failedOp?: number; cause?: unknown } = {}) {
    const zkCode = options.zkCode ?? CLIENT_CODES[code] ?? zkCodeOf(code);
    super(code, message, { retriable: RETRIABLE.has(code), cause: options.cause });
    this.name = 'ZooKeeperError';
    this.zkCode = zkCode;
    if (options.failedOp !== undefined) this.failedOp = options.failedOp;
  }
}

function zkCodeOf(code: string): number {
  for (const [n, name] of SERVER_CODES) if (`ZK_${name}` === code) return n;
  return -1;
}

/** `ZK_<NAME>` for a wire error code (`ZK_UNKNOWN_<n>` for one this client does not know). */
export function zkCodeName(zkCode: number): string {
  const name = SERVER_CODES.get(zkCode);
  return name === undefined ? `ZK_UNKNOWN_${zkCode}` : `ZK_${name}`;
}

/** Why a server error code happened, in words a user can act on. */
const HINTS: Readonly<Record<string, string>> = {
  ZK_NONODE: 'the znode does not exist',
  ZK_NODEEXISTS: 'the znode exists already',
  ZK_BADVERSION: 'the znode changed since its version was read; read it again',
  ZK_NOTEMPTY: 'the znode has children; delete them first',
  ZK_NOAUTH: 'the ACL of the znode does not allow this to this client (check the digest credentials)',
  ZK_NOCHILDRENFOREPHEMERALS: 'ephemeral znodes cannot have children',
  ZK_SESSIONEXPIRED: 'the ZooKeeper session expired; create a new client',
  ZK_INVALIDACL: "the ACL is invalid (acl 'creator' needs digest credentials)",
  ZK_CONNECTIONLOSS: 'the connection to ZooKeeper was lost while the call was in flight; its outcome is unknown',
};

/** The error for a server's reply code to `op` on `path`. */
export function serverError(zkCode: number, op: string, path: string | undefined, failedOp?: number): ZooKeeperError {
  const code = zkCodeName(zkCode);
  const where = path === undefined ? '' : ` ${path}`;
  const hint = HINTS[code];
  const options: { zkCode: number; failedOp?: number } = { zkCode };
  if (failedOp !== undefined) options.failedOp = failedOp;
  return new ZooKeeperError(code, `ZooKeeper ${op}${where} failed: ${code}${hint === undefined ? '' : ` (${hint})`}`, options);
}

/**
 * Whether `err` is a ZooKeeperError, optionally with `code` ('NONODE' and 'ZK_NONODE' alike). By
 * duck typing, so an error rebuilt from its serialized form elsewhere is recognised too.
 */
export function isZooKeeperError(err: unknown, code?: string): err is ZooKeeperError {
  if (typeof err !== 'object' || err === null) return false;
  const actual = (err as { code?: unknown }).code;
  if (typeof actual !== 'string' || !actual.startsWith('ZK_')) return false;
  if (!(err instanceof ZooKeeperError) && typeof (err as { zkCode?: unknown }).zkCode !== 'number') return false;
  if (code === undefined) return true;
  return actual === (code.startsWith('ZK_') ? code : `ZK_${code}`);
}
