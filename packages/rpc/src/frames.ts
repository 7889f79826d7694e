/**
 * Length-prefixed frames: `u32 length | u8 kind | body`, big-endian, where length counts the kind
 * byte and the body. Calls and replies put a u32 call id and a u8 flags byte at the start of the
 * body, then the JSON payload (see codec.ts). Pure encode/decode, no sockets.
 */
export const FRAME = Object.freeze({
  HELLO: 1,
  CHALLENGE: 2,
  AUTH: 3,
  READY: 4,
  CALL: 10,
  REPLY: 11,
  ERROR: 12,
  /** The sender refuses or ends the connection: JSON `{code, message, version?}`. Stable across versions. */
  REJECT: 127,
});

export const FRAME_HEADER_BYTES = 5;
const CALL_HEADER_BYTES = FRAME_HEADER_BYTES + 5;
/** Flags byte of call and reply frames. */
export const FLAG_TAGGED = 1;

export function frame(kind: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  buf.writeUInt32BE(1 + body.length, 0);
  buf[4] = kind;
  buf.set(body, FRAME_HEADER_BYTES);
  return buf;
}

/** A CALL, REPLY or ERROR frame; its total size is `buf.length`. */
export function callFrame(kind: number, callId: number, flags: number, json: string): Buffer {
  const n = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(CALL_HEADER_BYTES + n);
  buf.writeUInt32BE(1 + 5 + n, 0);
  buf[4] = kind;
  buf.writeUInt32BE(callId, 5);
  buf[9] = flags;
  buf.write(json, CALL_HEADER_BYTES, 'utf8');
  return buf;
}

export interface CallBody {
  callId: number;
  flags: number;
  json: string;
}

export function readCallBody(body: Buffer): CallBody | undefined {
  if (body.length < 5) return undefined;
  return { callId: body.readUInt32BE(0), flags: body[4] ?? 0, json: body.toString('utf8', 5) };
}

/**
 * Cuts a byte stream into frames without copying a frame that arrived whole, and without
 * re-concatenating a large frame that arrives in many chunks. A frame longer than `limit`
 * (the frame's length field) is reported through `onOversized` as soon as its header is in;
 * nothing after it is read.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private kind = 0;
  private stopped = false;

  constructor(
    public limit: number,
    private readonly onFrame: (kind: number, body: Buffer) => void,
    private readonly onOversized: (length: number, firstBytes: Buffer) => void,
  ) {}

  /** Stops delivering frames (the connection is closing). */
  stop(): void {
    this.stopped = true;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      if (this.body !== undefined) {
        const n = Math.min(this.body.length - this.bodyFilled, chunk.length - at);
        chunk.copy(this.body, this.bodyFilled, at, at + n);
        this.bodyFilled += n;
        at += n;
        if (this.bodyFilled === this.body.length) {
          const body = this.body;
          this.body = undefined;
          this.onFrame(this.kind, body);
        }
        continue;
      }
      const n = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.length - at);
      chunk.copy(this.header, this.headerFilled, at, at + n);
      this.headerFilled += n;
      at += n;
      if (this.headerFilled < FRAME_HEADER_BYTES) break;
      this.headerFilled = 0;
      const length = this.header.readUInt32BE(0);
      if (length < 1 || length > this.limit) {
        this.stopped = true;
        this.onOversized(length, Buffer.concat([this.header, chunk.subarray(at, at + 11)]));
        return;
      }
      this.kind = this.header[4] ?? 0;
      const bodyLength = length - 1;
      if (chunk.length - at >= bodyLength) {
        const body = chunk.subarray(at, at + bodyLength);
        at += bodyLength;
        this.onFrame(this.kind, body);
      } else {
        this.body = Buffer.allocUnsafe(bodyLength);
        this.bodyFilled = 0;
      }
    }
  }
}

/** Says what a stream's first bytes look like, for the log line of a refused connection. */
export function describeForeignBytes(first: Buffer, protocol = 'the sluice-rpc protocol'): string {
  if (first[0] === 0x16 && first[1] === 0x03) return 'a TLS handshake: the peer uses TLS (security.ssl) and this process does not';
  if (first[0] === 0x15 && first[1] === 0x03) return 'a TLS alert: the peer uses TLS (security.ssl) and this process does not';
  const text = first.toString('latin1');
  if (/^[\x20-\x7e\r\n\t]+$/.test(text)) return `text ${JSON.stringify(text)}, not ${protocol} (an HTTP client or a port scanner?)`;
  return `bytes ${first.toString('hex')}, not ${protocol}`;
}
