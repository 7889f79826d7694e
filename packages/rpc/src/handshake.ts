/**
 * The sluice-rpc handshake, as pure encode/decode and proofs:
 *
 *   client → HELLO     magic "SLRP" | u16 version | 32-byte client nonce | JSON {maxFrameBytes, advertised?}
 *   server → CHALLENGE magic | u16 version | 32-byte server nonce | server proof | JSON {maxFrameBytes}
 *   client → AUTH      client proof
 *   server → READY
 *
 * A proof is HMAC-SHA256(secret, label | client nonce | server nonce) with a different label per
 * side, so each side proves it holds the cluster secret without sending it, and neither proof can
 * be replayed or reflected. Either side may instead send REJECT `{code, message, version}` and
 * close. Magic and version lead HELLO and CHALLENGE in every protocol version, so a process can
 * always tell which version its peer speaks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = 1;
export const MAGIC = Buffer.from('SLRP', 'latin1');
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
/** Handshake frames are tiny; a larger first frame is not a sluice-rpc peer. */
export const HANDSHAKE_FRAME_LIMIT = 4096;

const PREFIX_BYTES = MAGIC.length + 2;

export interface Hello {
  version: number;
  nonce: Buffer;
  maxFrameBytes: number;
  /** The `host:port` the client's own server advertises, when it has one: the reply path for calls. */
  advertised: string | undefined;
}

export interface Challenge {
  version: number;
  nonce: Buffer;
  proof: Buffer;
  maxFrameBytes: number;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function encodeHello(h: Hello): Buffer {
  const info = Buffer.from(JSON.stringify(h.advertised === undefined ? { maxFrameBytes: h.maxFrameBytes } : { maxFrameBytes: h.maxFrameBytes, advertised: h.advertised }));
  return Buffer.concat([prefix(h.version), h.nonce, info]);
}

export function encodeChallenge(c: Challenge): Buffer {
  return Buffer.concat([prefix(c.version), c.nonce, c.proof, Buffer.from(JSON.stringify({ maxFrameBytes: c.maxFrameBytes }))]);
}

/** The magic and version of a HELLO or CHALLENGE body, or why it is not one. */
export function readPrefix(body: Buffer): { version: number } | { foreign: string } {
  if (body.length < PREFIX_BYTES || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { foreign: `wrong magic bytes ${body.subarray(0, MAGIC.length).toString('hex') || '(none)'} (expected ${MAGIC.toString('hex')}): not a sluice-rpc peer` };
  }
  return { version: body.readUInt16BE(MAGIC.length) };
}

/** Parses a HELLO of this protocol version (the prefix was checked); undefined if malformed. */
export function parseHello(body: Buffer): Hello | undefined {
  const at = PREFIX_BYTES;
  if (body.length < at + NONCE_BYTES) return undefined;
  const info = parseInfo(body.subarray(at + NONCE_BYTES));
  if (info === undefined) return undefined;
  const advertised = typeof info.advertised === 'string' && info.advertised.length <= 300 ? info.advertised : undefined;
  return { version: PROTOCOL_VERSION, nonce: Buffer.from(body.subarray(at, at + NONCE_BYTES)), maxFrameBytes: info.maxFrameBytes, advertised };
}

export function parseChallenge(body: Buffer): Challenge | undefined {
  const at = PREFIX_BYTES;
  if (body.length < at + NONCE_BYTES + PROOF_BYTES) return undefined;
  const info = parseInfo(body.subarray(at + NONCE_BYTES + PROOF_BYTES));
  if (info === undefined) return undefined;
  return {
    version: PROTOCOL_VERSION,
    nonce: Buffer.from(body.subarray(at, at + NONCE_BYTES)),
    proof: Buffer.from(body.subarray(at + NONCE_BYTES, at + NONCE_BYTES + PROOF_BYTES)),
    maxFrameBytes: info.maxFrameBytes,
  };
}

export type ProofSide = 'client' | 'server';

/**
 * `protocol` names the wire the proof is for, so a proof made in one protocol's handshake (RPC or
 * the data exchange) is worthless in the other's.
 */
export function proof(secret: Buffer, side: ProofSide, clientNonce: Buffer, serverNonce: Buffer, protocol = 'sluice-rpc'): Buffer {
  return createHmac('sha256', secret).update(`${protocol} ${side} proof\0`).update(clientNonce).update(serverNonce).digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

export function versionMismatchMessage(peerVersion: number, ownVersion: number): string {
  return `peer speaks sluice-rpc ${peerVersion}, this process speaks ${ownVersion}; run the same Sluice version on every node`;
}

export interface Rejection {
  code: string;
  message: string;
  version: number;
}

export function encodeRejection(r: Rejection): Buffer {
  return Buffer.from(JSON.stringify(r));
}

export function parseRejection(body: Buffer): Rejection {
  try {
    const o = JSON.parse(body.toString('utf8')) as Partial<Rejection>;
    return { code: String(o.code ?? 'RPC_HANDSHAKE'), message: String(o.message ?? 'no reason given'), version: Number(o.version ?? 0) };
  } catch {
    return { code: 'RPC_HANDSHAKE', message: 'the peer refused the connection with an unreadable reason', version: 0 };
  }
}

function prefix(version: number): Buffer {
  const b = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16BE(version, MAGIC.length);
  return b;
}

function parseInfo(bytes: Buffer): { maxFrameBytes: number; advertised?: unknown } | undefined {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as { maxFrameBytes?: unknown; advertised?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.maxFrameBytes !== 'number' || !(o.maxFrameBytes >= 1024)) return undefined;
    return { maxFrameBytes: o.maxFrameBytes, advertised: o.advertised };
  } catch {
    return undefined;
  }
}
