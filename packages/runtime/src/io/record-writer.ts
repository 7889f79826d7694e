/**
 * The producing side of one outgoing exchange of a task: picks the channel(s) for each record by
 * the partitioner, serializes it into that channel's staging batch, and publishes the batch to
 * the channel's ring when it is full, when its first frame is older than the buffer timeout
 * (`flushDue`), or on every record when the timeout is 0. Control events (watermarks, idleness,
 * end of partition) go into the same batches, in order with the records.
 *
 * Staging batches are private memory reused for the task's lifetime; a publish is one copy into
 * the ring. Serializing into staging rather than straight into the ring means a full ring only
 * stalls the producer at publish time, never in the middle of a record.
 *
 * When the ring has no free buffer the producer blocks its thread on its own doorbell (the
 * consumer rings it when it frees a buffer) in short slices, checking the cancel flag between
 * them. Blocking is the point: it is how backpressure reaches the sources.
 */
import type { PartitionerSpec, TypeSerializer } from '@sluice/api';
import { CancellationError, SluiceError, preciseNowMs } from '@sluice/common';
import { BUFFER_OVERFLOW, BufferDataOutput } from '../serialization/data-output.js';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { RingProducer } from './channel-ring.js';
import { createChannelSelector, type ChannelSelector } from './channel-selector.js';
import { Frame } from './frames.js';
import type { IoStats } from './stats.js';
import type { TaskControl } from './task-control.js';

export interface RecordWriterOptions {
  /** One per consumer subtask, in consumer-subtask order. */
  channels: ChannelEndpoint[];
  partitioner: PartitionerSpec;
  consumerMaxParallelism: number;
  producerSubtask: number;
  /** Parallelism of the producing vertex (rescale groups consumers by it); default: channel count. */
  producerParallelism?: number;
  /** Called once per channel: the default serializer keeps per-channel state. */
  createSerializer: () => TypeSerializer<unknown>;
  /** Flush a batch this long after its first frame; 0 flushes every record; Infinity only when full. */
  bufferTimeoutMs: number;
  control: TaskControl;
  stats: IoStats;
  /** Clock for buffer deadlines; `flushDue(now)` must use the same one. Default: preciseNowMs. */
  clock?: () => number;
}

/** How long one backpressure wait sleeps before re-checking the cancel flag. */
const BLOCK_SLICE_MS = 50;

class OutChannel {
  readonly producer: RingProducer;
  readonly staging: Uint8Array;
  readonly out: BufferDataOutput;
  /** Clock time of the first frame in staging; meaningful while `out.pos > 0`. */
  firstAt = 0;

  constructor(
    readonly index: number,
    endpoint: ChannelEndpoint,
    readonly serializer: TypeSerializer<unknown>,
    staging: Uint8Array,
  ) {
    this.producer = new RingProducer(endpoint);
    this.staging = staging;
    this.out = new BufferDataOutput(this.staging);
  }
}

/**
 * One staging buffer per channel, all views of one allocation. Allocated one by one (32 KiB
 * each by default), malloc zero-fills each of them in full, so a writer with parallelism
 * channels holds parallelism × 32 KiB resident whether they carry data or not. One block of
 * that size is, past malloc's mmap threshold, fresh zero pages of which only those written
 * become resident.
 */
function stagingBuffers(channels: readonly ChannelEndpoint[]): Uint8Array[] {
  const total = channels.reduce((n, ep) => n + ep.bufferSizeBytes, 0);
  const block = new ArrayBuffer(total);
  let offset = 0;
  return channels.map((ep) => {
    const view = new Uint8Array(block, offset, ep.bufferSizeBytes);
    offset += ep.bufferSizeBytes;
    return view;
  });
}

export class RecordWriter {
  private readonly channels: OutChannel[];
  private readonly selector: ChannelSelector;
  private readonly control: TaskControl;
  private readonly stats: IoStats;
  private readonly bufferTimeoutMs: number;
  private readonly flushEveryFrame: boolean;
  private readonly clock: () => number;
  private readonly createSerializer: () => TypeSerializer<unknown>;
  private finished = false;

  constructor(options: RecordWriterOptions) {
    const { channels, bufferTimeoutMs } = options;
    if (!(bufferTimeoutMs >= 0)) throw new SluiceError('CONFIGURATION', `bufferTimeoutMs must be ≥ 0 (or Infinity), got ${bufferTimeoutMs}`);
    const staging = stagingBuffers(channels);
    this.channels = channels.map((ep, i) => new OutChannel(i, ep, options.createSerializer(), staging[i]!));
    this.selector = createChannelSelector(options.partitioner, channels.length, options.producerSubtask, options.consumerMaxParallelism, options.producerParallelism ?? channels.length);
    this.control = options.control;
    this.stats = options.stats;
    this.bufferTimeoutMs = bufferTimeoutMs;
    this.flushEveryFrame = bufferTimeoutMs === 0;
    this.clock = options.clock ?? preciseNowMs;
    this.createSerializer = options.createSerializer;
  }

  get channelCount(): number {
    return this.channels.length;
  }

  /** Sends one record (timestamp `undefined` = none) to the partitioner's channel(s). */
  emit(value: unknown, timestamp: number | undefined): void {
    if (this.finished) throw new SluiceError('INTERNAL', 'RecordWriter.emit after finish()');
    if (this.selector.broadcast) {
      for (const ch of this.channels) this.writeRecord(ch, value, timestamp);
    } else {
      this.writeRecord(this.channels[this.selector.select(value)]!, value, timestamp);
    }
  }

  broadcastWatermark(watermark: number): void {
    for (const ch of this.channels) this.writeControl(ch, Frame.WATERMARK, watermark);
  }

  broadcastWatermarkStatus(idle: boolean): void {
    for (const ch of this.channels) this.writeControl(ch, idle ? Frame.STATUS_IDLE : Frame.STATUS_ACTIVE, undefined);
  }

  /**
   * Sends checkpoint barrier `checkpointId` on every channel, after everything emitted so far,
   * and publishes at once: a barrier waiting for the buffer timeout would hold up alignment.
   */
  broadcastBarrier(checkpointId: number): void {
    for (const ch of this.channels) {
      this.writeControl(ch, Frame.BARRIER, checkpointId);
      this.publish(ch);
    }
  }

  /**
   * Ends every channel (end-of-partition) and publishes everything staged, the end in a buffer
   * marked final (a network pump stops following the channel there). Idempotent.
   */
  finish(): void {
    if (this.finished) return;
    for (const ch of this.channels) {
      if (ch.out.remaining() < 1) this.publish(ch);
      ch.out.writeUint8(Frame.END_OF_PARTITION);
      this.publish(ch, true);
    }
    this.finished = true;
  }

  /**
   * Publishes every batch whose first frame is at least bufferTimeoutMs old at `nowMs`; returns
   * the earliest deadline of the batches still staged, or Infinity when none is. Like emit, it
   * blocks while a ring is full: a due batch waits for a credit rather than being held back.
   */
  flushDue(nowMs: number): number {
    let next = Infinity;
    const timeout = this.bufferTimeoutMs;
    for (const ch of this.channels) {
      if (ch.out.pos === 0) continue;
      const due = ch.firstAt + timeout;
      if (due <= nowMs) this.publish(ch);
      else if (due < next) next = due;
    }
    return next;
  }

  flushAll(): void {
    for (const ch of this.channels) this.publish(ch);
  }

  private writeRecord(ch: OutChannel, value: unknown, timestamp: number | undefined): void {
    const out = ch.out;
    let start = out.pos;
    try {
      encodeRecord(ch, value, timestamp);
    } catch (err) {
      out.pos = start;
      if (err !== BUFFER_OVERFLOW) throw err;
      if (start === 0) throw this.tooBig(ch, value, timestamp);
      this.publish(ch);
      start = 0;
      try {
        encodeRecord(ch, value, timestamp);
      } catch (err2) {
        out.pos = 0;
        if (err2 !== BUFFER_OVERFLOW) throw err2;
        throw this.tooBig(ch, value, timestamp);
      }
    }
    if (start === 0) ch.firstAt = this.clock();
    if (this.flushEveryFrame) this.publish(ch);
  }

  private writeControl(ch: OutChannel, frame: number, payload: number | undefined): void {
    if (this.finished) throw new SluiceError('INTERNAL', 'RecordWriter: control event after finish()');
    const out = ch.out;
    if (out.remaining() < 9) this.publish(ch);
    if (out.pos === 0) ch.firstAt = this.clock();
    out.writeUint8(frame);
    if (payload !== undefined) out.writeFloat64(payload);
    if (this.flushEveryFrame) this.publish(ch);
  }

  /** Publishes the channel's staged batch, blocking while its ring is full. */
  private publish(ch: OutChannel, final = false): void {
    const len = ch.out.pos;
    if (len === 0) return;
    if (!ch.producer.tryPublish(ch.staging, len, final)) this.waitAndPublish(ch, len, final);
    ch.out.pos = 0;
    this.stats.bytesOut += len;
    this.stats.buffersOut++;
  }

  private waitAndPublish(ch: OutChannel, len: number, final: boolean): void {
    const control = this.control;
    for (;;) {
      // Read the doorbell before trying: a release after the try changes it and the wait
      // returns at once instead of sleeping a whole slice.
      const seen = control.doorbell();
      if (ch.producer.tryPublish(ch.staging, len, final)) return;
      if (control.cancelled()) {
        throw new CancellationError(`cancelled while waiting for a free buffer on output channel ${ch.index} (backpressure)`);
      }
      const t0 = performance.now();
      control.waitSync(seen, BLOCK_SLICE_MS);
      this.stats.backpressuredMs += performance.now() - t0;
    }
  }

  private tooBig(ch: OutChannel, value: unknown, timestamp: number | undefined): SluiceError {
    // Measure with a fresh serializer on a growable buffer: the channel's own serializer must
    // not learn shapes its reader will never see.
    let size = 'unknown';
    try {
      const probe = new BufferDataOutput(new Uint8Array(1024), { growable: true });
      probe.writeUint8(Frame.RECORD_TS);
      if (timestamp !== undefined) probe.writeFloat64(timestamp);
      this.createSerializer().serialize(value, probe);
      size = String(probe.pos);
    } catch {
      // Keep 'unknown'; the size is only for the message.
    }
    return new SluiceError(
      'RECORD_TOO_LARGE',
      `a record of ${size} bytes (serialized, with framing) does not fit in an empty network buffer of ${ch.staging.byteLength} bytes; raise the job's bufferSizeBytes option above the largest record`,
    );
  }
}

function encodeRecord(ch: OutChannel, value: unknown, timestamp: number | undefined): void {
  const out = ch.out;
  if (timestamp === undefined) out.writeUint8(Frame.RECORD);
  else out.writeUint8Float64(Frame.RECORD_TS, timestamp);
  ch.serializer.serialize(value, out);
}
