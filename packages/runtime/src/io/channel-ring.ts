/**
 * A single-producer single-consumer ring of N fixed-size buffers in one SharedArrayBuffer: the
 * channel between two tasks on different threads. Free buffers are the producer's credits, so
 * a channel never holds more than N batches and a slow consumer stops its producer.
 *
 * Layout (bytes):
 *   0    Int32 header: [0] published count, [1] released count, [2] N, [3] buffer size, [4] magic,
 *        [5] broken flag, [6] byte length of the broken reason
 *   64   the broken reason, UTF-8 (448 bytes at most)
 *   512  Int32 used length of each buffer, N entries; bit 30 marks the channel's final buffer
 *   …    (8-aligned) N × bufferSize bytes of data
 *
 * The final mark and the broken state exist for channels that cross TaskManagers: the main
 * thread's network pump learns from the mark that a channel has ended (so a later connection
 * loss does not concern it), and breaks a ring whose connection was lost so that the task on
 * the other side fails with the reason instead of waiting forever.
 *
 * The producer owns the published count and the consumer the released count; each side keeps
 * its own count locally and reads the other's with Atomics.load. Buffer bytes and lengths are
 * written before the count is published with Atomics.store, and the JS memory model orders
 * those plain writes before the other side's Atomics.load of the count.
 *
 * Counts wrap at a multiple of N below 2^30, so slot = count % N stays continuous across the
 * wrap and `published − released` (mod the wrap) is the number of filled buffers.
 */
import { SluiceError } from '@sluice/common';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { ringDoorbell } from './task-control.js';

const H_PUBLISHED = 0;
const H_RELEASED = 1;
const H_BUFFERS = 2;
const H_BUFFER_SIZE = 3;
const H_MAGIC = 4;
const H_BROKEN = 5;
const H_REASON_BYTES = 6;
const REASON_OFFSET = 64;
const HEADER_BYTES = 512;
const FINAL_BIT = 1 << 30;
const LENGTH_MASK = FINAL_BIT - 1;
const MAGIC = 0x53_4c_52_31; // "SLR1"

function lengthsBytes(buffers: number): number {
  return Math.ceil((buffers * 4) / 8) * 8;
}

export function ringByteLength(buffers: number, bufferSizeBytes: number): number {
  return HEADER_BYTES + lengthsBytes(buffers) + buffers * bufferSizeBytes;
}

function wrapOf(buffers: number): number {
  return buffers * Math.floor(2 ** 30 / buffers);
}

/** Throws unless the sizes make a ring (they come from job configuration). */
export function checkRingSizes(buffers: number, bufferSizeBytes: number): void {
  if (!Number.isInteger(buffers) || buffers < 1 || buffers > 1 << 16) {
    throw new SluiceError('CONFIGURATION', `buffersPerChannel must be an integer in [1, 65536], got ${buffers}`);
  }
  if (!Number.isInteger(bufferSizeBytes) || bufferSizeBytes < 64 || bufferSizeBytes > 1 << 28) {
    throw new SluiceError('CONFIGURATION', `bufferSizeBytes must be an integer in [64, 2^28], got ${bufferSizeBytes}`);
  }
}

/**
 * Initialises a ring at `offset` (a multiple of 8) of zeroed shared memory that has
 * ringByteLength(buffers, bufferSizeBytes) bytes free there. The caller sized that memory, so it
 * has checked the sizes with checkRingSizes already.
 */
export function initChannelRing(sab: SharedArrayBuffer, offset: number, buffers: number, bufferSizeBytes: number): void {
  const h = new Int32Array(sab, offset, HEADER_BYTES / 4);
  h[H_BUFFERS] = buffers;
  h[H_BUFFER_SIZE] = bufferSizeBytes;
  Atomics.store(h, H_MAGIC, MAGIC);
}

/** Allocates and initialises a ring of its own. */
export function createChannelRing(buffers: number, bufferSizeBytes: number): SharedArrayBuffer {
  checkRingSizes(buffers, bufferSizeBytes);
  const sab = new SharedArrayBuffer(ringByteLength(buffers, bufferSizeBytes));
  initChannelRing(sab, 0, buffers, bufferSizeBytes);
  return sab;
}

/**
 * Marks a ring broken with a reason (kept to its first 448 UTF-8 bytes) and wakes both of its
 * tasks: the next read on an empty ring and the next publish fail with ChannelBrokenError.
 * Called by the TaskManager's main thread; idempotent (the first reason stays).
 */
export function breakChannelRing(endpoint: ChannelEndpoint, reason: string): void {
  const base = endpoint.ringOffset ?? 0;
  const header = new Int32Array(endpoint.ring, base, REASON_OFFSET / 4);
  if (Atomics.load(header, H_BROKEN) !== 0) return;
  const bytes = new TextEncoder().encode(reason).subarray(0, HEADER_BYTES - REASON_OFFSET);
  new Uint8Array(endpoint.ring, base + REASON_OFFSET, bytes.length).set(bytes);
  header[H_REASON_BYTES] = bytes.length;
  Atomics.store(header, H_BROKEN, 1);
  ringDoorbell(new Int32Array(endpoint.producerControl));
  ringDoorbell(new Int32Array(endpoint.consumerControl));
}

/** A task used a channel whose other end is gone (its TaskManager connection was lost). */
export class ChannelBrokenError extends SluiceError {
  constructor(message: string) {
    super('CHANNEL_BROKEN', message, { retriable: true });
    this.name = 'ChannelBrokenError';
  }
}

/** Shared view setup for both ends; checks that the endpoint describes this ring. */
class RingView {
  protected readonly header: Int32Array;
  protected readonly lengths: Int32Array;
  /** All buffers' bytes; buffer i starts at i × bufferSize. */
  readonly data: Uint8Array;
  readonly buffers: number;
  readonly bufferSize: number;
  protected readonly wrap: number;
  private readonly reason: Uint8Array;

  constructor(endpoint: ChannelEndpoint) {
    const sab = endpoint.ring;
    const base = endpoint.ringOffset ?? 0;
    this.header = new Int32Array(sab, base, REASON_OFFSET / 4);
    this.reason = new Uint8Array(sab, base + REASON_OFFSET, HEADER_BYTES - REASON_OFFSET);
    const n = this.header[H_BUFFERS]!;
    const size = this.header[H_BUFFER_SIZE]!;
    if (Atomics.load(this.header, H_MAGIC) !== MAGIC || n !== endpoint.buffers || size !== endpoint.bufferSizeBytes) {
      throw new SluiceError(
        'INTERNAL',
        `channel ring does not match its endpoint (ring: ${n} × ${size} bytes, endpoint: ${endpoint.buffers} × ${endpoint.bufferSizeBytes}); rings must come from createChannelRing or initChannelRing`,
      );
    }
    this.buffers = n;
    this.bufferSize = size;
    this.wrap = wrapOf(n);
    this.lengths = new Int32Array(sab, base + HEADER_BYTES, n);
    this.data = new Uint8Array(sab, base + HEADER_BYTES + lengthsBytes(n), n * size);
  }

  /** Why the ring was broken (see breakChannelRing), or undefined while it is not. */
  brokenReason(): string | undefined {
    if (Atomics.load(this.header, H_BROKEN) === 0) return undefined;
    // slice: TextDecoder does not read shared memory.
    return new TextDecoder().decode(this.reason.slice(0, this.header[H_REASON_BYTES]!));
  }
}

export class RingProducer extends RingView {
  private published: number;
  private readonly consumerControl: Int32Array;

  constructor(endpoint: ChannelEndpoint) {
    super(endpoint);
    this.published = Atomics.load(this.header, H_PUBLISHED);
    this.consumerControl = new Int32Array(endpoint.consumerControl);
  }

  /** Free buffers (credits) right now. */
  freeBuffers(): number {
    const released = Atomics.load(this.header, H_RELEASED);
    const filled = (this.published - released + this.wrap) % this.wrap;
    return this.buffers - filled;
  }

  /**
   * Copies `length` bytes of `src` into the next free buffer, publishes it and rings the
   * consumer. Returns false (and does nothing) when no buffer is free. `final` marks the last
   * buffer the channel will ever carry. Throws ChannelBrokenError once the ring is broken.
   */
  tryPublish(src: Uint8Array, length: number, final = false): boolean {
    if (Atomics.load(this.header, H_BROKEN) !== 0) throw new ChannelBrokenError(`output channel is broken: ${this.brokenReason()}`);
    if (this.freeBuffers() === 0) return false;
    if (length > this.bufferSize) throw new RangeError(`batch of ${length} bytes exceeds the ring's buffer size ${this.bufferSize}`);
    const slot = this.published % this.buffers;
    this.data.set(length === src.byteLength ? src : src.subarray(0, length), slot * this.bufferSize);
    this.lengths[slot] = final ? length | FINAL_BIT : length;
    this.published = (this.published + 1) % this.wrap;
    Atomics.store(this.header, H_PUBLISHED, this.published);
    // Ring only when the ring was empty, as Flink notifies data availability only when a
    // subpartition's queue turns non-empty: a consumer sleeps only after finding every ring
    // empty, and rings that already held data will be read before it does. Publishing stores
    // the count before loading the consumer's, and the consumer stores its release before it
    // loads ours (both sequentially consistent), so if this load misses a release that emptied
    // the ring, that consumer's next look sees this buffer. A notify that wakes a thread costs
    // a system call; this saves it for every buffer a busy consumer has not caught up with.
    if ((this.published - Atomics.load(this.header, H_RELEASED) + this.wrap) % this.wrap === 1) ringDoorbell(this.consumerControl);
    return true;
  }
}

export class RingConsumer extends RingView {
  private released: number;
  private readonly producerControl: Int32Array;

  constructor(endpoint: ChannelEndpoint) {
    super(endpoint);
    this.released = Atomics.load(this.header, H_RELEASED);
    this.producerControl = new Int32Array(endpoint.producerControl);
  }

  /** Filled buffers waiting to be read. */
  available(): number {
    const published = Atomics.load(this.header, H_PUBLISHED);
    return (published - this.released + this.wrap) % this.wrap;
  }

  /** Byte offset in `data` of the oldest filled buffer (only valid while available() > 0). */
  headOffset(): number {
    return (this.released % this.buffers) * this.bufferSize;
  }

  /** Used length of the oldest filled buffer. */
  headLength(): number {
    return this.lengths[this.released % this.buffers]! & LENGTH_MASK;
  }

  /** Whether the oldest filled buffer is the channel's last one. */
  headIsFinal(): boolean {
    return (this.lengths[this.released % this.buffers]! & FINAL_BIT) !== 0;
  }

  /** Returns the oldest buffer to the producer and rings it. */
  release(): void {
    this.released = (this.released + 1) % this.wrap;
    Atomics.store(this.header, H_RELEASED, this.released);
    ringDoorbell(this.producerControl);
  }
}
