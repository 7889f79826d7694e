/**
 * The schema walk between Sluice's plain message objects and the two wire forms.
 *
 * Plain objects use the .proto field names (snake_case), enum values by name, int64/uint64 as a
 * number when it is a safe integer and as a decimal string otherwise, bytes as Uint8Array
 * (Buffer when decoded). Absent fields are absent (no defaults filled in).
 *
 * Encoding is strict (an unknown key is almost always a camelCase slip that Mesos would drop
 * silently); decoding ignores unknown JSON keys and unknown enum values like Mesos and proto2 do,
 * except in a required field.
 */
import protobuf from 'protobufjs';
import type { FieldInfo, FieldValue, MessageInfo, ScalarType } from './schema.js';
import { messageInfo } from './schema.js';

/** A problem at a field path; the codec turns it into a MesosCodecError naming the top-level type. */
export class ConvertProblem extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export interface JsonEncodeOptions {
  /**
   * Also emit unset optional fields that declare a default (not deprecated ones), as the Mesos
   * master and agent do in their JSON output (e.g. `shell: true`, `failover_timeout: 0`).
   */
  readonly mesosDefaults?: boolean;
}

type Target = 'wire' | 'json';
interface LongStatics { fromString(text: string, unsigned: boolean): protobuf.Long }
type Obj = Record<string, unknown>;

const INT64: ReadonlySet<ScalarType> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED64: ReadonlySet<ScalarType> = new Set(['uint64', 'fixed64']);
const INT32: ReadonlySet<ScalarType> = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32: ReadonlySet<ScalarType> = new Set(['uint32', 'fixed32']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function missingRequired(info: MessageInfo, field: FieldInfo, path: string): ConvertProblem {
  return new ConvertProblem(path, `${info.name} is missing required field '${field.name}'`);
}

// ---------------------------------------------------------------------------------------------
// 64-bit integers

function parseInt64(scalar: ScalarType, v: unknown, path: string): bigint {
  let big: bigint;
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (!Number.isSafeInteger(v)) throw new ConvertProblem(path, `${scalar} ${v} is beyond 2^53; pass it as a decimal string`);
    big = BigInt(v);
  } else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
    big = BigInt(v);
  } else if (typeof v === 'bigint') {
    big = v;
  } else {
    throw new ConvertProblem(path, `expected an integer (number or decimal string) for ${scalar}, got ${describeValue(v)}`);
  }
  const unsigned = UNSIGNED64.has(scalar);
  if (unsigned ? big < 0n || big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX) {
    throw new ConvertProblem(path, `${big} is out of range for ${scalar}`);
  }
  return big;
}

/** The plain form of a 64-bit integer: a number when exact, else its decimal string. */
export function plainInt64(big: bigint): number | string {
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

function int64FromWire(v: unknown): number | string {
  if (typeof v === 'number') return v;
  const long = v as { toNumber(): number; toString(): string };
  // toNumber is exact whenever the result is a safe integer; beyond that the text is exact.
  const n = long.toNumber();
  return Number.isSafeInteger(n) ? n : long.toString();
}

// ---------------------------------------------------------------------------------------------
// plain → wire object / JSON value

function scalarOut(scalar: ScalarType, v: unknown, path: string, target: Target): unknown {
  switch (scalar) {
    case 'string':
      if (typeof v !== 'string') throw new ConvertProblem(path, `expected a string, got ${describeValue(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new ConvertProblem(path, `expected a boolean, got ${describeValue(v)}`);
      return v;
    case 'double':
    case 'float':
      if (typeof v !== 'number') throw new ConvertProblem(path, `expected a number for ${scalar}, got ${describeValue(v)}`);
      if (target === 'json' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
      return v;
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new ConvertProblem(path, `expected bytes (a Uint8Array or Buffer), got ${describeValue(v)}`);
      return target === 'json' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v;
    default:
      break;
  }
  if (INT64.has(scalar)) {
    const big = parseInt64(scalar, v, path);
    const plain = plainInt64(big);
    if (target === 'json' || typeof plain === 'number') return plain;
    return (protobuf.util.Long as unknown as LongStatics).fromString(plain, UNSIGNED64.has(scalar));
  }
  const [min, max] = INT32.has(scalar) ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConvertProblem(path, `expected an integer in [${min}, ${max}] for ${scalar}, got ${describeValue(v)}`);
  }
  return v;
}

function valueOut(value: FieldValue, v: unknown, path: string, target: Target, options: JsonEncodeOptions): unknown {
  if (value.kind === 'scalar') return scalarOut(value.scalar, v, path, target);
  if (value.kind === 'message') return messageOut(messageInfo(value.typeName), v, path, target, options);
  const { enumInfo } = value;
  if (typeof v !== 'string') {
    throw new ConvertProblem(path, `expected a ${enumInfo.name} name (enums go by name, e.g. '${enumInfo.byName.keys().next().value}'), got ${describeValue(v)}`);
  }
  const num = enumInfo.byName.get(v);
  if (num === undefined) throw new ConvertProblem(path, `'${v}' is not a ${enumInfo.name} value (one of ${[...enumInfo.byName.keys()].join(', ')})`);
  return target === 'wire' ? num : v;
}

function fieldOut(field: FieldInfo, v: unknown, path: string, target: Target, options: JsonEncodeOptions): unknown {
  if (field.label === 'repeated') {
    if (!Array.isArray(v)) throw new ConvertProblem(path, `expected an array for repeated field '${field.name}', got ${describeValue(v)}`);
    return v.map((item, i) => valueOut(field.value, item, `${path}[${i}]`, target, options));
  }
  if (field.label === 'map') {
    if (!isPlainObject(v)) throw new ConvertProblem(path, `expected an object for map field '${field.name}', got ${describeValue(v)}`);
    const out: Obj = {};
    for (const [key, item] of Object.entries(v)) out[key] = valueOut(field.value, item, `${path}[${JSON.stringify(key)}]`, target, options);
    return out;
  }
  return valueOut(field.value, v, path, target, options);
}

/** A plain message object → the object protobufjs encodes (`wire`) or the Mesos JSON value (`json`). */
export function messageOut(info: MessageInfo, value: unknown, path: string, target: Target, options: JsonEncodeOptions = {}): Obj {
  if (!isPlainObject(value)) throw new ConvertProblem(path, `expected an object for ${info.name}, got ${describeValue(value)}`);
  const out: Obj = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    const field = info.fields.get(key);
    if (field === undefined) {
      const hint = /[A-Z]/.test(key) ? ' (field names are snake_case, as in the .proto)' : '';
      throw new ConvertProblem(join(path, key), `${info.name} has no field '${key}'${hint}`);
    }
    out[key] = fieldOut(field, v, join(path, key), target, options);
  }
  for (const field of info.required) if (!hasOwn(out, field.name)) throw missingRequired(info, field, path);
  for (const [name, members] of info.oneofs) {
    const set = members.filter((m) => hasOwn(out, m));
    if (set.length > 1) throw new ConvertProblem(path, `${info.name} sets ${set.join(' and ')}, but they are alternatives (oneof ${name})`);
  }
  if (target === 'json' && options.mesosDefaults === true) {
    for (const field of info.fieldList) {
      if (field.label === 'optional' && field.explicitDefault !== undefined && !field.deprecated && !hasOwn(out, field.name)) {
        out[field.name] = field.explicitDefault;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// wire object / JSON value → plain

/** Marks an enum value this schema does not know: dropped from optional fields, fatal in required ones. */
const UNKNOWN_ENUM = Symbol('unknown enum value');

function scalarIn(scalar: ScalarType, v: unknown, path: string, source: Target): unknown {
  if (source === 'wire') {
    if (INT64.has(scalar)) return int64FromWire(v);
    if (scalar === 'bytes') return Buffer.from(v as Uint8Array);
    return v;
  }
  switch (scalar) {
    case 'string':
      if (typeof v !== 'string') throw new ConvertProblem(path, `expected a string, got ${describeValue(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new ConvertProblem(path, `expected true or false, got ${describeValue(v)}`);
      return v;
    case 'bytes':
      if (typeof v !== 'string' || v.length % 4 === 1 || !BASE64.test(v)) {
        throw new ConvertProblem(path, `expected standard base64 for bytes, got ${describeValue(v)}`);
      }
      return Buffer.from(v, 'base64');
    case 'double':
    case 'float':
      if (typeof v === 'number') return v;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (v === 'NaN') return NaN;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      throw new ConvertProblem(path, `expected a number for ${scalar}, got ${describeValue(v)}`);
    default:
      break;
  }
  if (INT64.has(scalar)) return plainInt64(parseInt64(scalar, v, path));
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  const [min, max] = INT32.has(scalar) ? [-(2 ** 31), 2 ** 31 - 1] : UINT32.has(scalar) ? [0, 2 ** 32 - 1] : [-Infinity, Infinity];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConvertProblem(path, `expected an integer in [${min}, ${max}] for ${scalar}, got ${describeValue(v)}`);
  }
  return n;
}

function valueIn(value: FieldValue, v: unknown, path: string, source: Target): unknown {
  if (value.kind === 'scalar') return scalarIn(value.scalar, v, path, source);
  if (value.kind === 'message') return messageIn(messageInfo(value.typeName), v, path, source);
  const { enumInfo } = value;
  if (source === 'wire') return enumInfo.byNumber.get(v as number) ?? UNKNOWN_ENUM;
  // Mesos answers 400 to enum numbers in JSON; names it does not know are dropped like proto2 does.
  if (typeof v !== 'string') throw new ConvertProblem(path, `expected a ${enumInfo.name} name, got ${describeValue(v)}`);
  return enumInfo.byName.has(v) ? v : UNKNOWN_ENUM;
}

function fieldIn(info: MessageInfo, field: FieldInfo, v: unknown, path: string, source: Target): unknown {
  if (field.label === 'repeated') {
    if (!Array.isArray(v)) throw new ConvertProblem(path, `expected an array for repeated field '${field.name}', got ${describeValue(v)}`);
    const items = v.map((item, i) => valueIn(field.value, item, `${path}[${i}]`, source)).filter((x) => x !== UNKNOWN_ENUM);
    return items.length === 0 ? undefined : items;
  }
  if (field.label === 'map') {
    if (!isPlainObject(v)) throw new ConvertProblem(path, `expected an object for map field '${field.name}', got ${describeValue(v)}`);
    const out: Obj = {};
    for (const [key, item] of Object.entries(v)) {
      const converted = valueIn(field.value, item, `${path}[${JSON.stringify(key)}]`, source);
      if (converted !== UNKNOWN_ENUM) out[key] = converted;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  const converted = valueIn(field.value, v, path, source);
  if (converted !== UNKNOWN_ENUM) return converted;
  if (field.label === 'required') {
    throw new ConvertProblem(path, `required field '${field.name}' of ${info.name} has a value this schema does not know: ${JSON.stringify(v)}`);
  }
  return undefined;
}

/** A decoded protobufjs message (`wire`) or a parsed Mesos JSON value (`json`) → a plain message object. */
export function messageIn(info: MessageInfo, value: unknown, path: string, source: Target): Obj {
  if (!isPlainObject(value)) throw new ConvertProblem(path, `expected an object for ${info.name}, got ${describeValue(value)}`);
  const out: Obj = {};
  // protobufjs messages carry their fields as own properties (and defaults on the prototype);
  // JSON objects may carry keys this schema does not know, which are ignored.
  for (const field of info.fieldList) {
    if (!hasOwn(value, field.name)) continue;
    const v = value[field.name];
    if (v === null || v === undefined) continue;
    const converted = fieldIn(info, field, v, join(path, field.name), source);
    if (converted !== undefined) out[field.name] = converted;
  }
  for (const field of info.required) if (!hasOwn(out, field.name)) throw missingRequired(info, field, path);
  return out;
}
