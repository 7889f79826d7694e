/**
 * The data exchange's wire format between two TaskManagers: length-prefixed binary frames,
 * pure encode and decode (no sockets here).
 *
 *   frame  u32 length (of what follows, ≥ 1), u8 type, body
 *   str    u16 byte length, UTF-8
 *
 *   HELLO              u32 magic "SLDX", u16 version, str resourceId   (first frame, each way)
 *   PARTITION_REQUEST  u32 channel, u32 attempt, u32 producerSubtask, u32 consumerSubtask,
 *                      u32 bufferSizeBytes, u32 buffers, u32 initialCredit,
 *                      str jobId, str edgeId, str producerVertexId, str consumerVertexId
 *   BUFFER             u32 channel, u32 backlog, u8 flags (1: final), the buffer's bytes
 *   ADD_CREDIT         u32 channel, u32 credit (> 0, an increment)
 *   CLOSE_CHANNEL      u32 channel                    consumer side → producer side
 *   CHANNEL_ERROR      u32 channel, str message       producer side → consumer side
 *   CANCEL_ATTEMPT     u32 attempt, str jobId         either way: forget the attempt's channels
 *   GOODBYE            u8 reason, str message         the sender closes the connection on purpose
 *
 * A channel id is chosen by the consuming TaskManager when it requests the partition, unique
 * per connection; every later frame of the channel, either way, names it.
 */
import { SluiceError } from '@sluice/common';
import type { ChannelAddress, ChannelSizes } from '../shuffle-service.js';

export const DATA_MAGIC = 0x53_4c_44_58; // "SLDX"
export const DATA_PROTOCOL_VERSION = 1;
/** Default limit on one frame (a buffer of 16 MiB plus its header fits). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 2 ** 20 + 64;

export const FrameType = {
  HELLO: 1,
  PARTITION_REQUEST: 2,
  BUFFER: 3,
  ADD_CREDIT: 4,
  CLOSE_CHANNEL: 5,
  CHANNEL_ERROR: 6,
  CANCEL_ATTEMPT: 7,
  GOODBYE: 8,
} as const;

export const GoodbyeReason = { SHUTDOWN: 0, DUPLICATE: 1, PROTOCOL_ERROR: 2 } as const;
export type GoodbyeReason = (typeof GoodbyeReason)[keyof typeof GoodbyeReason];

export interface PartitionRequest extends ChannelAddress, ChannelSizes {
  channel: number;
  initialCredit: number;
}

export type DataFrame =
  | { type: 'hello'; magic: number; version: number; resourceId: string }
  | ({ type: 'partition-request' } & PartitionRequest)
  /** `data` is a view into the decoder's input, valid only during the callback. */
  | { type: 'buffer'; channel: number; backlog: number; final: boolean; data: Uint8Array }
  | { type: 'add-credit'; channel: number; credit: number }
  | { type: 'close-channel'; channel: number }
  | { type: 'channel-error'; channel: number; message: string }
  | { type: 'cancel-attempt'; jobId: string; attempt: number }
  | { type: 'goodbye'; reason: GoodbyeReason; message: string };

/** The peer broke the wire protocol; the connection is closed. */
export class DataProtocolError extends SluiceError {
  constructor(message: string) {
    super('DATA_PROTOCOL', message);
    this.name = 'DataProtocolError';
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

type Field = { u8: number } | { u16: number } | { u32: number } | { str: string } | { bytes: Uint8Array };

function fieldBytes(f: Field): number {
  if ('u8' in f) return 1;
  if ('u16' in f) return 2;
  if ('u32' in f) return 4;
  if ('bytes' in f) return f.bytes.length;
  return 2 + Buffer.byteLength(f.str);
}

/** One frame of these fields, in order. */
function frame(type: number, fields: readonly Field[]): Buffer {
  const body = 1 + fields.reduce((n, f) => n + fieldBytes(f), 0);
  const buf = Buffer.allocUnsafe(4 + body);
  buf.writeUInt32BE(body, 0);
  buf[4] = type;
  let at = 5;
  for (const f of fields) {
    if ('u8' in f) buf[at++] = f.u8;
    else if ('u16' in f) at = buf.writeUInt16BE(f.u16, at);
    else if ('u32' in f) at = buf.writeUInt32BE(f.u32, at);
    else if ('bytes' in f) {
      buf.set(f.bytes, at);
      at += f.bytes.length;
    } else {
      const n = buf.write(f.str, at + 2, 'utf8');
      if (n > 0xffff) throw new DataProtocolError(`a string field of ${n} bytes does not fit a data frame (at most 65535)`);
      buf.writeUInt16BE(n, at);
      at += 2 + n;
    }
  }
  return buf;
}

/** Messages are for people; the wire keeps their first 1000 characters. */
const truncate = (s: string): string => (s.length > 1000 ? `${s.slice(0, 1000)}…` : s);

export const encode = {
  hello: (resourceId: string): Buffer => frame(FrameType.HELLO, [{ u32: DATA_MAGIC }, { u16: DATA_PROTOCOL_VERSION }, { str: resourceId }]),
  partitionRequest: (r: PartitionRequest): Buffer =>
    frame(FrameType.PARTITION_REQUEST, [
      ...[r.channel, r.attempt, r.producerSubtask, r.consumerSubtask, r.bufferSizeBytes, r.buffers, r.initialCredit].map((u32) => ({ u32 })),
      ...[r.jobId, r.edgeId, r.producerVertexId, r.consumerVertexId].map((str) => ({ str })),
    ]),
  /** The bytes of `data` (a view of a ring buffer) are copied into the frame. */
  buffer: (channel: number, backlog: number, final: boolean, data: Uint8Array): Buffer => frame(FrameType.BUFFER, [{ u32: channel }, { u32: backlog }, { u8: final ? 1 : 0 }, { bytes: data }]),
  addCredit: (channel: number, credit: number): Buffer => frame(FrameType.ADD_CREDIT, [{ u32: channel }, { u32: credit }]),
  closeChannel: (channel: number): Buffer => frame(FrameType.CLOSE_CHANNEL, [{ u32: channel }]),
  channelError: (channel: number, message: string): Buffer => frame(FrameType.CHANNEL_ERROR, [{ u32: channel }, { str: truncate(message) }]),
  cancelAttempt: (jobId: string, attempt: number): Buffer => frame(FrameType.CANCEL_ATTEMPT, [{ u32: attempt }, { str: jobId }]),
  goodbye: (reason: GoodbyeReason, message: string): Buffer => frame(FrameType.GOODBYE, [{ u8: reason }, { str: truncate(message) }]),
};

/** Reads one frame's fields in order; any read past its end is a protocol error. */
class BodyReader {
  private at = 1;

  constructor(private readonly body: Buffer, private readonly name: string) {}

  private need(n: number): number {
    const at = this.at;
    if (at + n > this.body.length) throw new DataProtocolError(`${this.name} frame of ${this.body.length} bytes is truncated`);
    this.at += n;
    return at;
  }

  u8(): number {
    return this.body[this.need(1)]!;
  }

  u16(): number {
    return this.body.readUInt16BE(this.need(2));
  }

  u32(): number {
    return this.body.readUInt32BE(this.need(4));
  }

  str(): string {
    const n = this.u16();
    const at = this.need(n);
    try {
      return decoder.decode(this.body.subarray(at, at + n));
    } catch {
      throw new DataProtocolError(`${this.name} frame has a string that is not UTF-8`);
    }
  }

  rest(): Uint8Array {
    const at = this.at;
    this.at = this.body.length;
    return this.body.subarray(at);
  }

  end(): void {
    if (this.at !== this.body.length) throw new DataProtocolError(`${this.name} frame has ${this.body.length - this.at} bytes too many`);
  }
}

/** Parses one frame body (type byte first). Throws DataProtocolError on anything malformed. */
export function parseFrame(body: Buffer): DataFrame {
  const type = body[0]!;
  let f: DataFrame;
  switch (type) {
    case FrameType.HELLO: {
      const r = new BodyReader(body, 'HELLO');
      f = { type: 'hello', magic: r.u32(), version: r.u16(), resourceId: r.str() };
      r.end();
      return f;
    }
    case FrameType.PARTITION_REQUEST: {
      const r = new BodyReader(body, 'PARTITION_REQUEST');
      const [channel, attempt, producerSubtask, consumerSubtask, bufferSizeBytes, buffers, initialCredit] = [r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()] as const;
      f = { type: 'partition-request', channel, attempt, producerSubtask, consumerSubtask, bufferSizeBytes, buffers, initialCredit, jobId: r.str(), edgeId: r.str(), producerVertexId: r.str(), consumerVertexId: r.str() };
      r.end();
      return f;
    }
    case FrameType.BUFFER: {
      const r = new BodyReader(body, 'BUFFER');
      const channel = r.u32();
      const backlog = r.u32();
      const flags = r.u8();
      if ((flags & ~1) !== 0) throw new DataProtocolError(`BUFFER frame has unknown flags ${flags}`);
      return { type: 'buffer', channel, backlog, final: flags === 1, data: r.rest() };
    }
    case FrameType.ADD_CREDIT: {
      const r = new BodyReader(body, 'ADD_CREDIT');
      f = { type: 'add-credit', channel: r.u32(), credit: r.u32() };
      r.end();
      if (f.credit === 0) throw new DataProtocolError('ADD_CREDIT frame announces 0 credits (increments are > 0)');
      return f;
    }
    case FrameType.CLOSE_CHANNEL: {
      const r = new BodyReader(body, 'CLOSE_CHANNEL');
      f = { type: 'close-channel', channel: r.u32() };
      r.end();
      return f;
    }
    case FrameType.CHANNEL_ERROR: {
      const r = new BodyReader(body, 'CHANNEL_ERROR');
      f = { type: 'channel-error', channel: r.u32(), message: r.str() };
      r.end();
      return f;
    }
    case FrameType.CANCEL_ATTEMPT: {
      const r = new BodyReader(body, 'CANCEL_ATTEMPT');
      const attempt = r.u32();
      f = { type: 'cancel-attempt', attempt, jobId: r.str() };
      r.end();
      return f;
    }
    case FrameType.GOODBYE: {
      const r = new BodyReader(body, 'GOODBYE');
      const reason = r.u8();
      if (reason > GoodbyeReason.PROTOCOL_ERROR) throw new DataProtocolError(`GOODBYE frame has unknown reason ${reason}`);
      f = { type: 'goodbye', reason: reason as GoodbyeReason, message: r.str() };
      r.end();
      return f;
    }
    default:
      throw new DataProtocolError(`unknown frame type ${type}`);
  }
}

/**
 * Cuts a byte stream into frames. A frame inside one chunk is parsed in place; one split across
 * chunks is collected into a buffer of its announced size, which is checked against the limit
 * before anything is allocated.
 */
export class FrameDecoder {
  private readonly lengthBytes = Buffer.alloc(4);
  private lengthHave = 0;
  private partial: Buffer | undefined;
  private partialHave = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (frame: DataFrame) => void,
  ) {}

  /** Whether a frame is half-received (a stream that ends now was cut mid-frame). */
  get midFrame(): boolean {
    return this.lengthHave > 0 || this.partial !== undefined;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialHave, n - i);
        chunk.copy(this.partial, this.partialHave, i, i + take);
        this.partialHave += take;
        i += take;
        if (this.partialHave < this.partial.length) return;
        const body = this.partial;
        this.partial = undefined;
        this.onFrame(parseFrame(body));
        continue;
      }
      let length: number;
      if (this.lengthHave > 0 || n - i < 4) {
        while (this.lengthHave < 4 && i < n) this.lengthBytes[this.lengthHave++] = chunk[i++]!;
        if (this.lengthHave < 4) return;
        this.lengthHave = 0;
        length = this.lengthBytes.readUInt32BE(0);
      } else {
        length = chunk.readUInt32BE(i);
        i += 4;
      }
      if (length < 1 || length > this.maxFrameBytes) throw new DataProtocolError(`frame of ${length} bytes announced; frames are 1 to ${this.maxFrameBytes} bytes`);
      if (n - i >= length) {
        this.onFrame(parseFrame(chunk.subarray(i, i + length)));
        i += length;
      } else {
        this.partial = Buffer.allocUnsafe(length);
        this.partialHave = 0;
      }
    }
  }
}
