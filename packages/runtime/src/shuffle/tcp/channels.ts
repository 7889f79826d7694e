/**
 * The two ends of a channel between TaskManagers, as the main thread sees them.
 *
 *   OutboundChannel  producer's TaskManager: reads the buffers the producer task published into
 *                    its outbound ring and sends each against a credit, with its backlog.
 *   InboundChannel   consumer's TaskManager: publishes each arriving buffer into the consumer
 *                    task's ring and announces the ring's newly freed buffers as credits.
 *
 * Rings wake the main thread through the exchange's doorbell: it is the consumerControl of
 * every outbound ring and the producerControl of every inbound ring.
 */
import { RingConsumer, RingProducer, breakChannelRing } from '../../io/channel-ring.js';
import type { ChannelEndpoint } from '../channel-endpoint.js';
import type { DataConnection } from './connection.js';
import { ReceiverCredits, SenderCredits } from './credit.js';
import type { ChannelAddress } from '../shuffle-service.js';
import { DataProtocolError, encode } from './wire.js';

export type ChannelState = 'waiting' | 'open' | 'done' | 'failed';

export type { ChannelAddress } from '../shuffle-service.js';

/** A snapshot of one remote channel, for metrics and tests. */
export interface RemoteChannelInfo extends ChannelAddress {
  direction: 'out' | 'in';
  peer: string | undefined;
  state: ChannelState;
  /** out: credits the sender holds; in: credits announced and not yet used. */
  credits: number;
  /** out: buffers waiting in the outbound ring; in: the sender's backlog with its latest buffer. */
  backlog: number;
  /** Free buffers in this side's ring. */
  freeBuffers: number;
}

export function describeChannel(a: ChannelAddress): string {
  return `channel ${a.producerSubtask}→${a.consumerSubtask} of edge ${a.edgeId}, job ${a.jobId} (attempt ${a.attempt})`;
}

export class OutboundChannel {
  state: ChannelState = 'waiting';
  /** Set by the consumer's partition request. */
  conn: DataConnection | undefined;
  channel = -1;
  credits: SenderCredits | undefined;
  private readonly reader: RingConsumer;

  constructor(
    readonly address: ChannelAddress,
    readonly endpoint: ChannelEndpoint,
  ) {
    this.reader = new RingConsumer(endpoint);
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  open(conn: DataConnection, channel: number, credits: SenderCredits): void {
    this.conn = conn;
    this.channel = channel;
    this.credits = credits;
    this.state = 'open';
  }

  /**
   * Sends what the ring holds, as far as credits go. Each buffer is copied into its frame and
   * released at once, which wakes a producer blocked on a full ring. Returns buffers sent.
   */
  pump(): number {
    if (this.state !== 'open') return 0;
    const reader = this.reader;
    const conn = this.conn!;
    const credits = this.credits!;
    let sent = 0;
    for (;;) {
      const backlog = credits.spend(reader.available());
      if (backlog < 0) return sent;
      const at = reader.headOffset();
      const final = reader.headIsFinal();
      conn.send(encode.buffer(this.channel, backlog, final, reader.data.subarray(at, at + reader.headLength())));
      reader.release();
      sent++;
      if (final) {
        this.state = 'done';
        return sent;
      }
    }
  }

  fail(reason: string): void {
    if (this.state === 'done' || this.state === 'failed') return;
    this.state = 'failed';
    breakChannelRing(this.endpoint, reason);
  }

  info(): RemoteChannelInfo {
    return {
      ...this.address,
      direction: 'out',
      peer: this.conn?.peerResourceId,
      state: this.state,
      credits: this.credits?.available ?? 0,
      backlog: this.reader.available(),
      freeBuffers: this.endpoint.buffers - this.reader.available(),
    };
  }
}

export class InboundChannel {
  state: ChannelState = 'open';
  readonly credits: ReceiverCredits;
  private readonly writer: RingProducer;

  constructor(
    readonly address: ChannelAddress,
    readonly endpoint: ChannelEndpoint,
    readonly peer: string,
    readonly channel: number,
  ) {
    this.writer = new RingProducer(endpoint);
    this.credits = new ReceiverCredits(Math.ceil(endpoint.buffers / 4));
  }

  /** Credits to announce now (all free buffers at the first call: the initial credit). */
  announce(): number {
    return this.state === 'open' ? this.credits.announce(this.writer.freeBuffers()) : 0;
  }

  /** Hands an arrived buffer to the consumer task. Throws DataProtocolError for a sender out of line. */
  receive(data: Uint8Array, backlog: number, final: boolean): void {
    if (data.length > this.endpoint.bufferSizeBytes) {
      throw new DataProtocolError(`a ${data.length}-byte buffer arrived on ${describeChannel(this.address)}, whose buffers hold ${this.endpoint.bufferSizeBytes}`);
    }
    this.credits.onBuffer(backlog);
    // A credit reserved a free buffer, so this cannot find the ring full.
    if (!this.writer.tryPublish(data, data.length, final)) throw new DataProtocolError(`a buffer arrived on ${describeChannel(this.address)} with its ring full`);
    if (final) this.state = 'done';
  }

  fail(reason: string): void {
    if (this.state === 'done' || this.state === 'failed') return;
    this.state = 'failed';
    breakChannelRing(this.endpoint, reason);
  }

  info(): RemoteChannelInfo {
    return {
      ...this.address,
      direction: 'in',
      peer: this.peer,
      state: this.state,
      credits: this.credits.outstandingCredits,
      backlog: this.credits.lastBacklog,
      freeBuffers: this.writer.freeBuffers(),
    };
  }
}
