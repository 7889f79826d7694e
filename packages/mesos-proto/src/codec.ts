/**
 * Encode and decode Mesos messages as `application/x-protobuf` or `application/json`, the two
 * content types the master and agent speak. Plain objects in, plain objects out (see convert.ts
 * for their conventions).
 */
import { MesosCodecError } from './errors.js';
import { ConvertProblem, messageIn, messageOut, type JsonEncodeOptions } from './convert.js';
import { messageInfo } from './schema.js';
import type { ExecutorCall, ExecutorEvent } from './types/executor.js';
import type { SchedulerCall, SchedulerEvent } from './types/scheduler.js';

export type { JsonEncodeOptions } from './convert.js';

/** The two encodings of the v1 HTTP APIs. */
export type MesosEncoding = 'protobuf' | 'json';

/** The exact media types; Mesos answers 415 to anything else (even with a `;charset=` suffix). */
export const MESOS_MEDIA_TYPES: Readonly<Record<MesosEncoding, string>> = Object.freeze({
  protobuf: 'application/x-protobuf',
  json: 'application/json',
});

/** The encoding a Content-Type header names, compared exactly as Mesos does; undefined otherwise. */
export function encodingOfMediaType(mediaType: string | undefined): MesosEncoding | undefined {
  if (mediaType === MESOS_MEDIA_TYPES.protobuf) return 'protobuf';
  if (mediaType === MESOS_MEDIA_TYPES.json) return 'json';
  return undefined;
}

function checkEncoding(typeName: string, encoding: unknown, code: 'MESOS_ENCODE' | 'MESOS_DECODE'): asserts encoding is MesosEncoding {
  if (encoding !== 'protobuf' && encoding !== 'json') {
    throw new MesosCodecError(code, typeName, String(encoding), '', `unknown encoding '${String(encoding)}'; use 'protobuf' or 'json'`);
  }
}

function rethrow(code: 'MESOS_ENCODE' | 'MESOS_DECODE', typeName: string, encoding: string, err: unknown): never {
  if (err instanceof ConvertProblem) throw new MesosCodecError(code, typeName, encoding, err.path, err.message);
  if (err instanceof MesosCodecError) throw err;
  const detail = err instanceof Error ? err.message : String(err);
  throw new MesosCodecError(code, typeName, encoding, '', code === 'MESOS_DECODE' ? `not a valid ${encoding} encoding of it (${detail})` : detail, { cause: err });
}

/**
 * Encodes a plain message object of the given type (full name, e.g. `mesos.v1.TaskInfo`).
 * Unknown keys, wrong value types, enum numbers and missing required fields throw
 * MesosCodecError (MESOS_ENCODE) naming the field path.
 */
export function encodeMessage(typeName: string, value: unknown, encoding: MesosEncoding, options: JsonEncodeOptions = {}): Buffer {
  checkEncoding(typeName, encoding, 'MESOS_ENCODE');
  const info = messageInfo(typeName);
  try {
    if (encoding === 'json') return Buffer.from(JSON.stringify(messageOut(info, value, '', 'json', options)), 'utf8');
    const bytes = info.type.encode(messageOut(info, value, '', 'wire')).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    rethrow('MESOS_ENCODE', typeName, encoding, err);
  }
}

/**
 * Decodes one message of the given type. Unknown fields and enum values Mesos may add later are
 * ignored; malformed input and missing required fields throw MesosCodecError (MESOS_DECODE).
 */
export function decodeMessage<T = Record<string, unknown>>(typeName: string, bytes: Uint8Array, encoding: MesosEncoding): T {
  checkEncoding(typeName, encoding, 'MESOS_DECODE');
  const info = messageInfo(typeName);
  try {
    if (encoding === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
      } catch (err) {
        throw new MesosCodecError('MESOS_DECODE', typeName, encoding, '', `not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      return messageIn(info, parsed, '', 'json') as T;
    }
    return messageIn(info, info.type.decode(bytes), '', 'wire') as T;
  } catch (err) {
    rethrow('MESOS_DECODE', typeName, encoding, err);
  }
}

const SCHEDULER_CALL = 'mesos.v1.scheduler.Call';
const SCHEDULER_EVENT = 'mesos.v1.scheduler.Event';
const EXECUTOR_CALL = 'mesos.v1.executor.Call';
const EXECUTOR_EVENT = 'mesos.v1.executor.Event';

export function encodeSchedulerCall(call: SchedulerCall, encoding: MesosEncoding): Buffer {
  return encodeMessage(SCHEDULER_CALL, call, encoding);
}

export function decodeSchedulerCall(bytes: Uint8Array, encoding: MesosEncoding): SchedulerCall {
  return decodeMessage<SchedulerCall>(SCHEDULER_CALL, bytes, encoding);
}

export function encodeSchedulerEvent(event: SchedulerEvent, encoding: MesosEncoding, options: JsonEncodeOptions = {}): Buffer {
  return encodeMessage(SCHEDULER_EVENT, event, encoding, options);
}

export function decodeSchedulerEvent(bytes: Uint8Array, encoding: MesosEncoding): SchedulerEvent {
  return decodeMessage<SchedulerEvent>(SCHEDULER_EVENT, bytes, encoding);
}

export function encodeExecutorCall(call: ExecutorCall, encoding: MesosEncoding): Buffer {
  return encodeMessage(EXECUTOR_CALL, call, encoding);
}

export function decodeExecutorCall(bytes: Uint8Array, encoding: MesosEncoding): ExecutorCall {
  return decodeMessage<ExecutorCall>(EXECUTOR_CALL, bytes, encoding);
}

export function encodeExecutorEvent(event: ExecutorEvent, encoding: MesosEncoding, options: JsonEncodeOptions = {}): Buffer {
  return encodeMessage(EXECUTOR_EVENT, event, encoding, options);
}

export function decodeExecutorEvent(bytes: Uint8Array, encoding: MesosEncoding): ExecutorEvent {
  return decodeMessage<ExecutorEvent>(EXECUTOR_EVENT, bytes, encoding);
}
