/**
 * Gateway payloads on the wire: JSON, with a tagged form for the plain-data values JSON cannot
 * carry. Plain data is: null, booleans, strings, numbers (NaN and ±Infinity included), bigint,
 * undefined (an absent optional property stays absent; an undefined array element or argument
 * stays undefined), Uint8Array (and Buffer, decoded as Uint8Array), Date, arrays and objects
 * whose prototype is Object.prototype or null. Anything else — Map, Set, class instances,
 * functions, symbols — is refused at the sender with RPC_NOT_PLAIN_DATA instead of arriving
 * silently changed. Objects with a toJSON method (other than Date and Buffer) travel as what it
 * returns, as in JSON.
 *
 * A tag is an object with a `$sluice` key. A user object that has a `$sluice` key itself is
 * escaped (as its entries), so every value round-trips unambiguously. `__proto__` keys are
 * dropped on decode, so a payload can never reach a prototype through Object.assign.
 */
import { rpcError, RPC_ERROR_CODES } from './errors.js';

const TAG = '$sluice';
const UNDEFINED = Symbol('undefined element');

export interface Encoded {
  json: string;
  /** Whether a tag was written: the receiver can skip the slower reviving parse when not. */
  tagged: boolean;
}

export function encodePayload(value: unknown): Encoded {
  let tagged = false;
  const tag = (t: string, v?: unknown): object => {
    tagged = true;
    return v === undefined ? { [TAG]: t } : { [TAG]: t, v };
  };
  function replacer(this: unknown, key: string, v: unknown): unknown {
    switch (typeof v) {
      case 'number':
        return Number.isFinite(v) ? v : tag('num', String(v));
      case 'string': {
        // Date.toJSON ran before the replacer sees the value; the holder still has the Date.
        const raw = (this as Record<string, unknown>)[key];
        return raw instanceof Date ? tag('date', String(raw.getTime())) : v;
      }
      case 'boolean':
        return v;
      case 'bigint':
        return tag('big', v.toString());
      case 'undefined':
        return Array.isArray(this) ? tag('u') : undefined;
      case 'object': {
        if (v === null || Array.isArray(v)) return v;
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) {
          const raw = (this as Record<string, unknown>)[key];
          // A Buffer arrives here already turned into {type:'Buffer', data:[…]} by its toJSON.
          if (raw !== v && raw instanceof Uint8Array) return tag('bytes', Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64'));
          return Object.hasOwn(v, TAG) ? tag('obj', Object.entries(v)) : v;
        }
        if (v instanceof Uint8Array) return tag('bytes', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
        throw notPlain(key, describeKind(v));
      }
      default:
        throw notPlain(key, typeof v);
    }
  }
  const json = JSON.stringify(value, replacer);
  // JSON.stringify(undefined) is undefined: a void result travels as an empty payload.
  return { json: json ?? '', tagged };
}

export function decodePayload(json: string, tagged: boolean): unknown {
  if (json.length === 0) return undefined;
  if (!tagged && !json.includes('"__proto__"')) return JSON.parse(json);
  let undefinedSeen = false;
  function reviver(key: string, v: unknown): unknown {
    if (key === '__proto__') return undefined;
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      if (undefinedSeen) for (let i = 0; i < v.length; i++) if (v[i] === UNDEFINED) v[i] = undefined;
      return v;
    }
    if (!Object.hasOwn(v, TAG)) return v;
    const t = v as { [TAG]: unknown; v?: unknown };
    switch (t[TAG]) {
      case 'u':
        undefinedSeen = true;
        return UNDEFINED;
      case 'num':
        return Number(t.v);
      case 'big':
        return BigInt(String(t.v));
      case 'date':
        return new Date(Number(t.v));
      case 'bytes': {
        const b = Buffer.from(String(t.v), 'base64');
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
      case 'obj':
        if (!Array.isArray(t.v)) break;
        return Object.fromEntries((t.v as [string, unknown][]).filter(([k]) => k !== '__proto__'));
    }
    throw rpcError(RPC_ERROR_CODES.PROTOCOL, `payload holds an unknown tag ${JSON.stringify(t[TAG])}; the peer may run another Sluice version`);
  }
  const out = JSON.parse(json, reviver);
  return out === UNDEFINED ? undefined : out;
}

function describeKind(v: object): string {
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name.length > 0 ? `a ${name}` : 'an object with a custom prototype';
}

function notPlain(key: string, kind: string): Error {
  const where = key === '' ? 'the value' : `the value at key ${JSON.stringify(key)}`;
  return rpcError(
    RPC_ERROR_CODES.NOT_PLAIN_DATA,
    `${where} is ${kind}, which cannot cross an RPC boundary: gateway payloads must be plain data (JSON values, undefined, bigint, Uint8Array, Date); convert it first (e.g. a Map to an array of entries)`,
  );
}
