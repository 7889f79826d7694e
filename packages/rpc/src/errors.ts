/**
 * The codes a caller of the network RpcService may see, and how errors cross the wire: as
 * `{code, message, retriable}` (plus name and stack for diagnosis), rebuilt on the caller as a
 * SluiceError with the same code and flag. Callers recognise them by code, never by class.
 */
import { serializeError, SluiceError, type SerializedError } from '@sluice/common';

export const RPC_ERROR_CODES = Object.freeze({
  /** Nothing answers at the address (no process, no such endpoint): the call was not delivered. Retriable. */
  UNREACHABLE: 'RPC_UNREACHABLE',
  /** No reply within the call timeout: the call may or may not have run. Retriable. */
  TIMEOUT: 'RPC_TIMEOUT',
  /** The connection closed while the call was pending: it may or may not have run. Retriable. */
  CONNECTION_LOST: 'RPC_CONNECTION_LOST',
  /** The handshake did not complete (peer closed or went silent). Retriable. */
  HANDSHAKE: 'RPC_HANDSHAKE',
  /** The peer speaks another sluice-rpc protocol version. Not retriable. */
  VERSION_MISMATCH: 'RPC_VERSION_MISMATCH',
  /** The peers do not share the cluster secret. Not retriable. */
  AUTH: 'RPC_AUTH',
  /** TLS verification failed (untrusted certificate, wrong host name, no client certificate). Not retriable. */
  TLS: 'RPC_TLS',
  /** The endpoint has no callable method of that name. Not retriable. */
  UNKNOWN_METHOD: 'RPC_UNKNOWN_METHOD',
  /** A call or reply is larger than the receiver's frame limit. Not retriable. */
  FRAME_TOO_LARGE: 'RPC_FRAME_TOO_LARGE',
  /** An argument or result is not plain data (a Map, a class instance, a function…). Not retriable. */
  NOT_PLAIN_DATA: 'RPC_NOT_PLAIN_DATA',
  /** The peer sent a frame this process cannot decode. Not retriable. */
  PROTOCOL: 'RPC_PROTOCOL',
  /** This RpcService was stopped. Not retriable. */
  SERVICE_STOPPED: 'RPC_SERVICE_STOPPED',
  /** addressOf() before start(). Not retriable. */
  NOT_STARTED: 'RPC_NOT_STARTED',
});

export type RpcErrorCode = (typeof RPC_ERROR_CODES)[keyof typeof RPC_ERROR_CODES];

const RETRIABLE: ReadonlySet<string> = new Set([RPC_ERROR_CODES.UNREACHABLE, RPC_ERROR_CODES.TIMEOUT, RPC_ERROR_CODES.CONNECTION_LOST, RPC_ERROR_CODES.HANDSHAKE]);

/** An error raised by the RPC layer itself; retriable exactly for the codes documented above. */
export function rpcError(code: RpcErrorCode, message: string, cause?: unknown): SluiceError {
  const e = new SluiceError(code, message, cause === undefined ? { retriable: RETRIABLE.has(code) } : { retriable: RETRIABLE.has(code), cause });
  e.name = 'RpcError';
  return e;
}

/** What an error reply carries. `retriable` is explicit: an older SerializedError may lack it. */
export type WireError = SerializedError & { retriable: boolean };

export function toWireError(err: unknown): WireError {
  const s = serializeError(err);
  return { ...s, retriable: err instanceof SluiceError ? err.retriable : false };
}

/** Rebuilds a remote error; the remote stack is appended to the local one, so both sides show. */
export function fromWireError(w: unknown, peer: string): SluiceError {
  const o = (typeof w === 'object' && w !== null ? w : {}) as Partial<Record<keyof WireError, unknown>>;
  const code = typeof o.code === 'string' ? o.code : 'INTERNAL';
  const message = typeof o.message === 'string' ? o.message : `an error without a message from ${peer}`;
  const e = new SluiceError(code, message, { retriable: o.retriable === true });
  if (typeof o.name === 'string') e.name = o.name;
  if (typeof o.stack === 'string') e.stack = `${e.stack ?? `${e.name}: ${message}`}\nRemote stack (${peer}):\n${o.stack}`;
  return e;
}
