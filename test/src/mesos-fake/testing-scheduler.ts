/**
 * A bare scheduler-side HTTP client for the fake's own tests: raw node:http, one encoding per
 * client, the event stream parsed with @sluice/mesos-proto's RecordIO reader, and awaitable
 * events. Deliberately thin (no retries, no redirects followed) so tests see exactly what the
 * master answered.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import {
  MESOS_MEDIA_TYPES, RecordIOReader, decodeSchedulerEvent, encodeSchedulerCall, type FrameworkInfo, type MesosEncoding, type SchedulerCall,
  type SchedulerEvent,
} from '@sluice/mesos-proto';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One POST with the given raw body and headers; resolves with the whole answer (not for SUBSCRIBE streams). */
export function rawPost(url: string, path: string, body: Uint8Array | string, headers: Record<string, string>, method = 'POST'): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), path, method, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class TestScheduler {
  readonly events: SchedulerEvent[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** Body of a non-200 SUBSCRIBE answer. */
  body = '';
  ended = false;
  streamError: Error | undefined;
  private waiters: (() => void)[] = [];
  private res: import('node:http').IncomingMessage | undefined;
  frameworkId: string | undefined;

  private constructor(
    readonly url: string,
    readonly encoding: MesosEncoding,
    private readonly extraHeaders: Record<string, string>,
  ) {}

  /** SUBSCRIBEs; resolves once the answer's headers arrived (check `status`). */
  static subscribe(url: string, info: FrameworkInfo, options: { encoding?: MesosEncoding; headers?: Record<string, string>; path?: string; suppressedRoles?: string[] } = {}): Promise<TestScheduler> {
    const encoding = options.encoding ?? 'json';
    const s = new TestScheduler(url, encoding, options.headers ?? {});
    const call: SchedulerCall = { type: 'SUBSCRIBE', subscribe: { framework_info: info, ...(options.suppressedRoles === undefined ? {} : { suppressed_roles: options.suppressedRoles }) } };
    if (info.id !== undefined) call.framework_id = info.id;
    const body = encodeSchedulerCall(call, encoding);
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const headers = { 'Content-Type': MESOS_MEDIA_TYPES[encoding], Accept: MESOS_MEDIA_TYPES[encoding], ...s.extraHeaders, 'Content-Length': String(body.byteLength) };
      const req = request({ host: u.hostname, port: Number(u.port), path: options.path ?? '/api/v1/scheduler', method: 'POST', headers }, (res) => {
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        s.res = res;
        const reader = new RecordIOReader();
        res.on('data', (chunk: Buffer) => {
          if (s.status !== 200) {
            s.body += chunk.toString('utf8');
            return;
          }
          try {
            for (const record of reader.push(chunk)) {
              const event = decodeSchedulerEvent(record, encoding);
              if (event.type === 'SUBSCRIBED') s.frameworkId = event.subscribed?.framework_id.value;
              s.events.push(event);
            }
          } catch (err) {
            s.streamError = err as Error;
          }
          s.wake();
        });
        const end = (): void => {
          try {
            if (s.status === 200 && s.streamError === undefined) reader.end();
          } catch (err) {
            s.streamError = err as Error;
          }
          s.ended = true;
          s.wake();
        };
        res.on('end', end);
        res.on('error', end);
        res.on('close', end);
        resolve(s);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  get streamId(): string {
    return String(this.headers['mesos-stream-id'] ?? '');
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for the first event (from `from` on) matching; returns it and its index. */
  async next(type: string, match: (e: SchedulerEvent) => boolean = () => true, from = 0, timeoutMs = 30_000): Promise<SchedulerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find((e) => e.type === type && match(e));
      if (found !== undefined) return found;
      if (this.ended) throw new Error(`stream ended before a ${type} event arrived (events: ${this.events.map((e) => e.type).join(',')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a ${type} event (events: ${this.events.map((e) => e.type).join(',')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitEnded(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the stream to end');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a call with this subscription's framework id and stream id (overridable through headers). */
  call(call: SchedulerCall, headers: Record<string, string> = {}, url = this.url): Promise<RawAnswer> {
    const full: SchedulerCall = { framework_id: { value: this.frameworkId ?? '' }, ...call };
    return rawPost(url, '/api/v1/scheduler', encodeSchedulerCall(full, this.encoding), {
      'Content-Type': MESOS_MEDIA_TYPES[this.encoding],
      'Mesos-Stream-Id': this.streamId,
      ...this.extraHeaders,
      ...headers,
    });
  }

  close(): void {
    this.res?.destroy();
  }
}

export const FRAMEWORK: FrameworkInfo = { user: 'sluice', name: 'fake-test', failover_timeout: 3600, checkpoint: true };
