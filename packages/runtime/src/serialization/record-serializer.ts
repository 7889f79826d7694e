/**
 * The runtime's default record serializer for plain data: plain objects (own enumerable string
 * keys, order kept), arrays, strings, numbers (exact, including NaN, −0 and ±Infinity; small
 * integers in one byte), booleans, null, undefined (also as a field value), bigint, Date, Map
 * and Set, nested arbitrarily (no cycles). Anything else fails with UNSERIALIZABLE_RECORD.
 *
 * An instance is stateful and belongs to one side of one channel: the writer registers object
 * shapes as it meets them and the reader mirrors the registrations in stream order. So use one
 * instance per channel per side (`createRecordSerializer()` in each channel's factory call).
 * When `serialize` throws (an unsupported value, or the batch is full) it forgets the shapes the
 * failed record registered; the caller discards the record's bytes.
 */
import type { TypeSerializer } from '@sluice/api';
import { SluiceError } from '@sluice/common';
import { BufferDataInput } from './data-input.js';
import { BufferDataOutput } from './data-output.js';
import type { WriteField } from './object-writers.js';
import { ReaderShapeRegistry, WriterShapeRegistry, type WriterShape } from './shapes.js';
import { MAX_DEPTH, Tag } from './value-tags.js';

/** Internal: an unsupported value, with the path to it collected while unwinding. */
class Unserializable {
  /** Keys, indices, and (as one-element arrays) labels such as "map value 3". */
  readonly path: (string | number | [string])[] = [];
  constructor(readonly what: string) {}
}

export class RecordSerializer implements TypeSerializer<unknown> {
  private readonly writerShapes = new WriterShapeRegistry();
  private readonly readerShapes = new ReaderShapeRegistry();
  /** Predicted shape of the next top-level record (or of its elements, for arrays). */
  private topHint: WriterShape | undefined;
  private input: BufferDataInput | undefined;

  serialize(value: unknown, out: BufferDataOutput): void {
    const mark = this.writerShapes.size;
    try {
      const h = this.writeValue(value, out, 0, this.topHint);
      if (h !== undefined) this.topHint = h;
    } catch (err) {
      this.writerShapes.rewind(mark);
      if (err instanceof Unserializable) throw unserializableError(err);
      throw err;
    }
  }

  deserialize(input: BufferDataInput): unknown {
    this.input = input;
    return this.readValue(input, 0);
  }

  /** @internal ValueSource for shape builders: the next value of the record being read. */
  next(): unknown {
    return this.readValue(this.input!, 0);
  }

  /** Shapes registered so far on the writing side (for tests and diagnostics). */
  get writtenShapeCount(): number {
    return this.writerShapes.size;
  }

  /**
   * Writes `v`; returns the shape it used when `v` is an object, or the last element's shape
   * when `v` is an array of objects, so the caller can predict the next value at this place.
   */
  private writeValue(v: unknown, out: BufferDataOutput, depth: number, hint: WriterShape | undefined): WriterShape | undefined {
    switch (typeof v) {
      case 'string':
        out.writeUint8(Tag.STRING);
        out.writeString(v);
        return undefined;
      case 'number':
        writeNumber(v, out);
        return undefined;
      case 'boolean':
        out.writeUint8(v ? Tag.TRUE : Tag.FALSE);
        return undefined;
      case 'undefined':
        out.writeUint8(Tag.UNDEFINED);
        return undefined;
      case 'object':
        if (v === null) {
          out.writeUint8(Tag.NULL);
          return undefined;
        }
        if (depth >= MAX_DEPTH) throw new Unserializable(`nested deeper than ${MAX_DEPTH} levels (is there a cycle?)`);
        return this.writeObjectLike(v, out, depth, hint);
      case 'bigint':
        out.writeUint8(Tag.BIGINT);
        out.writeString(v.toString());
        return undefined;
      case 'function':
        throw new Unserializable(`a function${v.name === '' ? '' : ` (${v.name})`}`);
      default:
        throw new Unserializable(`a ${typeof v}`);
    }
  }

  private writeObjectLike(v: object, out: BufferDataOutput, depth: number, hint: WriterShape | undefined): WriterShape | undefined {
    // The usual record: a plain object of the predicted shape, written by its compiled writer
    // (which checks the prototype and keys itself). On a miss, the general path without the hint.
    // (An array's hint is its elements' shape: for…in over an array would only collect indices.)
    let tried = false;
    if (hint !== undefined && !hint.dead && !Array.isArray(v)) {
      const writer = hint.writer ?? hint.compileWriter();
      if (writer !== undefined) {
        if (writer(v as Record<string, unknown>, hint.id, out, depth, hint, this.writeField)) return hint;
        tried = true;
      }
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return this.writeObject(v as Record<string, unknown>, out, depth, tried ? undefined : hint);
    if (proto === Array.prototype) return this.writeArray(v as unknown[], out, depth, hint);
    if (proto === Date.prototype) {
      out.writeUint8(Tag.DATE);
      out.writeFloat64((v as Date).getTime());
      return undefined;
    }
    if (proto === Map.prototype) {
      out.writeUint8(Tag.MAP);
      out.writeVarUint((v as Map<unknown, unknown>).size);
      let i = 0;
      for (const [k, x] of v as Map<unknown, unknown>) {
        this.writeChild(k, out, depth, [`map key ${i}`]);
        this.writeChild(x, out, depth, [`map value ${i}`]);
        i++;
      }
      return undefined;
    }
    if (proto === Set.prototype) {
      out.writeUint8(Tag.SET);
      out.writeVarUint((v as Set<unknown>).size);
      let i = 0;
      for (const x of v as Set<unknown>) this.writeChild(x, out, depth, [`set element ${i++}`]);
      return undefined;
    }
    const ctor = (v as { constructor?: { name?: unknown } }).constructor;
    const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'an anonymous class';
    throw new Unserializable(`an instance of ${name}`);
  }

  private writeChild(v: unknown, out: BufferDataOutput, depth: number, segment: string | [string]): void {
    try {
      this.writeValue(v, out, depth + 1, undefined);
    } catch (err) {
      if (err instanceof Unserializable) err.path.unshift(segment);
      throw err;
    }
  }

  private writeObject(o: Record<string, unknown>, out: BufferDataOutput, depth: number, hint: WriterShape | undefined): WriterShape | undefined {
    let shape: WriterShape;
    if (hint !== undefined && !hint.dead) {
      // Speculate that `o` has the predicted shape and check its keys while writing its
      // values (one for…in pass); on a mismatch, undo the bytes and any shapes registered by
      // nested values, and take the general path.
      const start = out.pos;
      const mark = this.writerShapes.size;
      out.writeUint8(Tag.OBJECT);
      out.writeVarUint(hint.id);
      if (this.writeFieldsForIn(o, hint, out, depth)) return hint;
      out.pos = start;
      this.writerShapes.rewind(mark);
    }
    {
      const keys = Object.keys(o);
      const found = this.writerShapes.lookup(keys);
      if (found === undefined) {
        this.writeInlineObject(o, keys, out, depth);
        return undefined;
      }
      shape = found.shape;
      if (found.created) {
        out.writeUint8(Tag.OBJECT_DEF);
        out.writeVarUint(keys.length);
        for (let i = 0; i < keys.length; i++) out.writeString(keys[i]!);
      } else {
        out.writeUint8(Tag.OBJECT);
        out.writeVarUint(shape.id);
      }
      this.writeFieldsByKey(o, shape, out, depth);
    }
    return shape;
  }

  /** For compiled object writers: field `i` of `shape`, by the general path, keeping its hint. */
  private readonly writeField: WriteField<WriterShape> = (x, out, depth, shape, i) => {
    try {
      const h = this.writeValue(x, out, depth + 1, shape.hints[i]);
      if (h !== undefined && h !== shape.hints[i]) shape.hints[i] = h;
    } catch (err) {
      if (err instanceof Unserializable) err.path.unshift(shape.keys[i]!);
      throw err;
    }
  };

  /**
   * Field values of `o` in for…in order, as long as its keys are exactly the shape's; returns
   * false at the first difference (the caller discards what was written). for…in rather than
   * `o[keys[i]]`: V8 serves `o[k]` inside a for…in over `o` from the enum cache, while loads by
   * a varying key go megamorphic. (for…in also yields inherited enumerable keys; plain objects
   * have none unless Object.prototype was polluted, which then only ever mismatches.)
   */
  private writeFieldsForIn(o: Record<string, unknown>, shape: WriterShape, out: BufferDataOutput, depth: number): boolean {
    const keys = shape.keys;
    const hints = shape.hints;
    const n = keys.length;
    let i = 0;
    try {
      for (const k in o) {
        if (i >= n || keys[i] !== k) return false;
        const x = o[k];
        if (typeof x === 'number') writeNumber(x, out);
        else {
          const h = this.writeValue(x, out, depth + 1, hints[i]);
          if (h !== undefined && h !== hints[i]) hints[i] = h;
        }
        i++;
      }
    } catch (err) {
      if (err instanceof Unserializable) err.path.unshift(keys[i]!);
      throw err;
    }
    return i === n;
  }

  /** Field values of `o` by the shape's key list (first object of a shape, or a polluted prototype). */
  private writeFieldsByKey(o: Record<string, unknown>, shape: WriterShape, out: BufferDataOutput, depth: number): void {
    const keys = shape.keys;
    const hints = shape.hints;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      try {
        const h = this.writeValue(o[k], out, depth + 1, hints[i]);
        if (h !== undefined && h !== hints[i]) hints[i] = h;
      } catch (err) {
        if (err instanceof Unserializable) err.path.unshift(k);
        throw err;
      }
    }
  }

  private writeInlineObject(o: Record<string, unknown>, keys: string[], out: BufferDataOutput, depth: number): void {
    out.writeUint8(Tag.OBJECT_INLINE);
    out.writeVarUint(keys.length);
    for (const k of keys) {
      out.writeString(k);
      this.writeChild(o[k], out, depth, k);
    }
  }

  private writeArray(a: unknown[], out: BufferDataOutput, depth: number, hint: WriterShape | undefined): WriterShape | undefined {
    out.writeUint8(Tag.ARRAY);
    const n = a.length;
    out.writeVarUint(n);
    let h = hint;
    let i = 0;
    try {
      // Holes read as undefined.
      for (; i < n; i++) {
        const s = this.writeValue(a[i], out, depth + 1, h);
        if (s !== undefined) h = s;
      }
    } catch (err) {
      if (err instanceof Unserializable) err.path.unshift(i);
      throw err;
    }
    return h;
  }

  private readValue(input: BufferDataInput, depth: number): unknown {
    const t = input.readUint8();
    if (t >= Tag.SMALL_INT) return t - Tag.SMALL_INT;
    switch (t) {
      case Tag.STRING:
        return input.readString();
      case Tag.OBJECT: {
        const id = input.readVarUint();
        const shape = this.readerShapes.get(id);
        if (shape === undefined) throw corrupt(`object shape ${id} was never defined on this channel (${this.readerShapes.size} known)`);
        return shape.build(this);
      }
      case Tag.OBJECT_DEF: {
        const n = input.readVarUint();
        const keys = new Array<string>(n);
        for (let i = 0; i < n; i++) keys[i] = input.readString();
        return this.readerShapes.define(keys).build(this);
      }
      case Tag.FLOAT64:
        return input.readFloat64();
      case Tag.INT32:
        return input.readInt32();
      case Tag.INT16:
        return input.readInt16();
      case Tag.INT8:
        return input.readInt8();
      case Tag.TRUE:
        return true;
      case Tag.FALSE:
        return false;
      case Tag.NULL:
        return null;
      case Tag.UNDEFINED:
        return undefined;
      case Tag.ARRAY: {
        const n = input.readVarUint();
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.readValue(input, depth + 1);
        return a;
      }
      case Tag.OBJECT_INLINE: {
        const n = input.readVarUint();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = input.readString();
          Object.defineProperty(o, k, { value: this.readValue(input, depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
      case Tag.BIGINT:
        return BigInt(input.readString());
      case Tag.DATE:
        return new Date(input.readFloat64());
      case Tag.MAP: {
        const n = input.readVarUint();
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) {
          const k = this.readValue(input, depth + 1);
          m.set(k, this.readValue(input, depth + 1));
        }
        return m;
      }
      case Tag.SET: {
        const n = input.readVarUint();
        const s = new Set<unknown>();
        for (let i = 0; i < n; i++) s.add(this.readValue(input, depth + 1));
        return s;
      }
      default:
        throw corrupt(`unknown value tag ${t} at offset ${input.pos - 1}`);
    }
  }
}

function writeNumber(v: number, out: BufferDataOutput): void {
  // (v | 0) === v holds for int32 values, and for −0, which must stay a float to survive.
  if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
    if (v >= 0 && v < 0x80) out.writeUint8(Tag.SMALL_INT + v);
    else if (v >= -0x80 && v < 0x80) out.writeUint8Int(Tag.INT8, v, 1);
    else if (v >= -0x8000 && v < 0x8000) out.writeUint8Int(Tag.INT16, v, 2);
    else out.writeUint8Int(Tag.INT32, v, 4);
    return;
  }
  out.writeUint8Float64(Tag.FLOAT64, v);
}

function unserializableError(u: Unserializable): SluiceError {
  let where = 'the record';
  if (u.path.length > 0) {
    let p = '';
    for (const s of u.path) {
      if (typeof s === 'number') p += `[${s}]`;
      else if (typeof s !== 'string') p += `<${s[0]}>`;
      else if (/^[A-Za-z_$][\w$]*$/.test(s)) p += p === '' ? s : `.${s}`;
      else p += `[${JSON.stringify(s)}]`;
    }
    where = `field ${p} of the record`;
  }
  return new SluiceError(
    'UNSERIALIZABLE_RECORD',
    `cannot serialize record: ${where} is ${u.what}, which the default serializer does not support ` +
      '(it handles plain objects, arrays, strings, numbers, booleans, null, undefined, bigint, Date, Map and Set). ' +
      'Convert it to plain data first, or use .withSerializer() on the stream to provide a TypeSerializer for this type.',
  );
}

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_BATCH', `cannot deserialize record: ${message}; the writing side used a different serializer or the batch is damaged`);
}

/** A fresh default serializer: call once per channel and side. */
export function createRecordSerializer(): RecordSerializer {
  return new RecordSerializer();
}
