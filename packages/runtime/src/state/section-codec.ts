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
 * A map or timer list with anything else in it (other key types, strings or objects as values,
 * mixed shapes, class instances) is written whole by v8's serializer, as before. Either way a
 * restore sees what v8 would have restored: numbers as the same doubles (-0 and NaN included),
 * plain objects as plain objects with the same own enumerable properties in the same order.
 *
 * Layout (little-endian; `str` = u32 byte length + UTF-8; `num` = u8 tag + u8 | i32 | f64;
 * `value` = num | u8 tag + str):
 *
 *   u8 2 (format 1 sections are v8 data and start with 0xFF)
 *   u32 tables, each: str name, u8 isMapState, map
 *   u32 namespaced tables, each: str name, u32 namespaces, each: value namespace, map
 *   timers (event), timers (processing)
 *
 *   map:    u8 kind, then V8: u32 length + v8 bytes of the Map
 *                         NUMBERS: u32 n, n × (value key, num)
 *                         RECORDS: u32 n, u16 fields, fields × str, n × (value key, fields × num)
 *   timers: u8 kind, then NONE | V8: u32 length + v8 bytes of [key, namespace, timestamp][]
 *                         | PACKED: u32 keys, each: value key, u32 n, n × (value namespace, num timestamp)
 */
import { deserialize, serialize } from 'node:v8';

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

export type TimerEntry = [key: unknown, namespace: unknown, timestamp: number];

/** A timer as the codec reads it: one of a key's timers, linked to that key's next one. */
export interface TimerLink {
  readonly key: unknown;
  readonly namespace: unknown;
  readonly timestamp: number;
  readonly next: TimerLink | undefined;
}

/** One time domain's timers (TimerQueue): per key group, each key's list of timers. */
export interface TimerSource {
  chainsOfGroup(keyGroup: number): ReadonlyMap<unknown, TimerLink> | undefined;
}

/**
 * A growing byte buffer for sections; one per snapshot so the buffer is reused across key
 * groups. `take()` returns a copy of what was written and starts over.
 */
export class SectionWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get position(): number {
    return this.pos;
  }

  /** Discards what was written after `position` (a shape that did not fit). */
  rewind(position: number): void {
    this.pos = position;
  }

  take(): Uint8Array {
    const out = new Uint8Array(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  str(s: string): void {
    this.reserve(4 + 3 * s.length);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.view.setUint32(this.pos, n, true);
    this.pos += 4 + n;
  }

  /** Overwrites four bytes written earlier (a count known only afterwards). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A number or string with its tag; false (nothing written) for any other value. */
  value(v: unknown): boolean {
    if (typeof v === 'number') {
      this.num(v);
      return true;
    }
    if (typeof v === 'string') {
      this.u8(VALUE_STRING);
      this.str(v);
      return true;
    }
    return false;
  }

  /** A number with its tag: small integers in 1 or 4 bytes, anything else (-0 too) as a float64. */
  num(v: number): void {
    this.reserve(9);
    const p = this.pos;
    const i = v | 0;
    if (i === v && (i !== 0 || 1 / v > 0)) {
      if (i >= 0 && i < 256) {
        this.buf[p] = VALUE_UINT8;
        this.buf[p + 1] = i;
        this.pos = p + 2;
      } else {
        this.buf[p] = VALUE_INT32;
        this.view.setInt32(p + 1, i, true);
        this.pos = p + 5;
      }
    } else {
      this.buf[p] = VALUE_NUMBER;
      this.view.setFloat64(p + 1, v, true);
      this.pos = p + 9;
    }
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

export class SectionReader {
  private readonly buf: Buffer;
  private readonly view: DataView;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  value(): number | string {
    const tag = this.u8();
    switch (tag) {
      case VALUE_UINT8:
        return this.u8();
      case VALUE_INT32: {
        this.need(4);
        const v = this.view.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case VALUE_NUMBER:
        return this.f64();
      case VALUE_STRING:
        return this.str();
      default:
        throw new SectionFormatError(`unknown value tag ${tag} at byte ${this.pos - 1}`);
    }
  }

  num(): number {
    const v = this.value();
    if (typeof v !== 'number') throw new SectionFormatError(`a number was expected before byte ${this.pos}, found a string`);
    return v;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new SectionFormatError(`section ends at byte ${this.buf.length}, ${n} more bytes expected at byte ${this.pos}`);
  }
}

export class SectionFormatError extends Error {
  override name = 'SectionFormatError';
}

/** Writes a map's entries packed when their shape allows, else as v8 data. */
export function writeMap(w: SectionWriter, map: Map<unknown, unknown>): void {
  const start = w.position;
  if (!writePacked(w, map)) {
    w.rewind(start);
    w.u8(MAP_V8);
    w.bytes(serialize(map));
  }
}

function writePacked(w: SectionWriter, map: Map<unknown, unknown>): boolean {
  let first: unknown;
  for (const v of map.values()) {
    first = v;
    break;
  }
  if (typeof first === 'number') {
    w.u8(MAP_NUMBERS);
    w.u32(map.size);
    for (const [k, v] of map) {
      if (typeof v !== 'number' || !w.value(k)) return false;
      w.num(v);
    }
    return true;
  }
  const fields = numberRecordFields(first);
  if (fields === undefined) return false;
  const width = fields.length;
  w.u8(MAP_RECORDS);
  w.u32(map.size);
  w.u16(width);
  for (const f of fields) w.str(f);
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
  const kind = r.u8();
  if (kind === MAP_V8) return deserialize(r.bytes()) as Map<unknown, unknown>;
  if (kind !== MAP_NUMBERS && kind !== MAP_RECORDS) throw new SectionFormatError(`unknown map encoding ${kind}`);
  const out = new Map<unknown, unknown>();
  const n = r.u32();
  if (kind === MAP_NUMBERS) {
    for (let i = 0; i < n; i++) {
      const k = r.value();
      out.set(k, r.num());
    }
    return out;
  }
  const width = r.u16();
  const fields: string[] = [];
  for (let f = 0; f < width; f++) fields.push(r.str());
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
    w.u8(TIMERS_NONE);
    return false;
  }
  const start = w.position;
  if (!writePackedTimers(w, chains)) {
    w.rewind(start);
    const entries: TimerEntry[] = [];
    for (const head of chains.values()) for (let t: TimerLink | undefined = head; t !== undefined; t = t.next) entries.push([t.key, t.namespace, t.timestamp]);
    w.u8(TIMERS_V8);
    w.bytes(serialize(entries));
  }
  return true;
}

/** Per key: the key once (its first timer's), the count, then each timer's namespace and timestamp. */
function writePackedTimers(w: SectionWriter, chains: ReadonlyMap<unknown, TimerLink>): boolean {
  w.u8(TIMERS_PACKED);
  w.u32(chains.size);
  for (const head of chains.values()) {
    if (!w.value(head.key)) return false;
    const countAt = w.position;
    w.u32(0);
    let n = 0;
    for (let t: TimerLink | undefined = head; t !== undefined; t = t.next) {
      if (!w.value(t.namespace)) return false;
      w.num(t.timestamp);
      n++;
    }
    w.patchU32(countAt, n);
  }
  return true;
}

export function readTimers(r: SectionReader): TimerEntry[] {
  const kind = r.u8();
  if (kind === TIMERS_NONE) return [];
  if (kind === TIMERS_V8) return deserialize(r.bytes()) as TimerEntry[];
  if (kind !== TIMERS_PACKED) throw new SectionFormatError(`unknown timer encoding ${kind}`);
  const out: TimerEntry[] = [];
  for (let keys = r.u32(); keys > 0; keys--) {
    const key = r.value();
    for (let n = r.u32(); n > 0; n--) {
      const namespace = r.value();
      out.push([key, namespace, r.num()]);
    }
  }
  return out;
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
  return fields.length === 0 || fields.length > 0xffff ? undefined : fields;
}
