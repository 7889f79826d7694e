/**
 * Everything one TaskManager holds about one peer: the data connection (or the dial that will
 * become it), frames waiting for it, and the remote channels it carries, by channel id. Channel
 * ids of inbound channels are ours (we request the partition); those of outbound channels are
 * the peer's.
 */
import type { DataAddress } from '../shuffle-service.js';
import type { InboundChannel, OutboundChannel } from './channels.js';
import type { DataConnection } from './connection.js';
import { GoodbyeReason, encode } from './wire.js';

export class PeerLink {
  conn: DataConnection | undefined;
  /** Our own dial while it has not been answered. */
  dialing: DataConnection | 'connecting' | undefined;
  /** Whether `conn` is the connection this TaskManager dialed (for the simultaneous-dial rule). */
  dialedBySelf = false;
  readonly outbound = new Map<number, OutboundChannel>();
  readonly inbound = new Map<number, InboundChannel>();
  nextChannel = 1;
  /** Frames waiting for the connection. */
  private queue: Buffer[] = [];

  constructor(
    readonly peer: string,
    readonly address: DataAddress | undefined,
  ) {}

  send(frame: Buffer): void {
    if (this.conn !== undefined) this.conn.send(frame);
    else this.queue.push(frame);
  }

  /** Makes `conn` the link's connection and sends what waited for it. */
  adopt(conn: DataConnection, dialedBySelf: boolean): void {
    this.conn = conn;
    this.dialedBySelf = dialedBySelf;
    const queued = this.queue;
    this.queue = [];
    conn.cork();
    for (const f of queued) conn.send(f);
    conn.uncork();
  }

  /** Sends what has credit and announces freed buffers, in one write. */
  pump(): void {
    const conn = this.conn;
    if (conn === undefined || (this.outbound.size === 0 && this.inbound.size === 0)) return;
    conn.cork();
    for (const ch of this.outbound.values()) this.pumpOut(ch);
    for (const ch of this.inbound.values()) {
      const n = ch.announce();
      if (n > 0) conn.send(encode.addCredit(ch.channel, n));
    }
    conn.uncork();
  }

  pumpOut(ch: OutboundChannel): void {
    ch.pump();
    if (ch.isDone) this.outbound.delete(ch.channel);
  }

  /** Drops the channels of one job attempt; returns whether there were any. */
  dropAttempt(jobId: string, attempt: number, reasonIfOpen: string | undefined): boolean {
    let any = false;
    for (const map of [this.outbound, this.inbound] as Map<number, OutboundChannel | InboundChannel>[]) {
      for (const [id, ch] of map) {
        if (ch.address.jobId !== jobId || ch.address.attempt !== attempt) continue;
        map.delete(id);
        if (reasonIfOpen !== undefined) ch.fail(reasonIfOpen);
        any = true;
      }
    }
    return any;
  }

  /** Breaks every open channel's ring with `reason` and closes the connection; returns the count. */
  fail(reason: string): number {
    const open = this.outbound.size + this.inbound.size;
    for (const ch of this.outbound.values()) ch.fail(reason);
    for (const ch of this.inbound.values()) ch.fail(reason);
    this.outbound.clear();
    this.inbound.clear();
    this.queue = [];
    this.conn?.close(GoodbyeReason.SHUTDOWN, reason);
    if (this.dialing !== undefined && this.dialing !== 'connecting') this.dialing.close(GoodbyeReason.SHUTDOWN, reason);
    return open;
  }
}
