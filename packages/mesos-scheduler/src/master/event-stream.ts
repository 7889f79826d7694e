/**
 * One SUBSCRIBE response body: RecordIO records decoded into scheduler events, and the watchdog
 * that declares the stream dead when no byte arrives for too long. It reports upwards and owns
 * no connection state: the connection decides what an event or a failure means.
 *
 * Bad input is handled by what it breaks. Framing errors (a garbage length line, a record over
 * the size limit, a stream ending inside a record) lose the stream's framing: the stream fails.
 * A record that does not decode, or decodes to an event type this schema does not know (a newer
 * master), costs only that record: it is logged and skipped, and the stream goes on.
 */
import type { IncomingMessage } from 'node:http';
import { describeError, type Logger } from '@sluice/common';
import { decodeSchedulerEvent, RecordIOError, RecordIOReader, type MesosEncoding, type SchedulerEvent } from '@sluice/mesos-proto';

export interface EventStreamHandlers {
  /** A decoded event other than HEARTBEAT, in stream order. */
  event(event: SchedulerEvent): void;
  heartbeat(): void;
  /** The stream is unusable; called once, after which nothing else is reported. */
  failed(reason: string): void;
}

export class EventStream {
  private readonly reader: RecordIOReader;
  private stopped = false;
  private watchdog: NodeJS.Timeout | undefined;
  private silenceLimitMs: number | undefined;
  private silenceWhy = '';

  constructor(
    private readonly res: IncomingMessage,
    private readonly destroy: () => void,
    private readonly encoding: MesosEncoding,
    maxRecordBytes: number,
    private readonly master: string,
    private readonly log: Logger,
    private readonly handlers: EventStreamHandlers,
  ) {
    this.reader = new RecordIOReader({ maxRecordBytes });
    res.on('data', (chunk: Buffer) => this.onData(chunk));
    res.on('end', () => this.onEnd());
    res.on('error', (err) => this.fail(`the event stream from master ${master} broke: ${describeError(err)}`));
    res.on('close', () => {
      if (!res.complete) this.fail(`the event stream from master ${master} was cut off`);
    });
  }

  /** Fails the stream after `limitMs` without a byte; re-armed by every chunk. `why` explains the limit in the log line. */
  watchSilence(limitMs: number, why: string): void {
    this.silenceLimitMs = limitMs;
    this.silenceWhy = why;
    this.armWatchdog();
  }

  /** Stops reading and closes the connection; reports nothing more. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.watchdog);
    this.destroy();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const limit = this.silenceLimitMs;
    if (limit === undefined || this.stopped) return;
    this.watchdog = setTimeout(() => this.fail(`no bytes from master ${this.master} for ${limit} ms (${this.silenceWhy}); the stream is presumed dead`), limit);
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.failed(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.armWatchdog();
    let records: Buffer[];
    try {
      records = this.reader.push(chunk);
    } catch (err) {
      this.fail(`bad framing on the event stream from master ${this.master}: ${describeError(err)}`);
      return;
    }
    for (const record of records) {
      if (this.stopped) return;
      this.onRecord(record);
    }
  }

  private onRecord(record: Buffer): void {
    let event: SchedulerEvent;
    try {
      event = decodeSchedulerEvent(record, this.encoding);
    } catch (err) {
      this.log.warn(`skipping an event from master ${this.master} that does not decode (${record.byteLength} bytes): ${describeError(err)}`);
      return;
    }
    if (event.type === undefined || event.type === 'UNKNOWN') {
      this.log.warn(`skipping an event of a type this scheduler does not know from master ${this.master} (a newer Mesos?): ${record.byteLength} bytes`);
      return;
    }
    if (event.type === 'HEARTBEAT') this.handlers.heartbeat();
    else this.handlers.event(event);
  }

  private onEnd(): void {
    if (this.stopped) return;
    try {
      this.reader.end();
    } catch (err) {
      const truncated = err instanceof RecordIOError && err.code === 'RECORDIO_TRUNCATED';
      this.fail(`${truncated ? 'the event stream was truncated' : 'bad framing on the event stream'} from master ${this.master}: ${describeError(err)}`);
      return;
    }
    this.fail(`master ${this.master} closed the event stream`);
  }
}
