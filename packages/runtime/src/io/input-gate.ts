/**
 * The consuming side of a task: every incoming channel of every input, read round-robin one
 * batch at a time. Records go straight to the handler; watermarks and idleness go through one
 * WatermarkValve per logical input (all channels with the same inputIndex, across edges, as in
 * a union), so the handler only hears about the input's combined watermark and status.
 *
 * The gate never blocks the thread: `poll` drains what is there and `waitForData` sleeps with
 * Atomics.waitAsync on the task's doorbell, so the worker's event loop (control messages,
 * async sinks) keeps running while the task has no input.
 */
import type { TypeSerializer } from '@sluice/api';
import { SluiceError } from '@sluice/common';
import { BufferDataInput } from '../serialization/data-input.js';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { ChannelBrokenError, RingConsumer } from './channel-ring.js';
import { Frame } from './frames.js';
import type { IoStats } from './stats.js';
import type { TaskControl } from './task-control.js';
import { WatermarkValve } from './watermark-valve.js';

export interface InputHandler {
  onRecord(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void;
  /** The combined watermark of the input advanced. */
  onWatermark(watermark: number, inputIndex: 0 | 1): void;
  /** The whole input became idle (true) or active again (false). */
  onWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void;
  /** Every channel of the input has ended. */
  onEndOfInput(inputIndex: 0 | 1): void;
  /**
   * Checkpoint barrier `checkpointId` has arrived on every channel still open: everything
   * before it has been handed over and nothing after it yet. `alignmentMs` is the time from
   * the first of these barriers to the last.
   */
  onBarrier(checkpointId: number, alignmentMs: number): void;
  /** A newer barrier overtook the alignment of `checkpointId`, which this task gives up. */
  onBarrierAbandoned(checkpointId: number): void;
}

export interface GateInput {
  inputIndex: 0 | 1;
  /** One per producer subtask. */
  channels: ChannelEndpoint[];
  /** Called once per channel; must match the writer side's serializer. */
  createSerializer: () => TypeSerializer<unknown>;
}

export interface InputGateOptions {
  inputs: GateInput[];
  control: TaskControl;
  stats: IoStats;
}

class LogicalInput {
  readonly valve: WatermarkValve;
  /** Whether onEndOfInput was delivered. */
  endAnnounced = false;

  constructor(
    readonly inputIndex: 0 | 1,
    channels: number,
    gate: InputGate,
  ) {
    this.valve = new WatermarkValve(channels, {
      onWatermark: (wm) => gate.currentHandler().onWatermark(wm, inputIndex),
      onStatus: (idle) => gate.currentHandler().onWatermarkStatus(idle, inputIndex),
    });
  }
}

class InChannel {
  readonly consumer: RingConsumer;
  readonly input: BufferDataInput;
  ended = false;
  /** Delivered the barrier being aligned; not read again until the alignment completes. */
  blocked = false;
  /** Where reading resumes inside the head batch after a barrier stopped it; −1: at its start. */
  resumeAt = -1;

  constructor(
    endpoint: ChannelEndpoint,
    readonly serializer: TypeSerializer<unknown>,
    readonly logical: LogicalInput,
    /** This channel's index in its logical input's valve. */
    readonly valveIndex: number,
  ) {
    this.consumer = new RingConsumer(endpoint);
    this.input = new BufferDataInput(this.consumer.data);
  }
}

export class InputGate {
  private readonly channels: InChannel[] = [];
  private readonly logical: LogicalInput[] = [];
  private readonly control: TaskControl;
  private readonly stats: IoStats;
  private handler: InputHandler | undefined;
  private cursor = 0;
  private endedInputs = 0;
  private endedChannels = 0;
  /** Checkpoint whose barriers are being aligned, and since when; undefined when none is. */
  private aligning: number | undefined = undefined;
  private alignStart = 0;
  private blockedCount = 0;
  /** Highest checkpoint whose barriers were all seen (older barriers are stale). */
  private lastBarrier = 0;
  /** Doorbell value read at the start of the last poll; undefined before the first. */
  private seenDoorbell: number | undefined;

  constructor(options: InputGateOptions) {
    this.control = options.control;
    this.stats = options.stats;
    for (const index of [0, 1] as const) {
      const entries = options.inputs.filter((i) => i.inputIndex === index);
      if (entries.length === 0) continue;
      const total = entries.reduce((n, e) => n + e.channels.length, 0);
      const logical = new LogicalInput(index, total, this);
      this.logical.push(logical);
      let v = 0;
      for (const e of entries) for (const ep of e.channels) this.channels.push(new InChannel(ep, e.createSerializer(), logical, v++));
    }
  }

  /** @internal the handler of the poll in progress (valve outputs call it). */
  currentHandler(): InputHandler {
    if (this.handler === undefined) throw new SluiceError('INTERNAL', 'InputGate: valve output outside poll()');
    return this.handler;
  }

  /** True once every input has ended. */
  isFinished(): boolean {
    return this.endedInputs === this.logical.length;
  }

  /**
   * Reads up to `maxBuffers` batches, one per channel in turn, calling the handler for their
   * contents. Returns the number of batches read (0: nothing was available).
   */
  poll(handler: InputHandler, maxBuffers: number): number {
    // Before looking at any ring, so a publish after this point leaves the doorbell changed
    // and a following waitForData returns at once.
    this.seenDoorbell = this.control.doorbell();
    this.handler = handler;
    try {
      for (const l of this.logical) if (l.valve.ended && !l.endAnnounced) this.endInput(l);
      const chs = this.channels;
      const count = chs.length;
      let n = 0;
      let misses = 0;
      while (n < maxBuffers && misses < count) {
        const ch = chs[this.cursor]!;
        this.cursor = this.cursor + 1 === count ? 0 : this.cursor + 1;
        if (ch.ended || ch.blocked || ch.consumer.available() === 0) {
          // Only an empty channel is checked: what arrived before the break is still read.
          if (!ch.ended && !ch.blocked) this.throwIfBroken(ch);
          misses++;
          continue;
        }
        misses = 0;
        this.readBatch(ch, handler);
        n++;
      }
      return n;
    } finally {
      this.handler = undefined;
    }
  }

  /**
   * Resolves when a channel may have data (or after `timeoutMs`), without blocking the thread.
   * Returns at once when data is already waiting or the doorbell rang since the last poll began.
   */
  waitForData(timeoutMs: number): Promise<void> {
    const seen = this.seenDoorbell ?? this.control.doorbell();
    if (this.isFinished() || this.hasData()) return Promise.resolve();
    return this.control.waitForSignal(seen, timeoutMs);
  }

  /** Whether some channel has a batch waiting. */
  hasData(): boolean {
    for (const ch of this.channels) if (!ch.ended && !ch.blocked && ch.consumer.available() > 0) return true;
    return false;
  }

  private throwIfBroken(ch: InChannel): void {
    const reason = ch.consumer.brokenReason();
    if (reason !== undefined) throw new ChannelBrokenError(`input channel ${ch.valveIndex} of input ${ch.logical.inputIndex} is broken: ${reason}`);
  }

  private readBatch(ch: InChannel, handler: InputHandler): void {
    const consumer = ch.consumer;
    const head = consumer.headOffset();
    const len = consumer.headLength();
    const start = ch.resumeAt >= 0 ? ch.resumeAt : head;
    const end = head + len;
    ch.resumeAt = -1;
    const input = ch.input;
    const serializer = ch.serializer;
    const inputIndex = ch.logical.inputIndex;
    input.setRange(start, end);
    while (input.pos < end) {
      const frame = input.readUint8();
      switch (frame) {
        case Frame.RECORD:
          handler.onRecord(serializer.deserialize(input), undefined, inputIndex);
          break;
        case Frame.RECORD_TS: {
          const ts = input.readFloat64();
          handler.onRecord(serializer.deserialize(input), ts, inputIndex);
          break;
        }
        case Frame.WATERMARK:
          ch.logical.valve.inputWatermark(ch.valveIndex, input.readFloat64());
          break;
        case Frame.STATUS_IDLE:
          ch.logical.valve.inputStatus(ch.valveIndex, true);
          break;
        case Frame.STATUS_ACTIVE:
          ch.logical.valve.inputStatus(ch.valveIndex, false);
          break;
        case Frame.END_OF_PARTITION:
          ch.ended = true;
          this.endedChannels++;
          if (ch.logical.valve.endOfPartition(ch.valveIndex)) this.endInput(ch.logical);
          // An ended channel has nothing left to align: it may have been the last one missing.
          if (this.aligning !== undefined) this.checkAligned(handler);
          break;
        case Frame.BARRIER:
          if (this.onBarrierFrame(ch, input.readFloat64(), handler) && input.pos < end) {
            // The rest of this batch belongs after the checkpoint: keep it for later.
            ch.resumeAt = input.pos;
            return;
          }
          break;
        default:
          throw new SluiceError('CORRUPT_BATCH', `unknown frame type ${frame} at offset ${input.pos - 1 - head} of a ${len}-byte batch`);
      }
    }
    this.stats.bytesIn += len;
    consumer.release();
  }

  /**
   * Aligned (exactly-once) barrier handling: the channel that delivered the barrier is blocked
   * until every open channel has delivered it; then the handler takes the checkpoint and all
   * channels resume. Returns true when reading of this channel must stop here.
   */
  private onBarrierFrame(ch: InChannel, checkpointId: number, handler: InputHandler): boolean {
    if (checkpointId <= this.lastBarrier) return false;
    if (this.aligning !== undefined && checkpointId > this.aligning) {
      // Some upstream task skipped the older checkpoint; it can never complete here.
      const abandoned = this.aligning;
      this.unblockAll();
      handler.onBarrierAbandoned(abandoned);
    }
    if (this.aligning === undefined) {
      this.aligning = checkpointId;
      this.alignStart = performance.now();
    } else if (checkpointId < this.aligning) {
      return false;
    }
    ch.blocked = true;
    this.blockedCount++;
    this.checkAligned(handler);
    return true;
  }

  private checkAligned(handler: InputHandler): void {
    if (this.blockedCount < this.channels.length - this.endedChannels) return;
    const id = this.aligning!;
    const alignmentMs = performance.now() - this.alignStart;
    this.lastBarrier = id;
    this.unblockAll();
    handler.onBarrier(id, alignmentMs);
  }

  private unblockAll(): void {
    for (const c of this.channels) c.blocked = false;
    this.blockedCount = 0;
    this.aligning = undefined;
  }

  private endInput(l: LogicalInput): void {
    l.endAnnounced = true;
    this.endedInputs++;
    this.handler!.onEndOfInput(l.inputIndex);
  }
}
