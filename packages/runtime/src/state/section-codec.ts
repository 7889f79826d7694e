/**
 * The bytes of one key group in a checkpoint (format 2). v8's serializer, which format 1 used
 * for everything, writes each entry of a `Map<auction, {count, emitMs}>` as a tagged object with
 * its property names spelled out and each timer as a three-element array; for window state that
 * was most of what a checkpoint cost the task thread. This codec writes the common shapes
 * straight into one growing buffer instead:
 *
 *   - keys, namespaces and timer keys that are numbers or strings, and numbers anywhere: a tag
 *     byte, then one byte (integers 0–255), four (other 32-bit integers), a float64, or
 *     length-prefixed UTF-8;
 *   - map values that are all numbers: one number each;
 *   - map values that are all plain objects with the same number-valued fields in the same
 *     order (accumulators, small records): the field names once per map, then the numbers.
 *
 * A map or timer list with anything else in it (other key types, strings with lone surrogates,
 * strings or objects as values, mixed shapes, class instances) is written whole by v8's
 * serializer, as before. Either way a
 * restore sees what v8 would have restored: numbers as the same doubles (-0 and NaN included),
 * plain objects as plain objects with the same own enumerable properties in the same order.
 *
 * Layout, written with the runtime's BufferDataOutput (little-endian; `n` = unsigned LEB128
 * varint; `str` = n byte length + UTF-8; `bytes` = n length + bytes; `num` = u8 tag + u8 | i32 |
 * f64; `value` = num | u8 tag + str):
 *
 *   u8 2 (format 1 sections are v8 data and start with 0xFF)
 *   n tables, each: str name, u8 isMapState, map
 *   n namespaced tables, each: str name, n namespaces, each: value namespace, map
 *   timers (event), timers (processing)
 *
 *   map:    u8 kind, then V8: bytes (v8 data of the Map)
 *                         NUMBERS: n entries, each: value key, num
 *                         RECORDS: n entries, n fields, fields × str, each entry: value key, fields × num
 *   timers: u8 kind, then NONE | V8: bytes (v8 data of [key, namespace, timestamp][])
 *                         | PACKED: n keys, each: value key, i32 timers, each: value namespace, num timestamp
 */
import { deserialize, serialize } from 'node:v8';
import { SluiceError, truncateForMessage } from '@sluice/common';
import { BufferDataInput } from '../serialization/data-input.js';
import { BufferDataOutput } from '../serialization/data-output.js';
import { StateAccessError } from './errors.js';
import type { Namespace } from './state-table.js';

export const SECTION_FORMAT = 2;

const MAP_V8 = 0;
const MAP_NUMBERS = 1;
const MAP_RECORDS = 2;

const TIMERS_NONE = 0;
const TIMERS_V8 = 1;
const TIMERS_PACKED = 2;

const VALUE_NUMBER = 0;
const VALUE_STRING = 1;
const VALUE_UINT8 = 2;
const VALUE_INT32 = 3;

export type TimerEntry = [key: unknown, namespace: Namespace, timestamp: number];

/**
 * A key group's section in checkpoint format 1: v8 data of the tables by state name, then
 * timers as `[key, namespace, timestamp]`. Still read.
 */
type SectionV1 = [keyed: SectionContents['keyed'], namespaced: SectionContents['namespaced'], event: TimerEntry[], processing: TimerEntry[]];
/** The v8 serializer's first byte (its version tag): how a format 1 section starts. */
const V8_VERSION_TAG = 0xff;

/** A timer as the codec reads it: one of a key's timers, linked to that key's next one. */
export interface TimerLink {
  readonly key: unknown;
  readonly namespace: Namespace;
  readonly timestamp: number;
  readonly next: TimerLink | undefined;
}

/** One time domain's timers (TimerQueue): per key group, each key's list of timers. */
export interface TimerSource {
  chainsOfGroup(keyGroup: number): ReadonlyMap<unknown, TimerLink> | undefined;
}

/**
 * Writes sections into one growing buffer, reused across the key groups of a snapshot: the
 * runtime's BufferDataOutput (varint counts and lengths, UTF-8 strings) plus tagged values.
 * `take()` returns a copy of what was written and starts over.
 */
export class SectionWriter {
  readonly out: BufferDataOutput;

  constructor(initialBytes = 64 * 1024) {
    this.out = new BufferDataOutput(new Uint8Array(initialBytes), { growable: true });
  }

  get position(): number {
    return this.out.pos;
  }

  /** Discards what was written after `position` (a shape that did not fit). */
  rewind(position: number): void {
    this.out.pos = position;
  }

  take(): Uint8Array {
    const out = this.out.bytes.slice(0, this.out.pos);
    this.out.pos = 0;
    return out;
  }

  /**
   * A number or string with its tag; false (nothing written) for any other value, and for a
   * string with a lone surrogate, which UTF-8 cannot carry (v8's serializer keeps it).
   */
  value(v: unknown): boolean {
    if (typeof v === 'number') {
      this.num(v);
      return true;
    }
    if (typeof v === 'string' && isWellFormed(v)) {
      this.out.writeUint8(VALUE_STRING);
      this.out.writeString(v);
      return true;
    }
    return false;
  }

  /** A number with its tag: small integers in 1 or 4 bytes, anything else (-0 too) as a float64. */
  num(v: number): void {
    const out = this.out;
    const i = v | 0;
    if (i === v && (i !== 0 || 1 / v > 0)) {
      if (i >= 0 && i < 256) {
        out.writeUint8(VALUE_UINT8);
        out.writeUint8(i);
      } else {
        out.writeUint8(VALUE_INT32);
        out.writeInt32(i);
      }
    } else {
      out.writeUint8(VALUE_NUMBER);
      out.writeFloat64(v);
    }
  }
}

/** Reads what SectionWriter wrote; wrap reads in `readingSection` so a short section throws SectionFormatError. */
export class SectionReader {
  readonly in: BufferDataInput;

  constructor(bytes: Uint8Array) {
    this.in = new BufferDataInput(bytes);
  }

  get atEnd(): boolean {
    return this.in.pos === this.in.end;
  }

  value(): number | string {
    const tag = this.in.readUint8();
    switch (tag) {
      case VALUE_UINT8:
        return this.in.readUint8();
      case VALUE_INT32:
        return this.in.readInt32();
      case VALUE_NUMBER:
        return this.in.readFloat64();
      case VALUE_STRING:
        return this.in.readString();
      default:
        throw new SectionFormatError(`unknown value tag ${tag} at byte ${this.in.pos - 1}`);
    }
  }

  num(): number {
    const v = this.value();
    if (typeof v !== 'number') throw new SectionFormatError(`a number was expected before byte ${this.in.pos}, found a string`);
    return v;
  }
}

export class SectionFormatError extends Error {
  override name = 'SectionFormatError';
}

/** Runs `read`, reporting a section that ends too early as a SectionFormatError. */
export function readingSection<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof SluiceError && err.code === 'CORRUPT_BATCH') throw new SectionFormatError(`the section ends too early (${err.message.split(';')[0]})`);
    throw err;
  }
}

/** What one key group holds, as the backend hands it over and gets it back. */
export interface SectionContents {
  /** Tables of the default namespace: name, the group's map, whether its values are stored MapState maps. */
  keyed: [name: string, map: Map<unknown, unknown>, isMapState: boolean][];
  /** Tables by namespace (window contents): name, namespace → the group's map. */
  namespaced: [name: string, map: Map<Namespace, Map<unknown, unknown>>][];
}

export interface DecodedSection extends SectionContents {
  event: TimerEntry[];
  processing: TimerEntry[];
}

/**
 * One key group's section (format 2), built in `w` (which starts over); undefined when the group
 * holds no state and no timers. Throws StateAccessError for a namespace that is neither a number
 * nor a string, naming `owner` (the operator).
 */
export function writeSection(w: SectionWriter, contents: SectionContents, timers: { event: TimerSource; processing: TimerSource } | undefined, keyGroup: number, owner: string): Uint8Array | undefined {
  const out = w.out;
  w.rewind(0);
  out.writeUint8(SECTION_FORMAT);
  out.writeVarUint(contents.keyed.length);
  for (const [name, map, isMapState] of contents.keyed) {
    out.writeString(name);
    out.writeUint8(isMapState ? 1 : 0);
    writeMap(w, map);
  }
  out.writeVarUint(contents.namespaced.length);
  for (const [name, byNamespace] of contents.namespaced) {
    out.writeString(name);
    out.writeVarUint(byNamespace.size);
    for (const [ns, map] of byNamespace) {
      if (!w.value(ns)) throw new StateAccessError(`state '${name}' of operator '${owner}' has namespace ${truncateForMessage(ns)}; namespaces must be numbers or strings`);
      writeMap(w, map);
    }
  }
  const eventTimers = writeTimers(w, timers?.event, keyGroup);
  const processingTimers = writeTimers(w, timers?.processing, keyGroup);
  if (contents.keyed.length === 0 && contents.namespaced.length === 0 && !eventTimers && !processingTimers) {
    w.rewind(0);
    return undefined;
  }
  return w.take();
}

/** Reads a section of either format; a damaged one throws SectionFormatError. */
export function readSection(bytes: Uint8Array): DecodedSection {
  if (bytes[0] === V8_VERSION_TAG) {
    const [keyed, namespaced, event, processing] = deserialize(bytes) as SectionV1;
    return { keyed, namespaced, event, processing };
  }
  return readingSection(() => {
    const r = new SectionReader(bytes);
    const input = r.in;
    const format = input.readUint8();
    if (format !== SECTION_FORMAT) throw new SectionFormatError(`unknown section format ${format}`);
    const keyed: DecodedSection['keyed'] = [];
    for (let n = input.readVarUint(); n > 0; n--) {
      const name = input.readString();
      const isMapState = input.readUint8() === 1;
      keyed.push([name, readMap(r), isMapState]);
    }
    const namespaced: DecodedSection['namespaced'] = [];
    for (let n = input.readVarUint(); n > 0; n--) {
      const name = input.readString();
      const byNamespace = new Map<Namespace, Map<unknown, unknown>>();
      for (let m = input.readVarUint(); m > 0; m--) {
        const ns = r.value();
        byNamespace.set(ns, readMap(r));
      }
      namespaced.push([name, byNamespace]);
    }
    const event = readTimers(r);
    const processing = readTimers(r);
    if (!r.atEnd) throw new SectionFormatError('bytes left over after the timers');
    return { keyed, namespaced, event, processing };
  });
}

/** Writes a map's entries packed when their shape allows, else as v8 data. */
export function writeMap(w: SectionWriter, map: Map<unknown, unknown>): void {
  const start = w.position;
  if (!writePacked(w, map)) {
    w.rewind(start);
    w.out.writeUint8(MAP_V8);
    w.out.writeBytes(serialize(map));
  }
}

function writePacked(w: SectionWriter, map: Map<unknown, unknown>): boolean {
  let first: unknown;
  for (const v of map.values()) {
    first = v;
    break;
  }
  if (typeof first === 'number') {
    w.out.writeUint8(MAP_NUMBERS);
    w.out.writeVarUint(map.size);
    for (const [k, v] of map) {
      if (typeof v !== 'number' || !w.value(k)) return false;
      w.num(v);
    }
    return true;
  }
  const fields = numberRecordFields(first);
  if (fields === undefined) return false;
  const width = fields.length;
  w.out.writeUint8(MAP_RECORDS);
  w.out.writeVarUint(map.size);
  w.out.writeVarUint(width);
  for (const f of fields) w.out.writeString(f);
  for (const [k, v] of map) {
    if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype || !w.value(k)) return false;
    let f = 0;
    for (const name in v) {
      if (f === width || name !== fields[f]) return false;
      const x = (v as Record<string, unknown>)[name];
      if (typeof x !== 'number') return false;
      w.num(x);
      f++;
    }
    if (f !== width) return false;
  }
  return true;
}

export function readMap(r: SectionReader): Map<unknown, unknown> {
  const input = r.in;
  const kind = input.readUint8();
  if (kind === MAP_V8) return deserialize(input.readBytes()) as Map<unknown, unknown>;
  if (kind !== MAP_NUMBERS && kind !== MAP_RECORDS) throw new SectionFormatError(`unknown map encoding ${kind}`);
  const out = new Map<unknown, unknown>();
  const n = input.readVarUint();
  if (kind === MAP_NUMBERS) {
    for (let i = 0; i < n; i++) {
      const k = r.value();
      out.set(k, r.num());
    }
    return out;
  }
  const width = input.readVarUint();
  const fields: string[] = [];
  for (let f = 0; f < width; f++) fields.push(input.readString());
  for (let i = 0; i < n; i++) {
    const k = r.value();
    const v: Record<string, number> = {};
    for (let f = 0; f < width; f++) v[fields[f]!] = r.num();
    out.set(k, v);
  }
  return out;
}

/** Writes one key group's timers of one domain; false when it has none. */
export function writeTimers(w: SectionWriter, source: TimerSource | undefined, keyGroup: number): boolean {
  const chains = source?.chainsOfGroup(keyGroup);
  if (chains === undefined) {
    w.out.writeUint8(TIMERS_NONE);
    return false;
  }
  const start = w.position;
  if (!writePackedTimers(w, chains)) {
    w.rewind(start);
    const entries: TimerEntry[] = [];
    for (const head of chains.values()) for (let t: TimerLink | undefined = head; t !== undefined; t = t.next) entries.push([t.key, t.namespace, t.timestamp]);
    w.out.writeUint8(TIMERS_V8);
    w.out.writeBytes(serialize(entries));
  }
  return true;
}

/** Per key: the key once (its first timer's), the count, then each timer's namespace and timestamp. */
function writePackedTimers(w: SectionWriter, chains: ReadonlyMap<unknown, TimerLink>): boolean {
  w.out.writeUint8(TIMERS_PACKED);
  w.out.writeVarUint(chains.size);
  for (const head of chains.values()) {
    if (!w.value(head.key)) return false;
    // The count is known only after the walk: a fixed-width slot, filled in afterwards.
    const countAt = w.position;
    w.out.writeInt32(0);
    let n = 0;
    for (let t: TimerLink | undefined = head; t !== undefined; t = t.next) {
      if (!w.value(t.namespace)) return false;
      w.num(t.timestamp);
      n++;
    }
    const b = w.out.bytes;
    b[countAt] = n & 0xff;
    b[countAt + 1] = (n >>> 8) & 0xff;
    b[countAt + 2] = (n >>> 16) & 0xff;
    b[countAt + 3] = n >>> 24;
  }
  return true;
}

export function readTimers(r: SectionReader): TimerEntry[] {
  const input = r.in;
  const kind = input.readUint8();
  if (kind === TIMERS_NONE) return [];
  if (kind === TIMERS_V8) return deserialize(input.readBytes()) as TimerEntry[];
  if (kind !== TIMERS_PACKED) throw new SectionFormatError(`unknown timer encoding ${kind}`);
  const out: TimerEntry[] = [];
  for (let keys = input.readVarUint(); keys > 0; keys--) {
    const key = r.value();
    for (let n = input.readInt32(); n > 0; n--) {
      const namespace = r.value();
      out.push([key, namespace, r.num()]);
    }
  }
  return out;
}

/** String.prototype.isWellFormed (Node ≥ 20; only in TypeScript's ES2024 lib): no lone surrogates. */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The field names of a plain object whose own enumerable properties are all numbers; else undefined. */
function numberRecordFields(v: unknown): string[] | undefined {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  const fields: string[] = [];
  for (const name in v) {
    // '__proto__' cannot be restored by assignment, so such objects stay as v8 writes them.
    if (name === '__proto__' || !Object.hasOwn(v, name) || typeof (v as Record<string, unknown>)[name] !== 'number') return undefined;
    fields.push(name);
  }
  return fields.length === 0 ? undefined : fields;
}
