/**
 * One data connection between two TaskManagers: frames in and out of a duplex stream, the HELLO
 * handshake (magic, version, who the peer is), and one end reported once with its reason. The
 * exchange decides what frames mean; this class only guarantees that what reaches it is a
 * well-formed frame from a peer that said HELLO with our version, and that anything else ends
 * the connection with a reason.
 */
import type { Duplex } from 'node:stream';
import { DATA_MAGIC, DATA_PROTOCOL_VERSION, DataProtocolError, FrameDecoder, GoodbyeReason, encode, type DataFrame } from './wire.js';

export interface ConnectionEvents {
  /** The peer's HELLO arrived and checked out (magic and version). */
  onHello(conn: DataConnection, peerResourceId: string): void;
  /** Any later frame. */
  onFrame(conn: DataConnection, frame: Exclude<DataFrame, { type: 'hello' | 'goodbye' }>): void;
  /**
   * The connection ended (once). `reason` says why; `graceful` when the peer said GOODBYE or we
   * closed it on purpose, `duplicate` when it lost a simultaneous-connect tie-break.
   */
  onClose(conn: DataConnection, reason: string, how: 'lost' | 'graceful' | 'duplicate'): void;
}

export class DataConnection {
  peerResourceId: string | undefined;
  private readonly decoder: FrameDecoder;
  private ended = false;

  constructor(
    private readonly stream: Duplex,
    /** How to name the other end in messages before HELLO: its address. */
    readonly remote: string,
    maxFrameBytes: number,
    private readonly events: ConnectionEvents,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes, (f) => this.dispatch(f));
    stream.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.fail(err instanceof DataProtocolError ? `protocol error from ${this.name}: ${message}` : message, true);
      }
    });
    stream.on('error', (err) => this.end(`${err.message}`, 'lost'));
    stream.on('close', () => this.end(this.decoder.midFrame ? 'the connection closed in the middle of a frame' : 'the connection closed', 'lost'));
    // A transport with a handshake of its own hands the stream over paused, so that nothing
    // read past its handshake is emitted before these listeners exist.
    stream.resume();
  }

  /** The peer for messages: its resource id once known, else its address. */
  get name(): string {
    return this.peerResourceId === undefined ? this.remote : `TaskManager ${this.peerResourceId} (${this.remote})`;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  send(frame: Buffer): void {
    if (!this.ended) this.stream.write(frame);
  }

  sendHello(resourceId: string): void {
    this.send(encode.hello(resourceId));
  }

  cork(): void {
    this.stream.cork();
  }

  uncork(): void {
    this.stream.uncork();
  }

  /** Says GOODBYE and closes; reported to onClose as graceful (or duplicate). */
  close(reason: GoodbyeReason, message: string): void {
    if (this.ended) return;
    this.send(encode.goodbye(reason, message));
    this.stream.end();
    this.end(message, reason === GoodbyeReason.DUPLICATE ? 'duplicate' : 'graceful');
  }

  /** Ends the connection for a fault (protocol error or the exchange's own judgement). */
  fail(reason: string, protocolError = false): void {
    if (this.ended) return;
    if (protocolError) this.send(encode.goodbye(GoodbyeReason.PROTOCOL_ERROR, reason));
    this.stream.end();
    this.stream.destroy();
    this.end(reason, 'lost');
  }

  private end(reason: string, how: 'lost' | 'graceful' | 'duplicate'): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.destroy();
    this.events.onClose(this, reason, how);
  }

  private dispatch(frame: DataFrame): void {
    if (this.ended) return;
    if (frame.type === 'goodbye') {
      const how = frame.reason === GoodbyeReason.DUPLICATE ? 'duplicate' : frame.reason === GoodbyeReason.SHUTDOWN ? 'graceful' : 'lost';
      this.end(`${this.name} closed the connection: ${frame.message}`, how);
      return;
    }
    if (this.peerResourceId === undefined) {
      if (frame.type !== 'hello') throw new DataProtocolError(`expected HELLO first, got ${frame.type}`);
      if (frame.magic !== DATA_MAGIC) throw new DataProtocolError(`HELLO has magic 0x${frame.magic.toString(16)}, not Sluice's data exchange`);
      if (frame.version !== DATA_PROTOCOL_VERSION) {
        throw new DataProtocolError(`the peer speaks data exchange version ${frame.version}, this TaskManager version ${DATA_PROTOCOL_VERSION}; run the same Sluice version on every TaskManager`);
      }
      if (frame.resourceId === '') throw new DataProtocolError('HELLO names no TaskManager');
      this.peerResourceId = frame.resourceId;
      this.events.onHello(this, frame.resourceId);
      return;
    }
    if (frame.type === 'hello') throw new DataProtocolError('a second HELLO');
    this.events.onFrame(this, frame);
  }
}
