/**
 * A TaskManager's data exchange with other TaskManagers, run entirely on its main thread (never
 * on a worker, which may sit in Atomics.wait): one connection per peer TaskManager carrying
 * every channel between the two, partition requests, buffers against credits, and failure.
 *
 * Tasks never see it: a remote channel is a ring on each side (see channels.ts). The main thread
 * sleeps on one doorbell (Atomics.waitAsync) that every remote ring rings, and on each wake
 * sends what has credit and announces what was freed.
 *
 * Connections: the consumer's TaskManager dials the producer's when it first needs a partition
 * from it; either side may then use the connection. If both dial each other at once, the
 * connection dialed by the smaller resource id is kept and the other closed as a duplicate.
 * A connection that ends while channels are open breaks their rings on both sides, so the
 * tasks fail with a message naming the peer instead of waiting forever.
 */
import type { Duplex } from 'node:stream';
import { SluiceError, silentLogger, type Logger } from '@sluice/common';
import { CONTROL_DOORBELL, createTaskControlBuffer, doorbellChange, ringDoorbell } from '../../io/task-control.js';
import type { ChannelEndpoint } from '../channel-endpoint.js';
import type { LocalShuffleService } from '../local-shuffle-service.js';
import type { DataAddress, InputChannelRequest, OutputChannelRequest, TaskManagerLocation } from '../shuffle-service.js';
import { InboundChannel, OutboundChannel, describeChannel, type ChannelAddress, type RemoteChannelInfo } from './channels.js';
import { DataConnection } from './connection.js';
import { PeerLink } from './peer-link.js';
import { SenderCredits } from './credit.js';
import type { DataTransport } from './transport.js';
import { DEFAULT_MAX_FRAME_BYTES, DataProtocolError, GoodbyeReason, encode, type DataFrame, type PartitionRequest } from './wire.js';

export interface DataExchangeOptions {
  resourceId: string;
  local: LocalShuffleService;
  transport: DataTransport;
  maxFrameBytes?: number;
  /** How long an accepted connection may take to say HELLO (default 10 s). */
  helloTimeoutMs?: number;
  logger?: Logger;
}

type Frame = Exclude<DataFrame, { type: 'hello' | 'goodbye' }>;

const key = (...parts: (string | number)[]): string => JSON.stringify(parts);

export class DataExchange {
  private readonly links = new Map<string, PeerLink>();
  /** Our dials not yet answered, by connection. */
  private readonly dials = new Map<DataConnection, PeerLink>();
  /** Outbound channels by (job, attempt, edge, producer, consumer), requested or not. */
  private readonly outbound = new Map<string, OutboundChannel>();
  private readonly inbound = new Map<string, InboundChannel>();
  /** Per job, the highest attempt released here: requests for it or older are refused. */
  private readonly released = new Map<string, number>();
  private readonly doorbell = new Int32Array(createTaskControlBuffer());
  private readonly maxFrameBytes: number;
  private readonly logger: Logger;
  private closed = false;
  private address: DataAddress | undefined;

  constructor(private readonly options: DataExchangeOptions) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.logger = options.logger ?? silentLogger;
  }

  get resourceId(): string {
    return this.options.resourceId;
  }

  /** Starts accepting connections and the pump; resolves with the address peers dial. */
  async start(): Promise<DataAddress> {
    this.address = await this.options.transport.listen((stream) => this.accept(stream));
    void this.loop();
    return this.address;
  }

  /** The producer task's ring for a consumer in another TaskManager. */
  outputChannel(req: OutputChannelRequest): ChannelEndpoint {
    const p = req.partition;
    return this.outboundChannel({ ...p, consumerVertexId: req.consumerVertexId, consumerSubtask: req.consumerSubtask, bufferSizeBytes: req.bufferSizeBytes, buffers: req.buffers }).endpoint;
  }

  /** The consumer task's ring for a producer in another TaskManager; requests the partition. */
  inputChannel(req: InputChannelRequest, producer: TaskManagerLocation): ChannelEndpoint {
    const p = req.partition;
    const address = { ...p, consumerVertexId: req.consumerVertexId, consumerSubtask: req.consumerSubtask };
    const k = key(p.jobId, p.attempt, p.edgeId, p.producerSubtask, req.consumerSubtask);
    const existing = this.inbound.get(k);
    if (existing !== undefined) return existing.endpoint;
    const local = this.options.local;
    const endpoint = local.ring({
      jobId: p.jobId,
      attempt: p.attempt,
      key: ['in', p.edgeId, p.producerSubtask, req.consumerSubtask],
      bufferSizeBytes: req.bufferSizeBytes,
      buffers: req.buffers,
      producerControl: this.doorbell.buffer as SharedArrayBuffer,
      consumerControl: local.taskControl(p.jobId, p.attempt, req.consumerVertexId, req.consumerSubtask),
    });
    const link = this.link(producer);
    const ch = new InboundChannel(address, endpoint, producer.resourceId, link.nextChannel++);
    this.inbound.set(k, ch);
    link.inbound.set(ch.channel, ch);
    const request: PartitionRequest = { channel: ch.channel, ...p, consumerVertexId: req.consumerVertexId, consumerSubtask: req.consumerSubtask, bufferSizeBytes: req.bufferSizeBytes, buffers: req.buffers, initialCredit: ch.announce() };
    link.send(encode.partitionRequest(request));
    return endpoint;
  }

  /** Forgets one job attempt's channels (every attempt up to it, with `through`) and tells the peers. */
  releaseAttempt(jobId: string, attempt: number, through = false): void {
    this.released.set(jobId, Math.max(this.released.get(jobId) ?? -1, attempt));
    const attempts = new Set<number>();
    for (const map of [this.outbound, this.inbound] as Map<string, OutboundChannel | InboundChannel>[]) {
      for (const [k, ch] of map) {
        const a = ch.address;
        if (a.jobId !== jobId || (through ? a.attempt > attempt : a.attempt !== attempt)) continue;
        map.delete(k);
        attempts.add(a.attempt);
      }
    }
    for (const link of this.links.values()) for (const a of attempts) if (link.dropAttempt(jobId, a, undefined)) link.send(encode.cancelAttempt(jobId, a));
  }

  /**
   * A subtask here is being cancelled: its remote channels are released on both sides, so the
   * tasks at their other ends fail with `reason` instead of waiting for data or credit that
   * will never come (its own rings are left alone: the cancel flag stops it).
   */
  releaseTask(jobId: string, attempt: number, vertexId: string, subtask: number, reason: string): void {
    for (const link of this.links.values()) {
      for (const [id, ch] of link.inbound) {
        const a = ch.address;
        if (a.jobId !== jobId || a.attempt !== attempt || a.consumerVertexId !== vertexId || a.consumerSubtask !== subtask) continue;
        link.inbound.delete(id);
        link.send(encode.closeChannel(id));
      }
      for (const [id, ch] of link.outbound) {
        const a = ch.address;
        if (a.jobId !== jobId || a.attempt !== attempt || a.producerVertexId !== vertexId || a.producerSubtask !== subtask) continue;
        link.outbound.delete(id);
        link.send(encode.channelError(id, reason));
      }
    }
  }

  /**
   * Forgets every attempt of a job seen so far. Later attempts stay welcome: the job may get
   * slots here again after a failover (a TaskManager only knows a job is done with it here).
   */
  releaseJob(jobId: string): void {
    let highest = this.released.get(jobId) ?? -1;
    for (const map of [this.outbound, this.inbound] as Map<string, OutboundChannel | InboundChannel>[]) {
      for (const ch of map.values()) if (ch.address.jobId === jobId && ch.address.attempt > highest) highest = ch.address.attempt;
    }
    if (highest >= 0) this.releaseAttempt(jobId, highest, true);
  }

  /** Remote channels of this TaskManager, for metrics and tests. */
  channels(): RemoteChannelInfo[] {
    return [...this.outbound.values(), ...this.inbound.values()].map((c) => c.info());
  }

  /** Peers with a connection (or one being set up). */
  get peers(): string[] {
    return [...this.links.keys()];
  }

  /** Says GOODBYE to every peer, breaks the open channels and stops accepting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    ringDoorbell(this.doorbell);
    for (const link of [...this.links.values()]) {
      this.failLink(link, `TaskManager ${this.resourceId} shut down its data exchange`);
    }
    await this.options.transport.close();
  }

  private async loop(): Promise<void> {
    const words = this.doorbell;
    while (!this.closed) {
      const seen = Atomics.load(words, CONTROL_DOORBELL);
      try {
        this.pump();
      } catch (err) {
        this.logger.error('data exchange pump failed', { error: err instanceof Error ? err.message : String(err) });
      }
      const wait = doorbellChange(words, seen);
      if (wait !== undefined) await wait;
    }
  }

  /** Sends what has credit, announces what was freed; one write per connection per wake. */
  private pump(): void {
    for (const link of this.links.values()) link.pump();
  }

  private link(location: TaskManagerLocation): PeerLink {
    if (this.closed) throw new SluiceError('SHUFFLE_CLOSED', `TaskManager ${this.resourceId} has shut down its data exchange; no channel to ${location.resourceId} can be opened`);
    const existing = this.links.get(location.resourceId);
    if (existing !== undefined) return existing;
    const link = new PeerLink(location.resourceId, location.dataAddress);
    link.dialing = 'connecting';
    this.links.set(link.peer, link);
    const address = location.dataAddress;
    if (address === undefined) {
      queueMicrotask(() => this.failLink(link, `TaskManager ${link.peer} has no data address, so no channel can reach it`));
      return link;
    }
    this.options.transport.connect(address).then(
      (stream) => {
        if (this.links.get(link.peer) !== link || link.conn !== undefined) {
          // The peer's own dial was adopted meanwhile (or the link failed): this one is not needed.
          if (link.dialing === 'connecting') link.dialing = undefined;
          stream.destroy();
          return;
        }
        const conn = new DataConnection(stream, `${address.host}:${address.port}`, this.maxFrameBytes, this.events);
        link.dialing = conn;
        this.dials.set(conn, link);
        conn.sendHello(this.resourceId);
      },
      (err: unknown) => this.failLink(link, `cannot connect to TaskManager ${link.peer} at ${address.host}:${address.port}: ${err instanceof Error ? err.message : String(err)}`),
    );
    return link;
  }

  private accept(stream: Duplex): void {
    const s = stream as { remoteAddress?: string; remotePort?: number } & typeof stream;
    const conn = new DataConnection(stream, `${s.remoteAddress ?? 'unknown'}:${s.remotePort ?? 0}`, this.maxFrameBytes, this.events);
    if (this.closed) {
      conn.close(GoodbyeReason.SHUTDOWN, `TaskManager ${this.resourceId} is shutting down`);
      return;
    }
    const timer = setTimeout(() => {
      if (conn.isOpen && conn.peerResourceId === undefined) conn.fail(`no HELLO within ${this.options.helloTimeoutMs ?? 10_000} ms`, true);
    }, this.options.helloTimeoutMs ?? 10_000);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  }

  private readonly events = {
    onHello: (conn: DataConnection, peer: string): void => this.onHello(conn, peer),
    onFrame: (conn: DataConnection, frame: Frame): void => this.onFrame(conn, frame),
    onClose: (conn: DataConnection, reason: string, how: 'lost' | 'graceful' | 'duplicate'): void => this.onClose(conn, reason, how),
  };

  private onHello(conn: DataConnection, peer: string): void {
    const dialed = this.dials.get(conn);
    if (dialed !== undefined) {
      // The answer to our own dial.
      if (peer !== dialed.peer) return conn.fail(`the data exchange at ${conn.remote} is TaskManager ${peer}, not ${dialed.peer}`, true);
      this.dials.delete(conn);
      dialed.dialing = undefined;
      if (dialed.conn === undefined && this.links.get(peer) === dialed) {
        dialed.adopt(conn, true);
        this.logger.info('data connection open', { peer, remote: conn.remote, dialed: true });
      } else conn.close(GoodbyeReason.DUPLICATE, 'a connection between these TaskManagers exists');
      return;
    }
    const link = this.links.get(peer);
    if (link !== undefined) {
      // Both dialed at once: the connection dialed by the smaller resource id is kept.
      const simultaneous = link.conn === undefined ? link.dialing !== undefined : link.dialedBySelf;
      if (simultaneous && this.resourceId < peer) return conn.close(GoodbyeReason.DUPLICATE, `TaskManager ${this.resourceId} keeps the connection it dialed`);
      if (link.conn === undefined) {
        conn.sendHello(this.resourceId);
        this.logger.info('data connection open', { peer, remote: conn.remote, dialed: false });
        return link.adopt(conn, false);
      }
      // The peer dialed again: it no longer has the connection we hold, so neither do we.
      this.failLink(link, `TaskManager ${peer} opened a new data connection, so the previous one is considered lost`);
    }
    const fresh = new PeerLink(peer, undefined);
    this.links.set(peer, fresh);
    conn.sendHello(this.resourceId);
    this.logger.info('data connection open', { peer, remote: conn.remote, dialed: false });
    fresh.adopt(conn, false);
  }

  private linkOf(conn: DataConnection): PeerLink | undefined {
    const link = conn.peerResourceId === undefined ? undefined : this.links.get(conn.peerResourceId);
    return link?.conn === conn ? link : undefined;
  }

  private onFrame(conn: DataConnection, frame: Frame): void {
    const link = this.linkOf(conn);
    if (link === undefined) return; // a duplicate being closed
    switch (frame.type) {
      case 'partition-request':
        this.onPartitionRequest(link, frame);
        break;
      case 'buffer': {
        const ch = link.inbound.get(frame.channel);
        if (ch === undefined) {
          // Released here while the buffer was on its way; an id never handed out is garbage.
          if (frame.channel >= link.nextChannel) throw new DataProtocolError(`a buffer for channel ${frame.channel}, which was never requested`);
          return;
        }
        ch.receive(frame.data, frame.backlog, frame.final);
        if (ch.state === 'done') link.inbound.delete(ch.channel);
        else {
          // Credits withheld for batching go out once the sender has spent all it had.
          const n = ch.announce();
          if (n > 0) conn.send(encode.addCredit(ch.channel, n));
        }
        break;
      }
      case 'add-credit': {
        // Credit for a channel already ended or released here is moot.
        const ch = link.outbound.get(frame.channel);
        if (ch === undefined) return;
        ch.credits!.add(frame.credit);
        conn.cork();
        link.pumpOut(ch);
        conn.uncork();
        break;
      }
      case 'close-channel': {
        const ch = link.outbound.get(frame.channel);
        if (ch === undefined) return;
        link.outbound.delete(frame.channel);
        ch.fail(`the consumer's TaskManager ${link.peer} released ${describeChannel(ch.address)}`);
        break;
      }
      case 'channel-error': {
        const ch = link.inbound.get(frame.channel);
        if (ch === undefined) return;
        link.inbound.delete(frame.channel);
        ch.fail(`TaskManager ${link.peer} refused or failed ${describeChannel(ch.address)}: ${frame.message}`);
        break;
      }
      case 'cancel-attempt':
        this.onCancelAttempt(link, frame.jobId, frame.attempt);
        break;
    }
  }

  private onPartitionRequest(link: PeerLink, r: PartitionRequest): void {
    const refuse = (why: string): void => link.send(encode.channelError(r.channel, why));
    if (r.channel >= 2 ** 31 || link.outbound.has(r.channel)) return refuse(`channel id ${r.channel} is already in use on this connection`);
    if ((this.released.get(r.jobId) ?? -1) >= r.attempt) return refuse(`job ${r.jobId} attempt ${r.attempt} is no longer running on TaskManager ${this.resourceId}`);
    if (r.bufferSizeBytes + 64 > this.maxFrameBytes) return refuse(`buffers of ${r.bufferSizeBytes} bytes do not fit the data exchange's frame limit of ${this.maxFrameBytes} bytes`);
    let ch: OutboundChannel;
    let credits: SenderCredits;
    try {
      ch = this.outboundChannel(r);
      credits = new SenderCredits(r.initialCredit, r.buffers);
    } catch (err) {
      return refuse(err instanceof Error ? err.message : String(err));
    }
    if (ch.state !== 'waiting') return refuse(`${describeChannel(ch.address)} was already requested (it is ${ch.state})`);
    ch.open(link.conn!, r.channel, credits);
    link.outbound.set(r.channel, ch);
    link.pumpOut(ch);
  }

  private onCancelAttempt(link: PeerLink, jobId: string, attempt: number): void {
    link.dropAttempt(jobId, attempt, `TaskManager ${link.peer} cancelled job ${jobId} attempt ${attempt}`);
  }

  private outboundChannel(r: ChannelAddress & { bufferSizeBytes: number; buffers: number }): OutboundChannel {
    const k = key(r.jobId, r.attempt, r.edgeId, r.producerSubtask, r.consumerSubtask);
    const existing = this.outbound.get(k);
    const local = this.options.local;
    const endpoint = local.ring({
      jobId: r.jobId,
      attempt: r.attempt,
      key: ['out', r.edgeId, r.producerSubtask, r.consumerSubtask],
      bufferSizeBytes: r.bufferSizeBytes,
      buffers: r.buffers,
      producerControl: local.taskControl(r.jobId, r.attempt, r.producerVertexId, r.producerSubtask),
      consumerControl: this.doorbell.buffer as SharedArrayBuffer,
    });
    if (existing !== undefined) return existing;
    const { jobId, attempt, edgeId, producerVertexId, producerSubtask, consumerVertexId, consumerSubtask } = r;
    const ch = new OutboundChannel({ jobId, attempt, edgeId, producerVertexId, producerSubtask, consumerVertexId, consumerSubtask }, endpoint);
    this.outbound.set(k, ch);
    return ch;
  }

  private onClose(conn: DataConnection, reason: string, how: 'lost' | 'graceful' | 'duplicate'): void {
    if (how === 'lost' && /protocol error|HELLO/.test(reason)) this.logger.warn('data connection closed', { peer: conn.name, reason });
    const dialed = this.dials.get(conn);
    if (dialed !== undefined) {
      this.dials.delete(conn);
      dialed.dialing = undefined;
      if (dialed.conn !== undefined || this.links.get(dialed.peer) !== dialed) return;
      if (how === 'duplicate') {
        // Lost the tie-break: the peer's own dial is on its way and will be adopted.
        const timer = setTimeout(() => {
          if (this.links.get(dialed.peer) === dialed && dialed.conn === undefined) this.failLink(dialed, `TaskManager ${dialed.peer} refused our connection as a duplicate and did not connect itself`);
        }, this.options.helloTimeoutMs ?? 10_000);
        timer.unref();
        return;
      }
      return this.failLink(dialed, `cannot reach TaskManager ${dialed.peer} at ${conn.remote}: ${reason}`);
    }
    const link = conn.peerResourceId === undefined ? undefined : this.links.get(conn.peerResourceId);
    if (link?.conn === conn) this.failLink(link, `data connection to TaskManager ${link.peer} (${conn.remote}) was lost: ${reason}`);
  }

  private failLink(link: PeerLink, reason: string): void {
    if (this.links.get(link.peer) === link) this.links.delete(link.peer);
    const open = link.fail(reason);
    if (open > 0) this.logger.warn('remote channels failed', { peer: link.peer, channels: open, reason });
  }
}
