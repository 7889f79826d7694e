/**
 * Credit-based flow control of one remote channel, as pure bookkeeping (Flink's, FLINK-7282).
 * A credit is a free buffer in the consumer's ring that the producer side may fill. The
 * receiver announces credits as increments; the sender spends one per buffer and tells the
 * receiver its backlog (buffers still waiting) with each. So the bytes in flight on a channel
 * never exceed the consumer ring's free space, and a slow consumer stops its producer through
 * the producer's own ring, as in one process.
 */
import { DataProtocolError } from './wire.js';

export class SenderCredits {
  private credits: number;

  /** `limit`: the receiver's ring size; credit beyond it means the peer lost count. */
  constructor(initial: number, private readonly limit: number) {
    if (!(Number.isInteger(initial) && initial >= 0 && initial <= limit)) throw new DataProtocolError(`initial credit ${initial} is outside [0, ${limit}]`);
    this.credits = initial;
  }

  get available(): number {
    return this.credits;
  }

  /** The receiver announced `increment` more free buffers. */
  add(increment: number): void {
    if (!(increment > 0) || this.credits + increment > this.limit) {
      throw new DataProtocolError(`credit increment ${increment} on top of ${this.credits} exceeds the channel's ${this.limit} buffers`);
    }
    this.credits += increment;
  }

  /**
   * Spends a credit on the oldest of `queued` waiting buffers. Returns the backlog to send with
   * it (the buffers still waiting after it), or −1 when there is no credit: nothing may go.
   */
  spend(queued: number): number {
    if (this.credits === 0 || queued === 0) return -1;
    this.credits--;
    return queued - 1;
  }
}

export class ReceiverCredits {
  /** Announced credits whose buffers have not arrived yet: each reserves a free ring buffer. */
  private outstanding = 0;

  /**
   * `batch`: while the sender still holds credit, freed buffers are announced only once this
   * many have gathered (fewer credit frames, fewer wake-ups on both sides); a sender without
   * credit hears of every freed buffer at once, so batching never stalls it.
   */
  constructor(private readonly batch = 1) {}
  /** The sender's backlog as of its latest buffer. */
  lastBacklog = 0;
  buffersReceived = 0;

  /**
   * Credits to announce now, given the ring's free buffers, and counts them as announced: the
   * free buffers not already promised (see `batch`). The first call gives the initial credit.
   * Call it again whenever a buffer arrives or is freed.
   */
  announce(freeBuffers: number): number {
    const n = freeBuffers - this.outstanding;
    if (n <= 0 || (this.outstanding > 0 && n < this.batch)) return 0;
    this.outstanding += n;
    return n;
  }

  /** A buffer arrived: it must have been sent against a credit. */
  onBuffer(backlog: number): void {
    if (this.outstanding === 0) throw new DataProtocolError('a buffer arrived on a channel without credit');
    this.outstanding--;
    this.lastBacklog = backlog;
    this.buffersReceived++;
  }

  get outstandingCredits(): number {
    return this.outstanding;
  }
}
