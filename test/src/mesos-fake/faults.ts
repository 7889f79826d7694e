/**
 * Fault injection that needs more than a flag: master failover (the old leader's streams close,
 * it redirects to the new one, which answers 503 while "recovering"), and bad bytes on a
 * framework's event stream for scheduler robustness tests.
 */
import { encodeRecord, encodeSchedulerEvent, type MesosEncoding } from '@sluice/mesos-proto';
import type { MasterCore } from './master-core.js';

export type StreamFault =
  /** A length line promising more bytes than follow, then the stream ends. */
  | { kind: 'truncated' }
  /** A length line announcing a record of `bytes` (default 2^30), a few bytes of it, then the stream ends. */
  | { kind: 'oversized'; bytes?: number }
  /** A length line that is not a number, then the stream ends. */
  | { kind: 'garbage-length' }
  /** A well-framed event whose type this schema (and the scheduler) does not know; the stream stays. */
  | { kind: 'unknown-event' }
  /** An ERROR event; the stream ends after it unless `keepOpen`. */
  | { kind: 'error-event'; message?: string; keepOpen?: boolean }
  /** These exact bytes; the stream ends after them when `end`. */
  | { kind: 'raw'; bytes: Uint8Array; end?: boolean };

function unknownEvent(encoding: MesosEncoding): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ type: 'SOMETHING_NEW', something_new: { value: 1 } }), 'utf8');
  // field 1 (type) = 99 as a varint, then field 99 as an empty length-delimited field.
  return Buffer.from([0x08, 0x63, 0x9a, 0x06, 0x00]);
}

/** Writes a fault on the framework's current stream. Throws when it has none. */
export function injectStreamFault(core: MasterCore, frameworkId: string, fault: StreamFault): void {
  const framework = core.state.frameworks.get(frameworkId);
  const stream = framework?.stream;
  if (stream === undefined || stream.closed) throw new Error(`framework ${frameworkId} has no open event stream to inject into`);
  const end = (): void => {
    // The framework's connection is gone; it must resubscribe.
    stream.close();
  };
  switch (fault.kind) {
    case 'truncated':
      stream.sendRaw(Buffer.from('100\n{"type":"HEARTB', 'utf8'));
      return end();
    case 'oversized':
      stream.sendRaw(Buffer.from(`${fault.bytes ?? 2 ** 30}\n{"type":"OFFERS"`, 'utf8'));
      return end();
    case 'garbage-length':
      stream.sendRaw(Buffer.from('12x\n{"type":"HE', 'utf8'));
      return end();
    case 'unknown-event':
      stream.sendRaw(encodeRecord(unknownEvent(stream.encoding)));
      return;
    case 'error-event': {
      const message = fault.message ?? 'Injected error';
      core.state.events.push({ frameworkId, event: { type: 'ERROR', error: { message } } });
      stream.sendRaw(encodeRecord(encodeSchedulerEvent({ type: 'ERROR', error: { message } }, stream.encoding, { mesosDefaults: true })));
      if (fault.keepOpen !== true) end();
      return;
    }
    case 'raw':
      stream.sendRaw(fault.bytes);
      if (fault.end === true) end();
      return;
  }
}

/**
 * A new leader is elected (or none, with `newLeader` undefined). Streams on the old leader
 * close; outstanding offers are gone (the new master makes new ones after it recovered); the
 * new leader answers 503 for `recoveringMs`; other masters redirect to it.
 */
export function failoverMaster(core: MasterCore, newLeader: number | undefined): void {
  const state = core.state;
  state.leader = undefined;
  core.closeAllStreams();
  core.allocator.dropOffers(() => true);
  state.leader = newLeader;
  state.recoveringUntil = Date.now() + state.options.recoveringMs;
  if (newLeader !== undefined) {
    const timer = setTimeout(() => core.allocator.schedule(), state.options.recoveringMs + 1);
    timer.unref();
  }
  state.changed();
}
