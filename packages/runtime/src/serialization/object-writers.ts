/**
 * Per-shape object writers for the default serializer's predicted path: one small function per
 * key list, compiled once per thread, that checks an object's prototype and keys and then writes
 * its shape id and values.
 *
 * Why compile: the generic path reads values inside a `for…in` (`o[k]`), which V8 serves by
 * field index and which copies every double field (a record's timestamps) into a fresh heap
 * number; and it asks Object.getPrototypeOf of an object V8 knows nothing about, which is a call
 * into the runtime. A compiled writer checks the keys with a bare `for…in`, then reads each field
 * by its name (`o["price"]`): a monomorphic load that keeps a double unboxed all the way to the
 * bytes, and after which V8 knows the hidden class and so the prototype. Numbers are written with
 * the position in a local; anything else goes back to the serializer's general writer for that
 * one field. A five-number record took 78 ns on the generic path and takes 37 here.
 *
 * Keys enter the generated source only as JSON string literals. Where code generation is
 * disallowed (`--disallow-code-generation-from-strings`) there is no compiled writer and the
 * serializer keeps its generic `for…in` path; both write the same bytes.
 */
import { compileFunction } from '../codegen.js';
import type { BufferDataOutput } from './data-output.js';
import { Tag } from './value-tags.js';

/** The most bytes one number takes: a tag and a float64. */
const NUMBER_MAX_BYTES = 9;

/**
 * Source that writes the number in `x` at `p` of `b` (its view `dv`) and advances `p`, where at
 * least NUMBER_MAX_BYTES are free: the default format's encoding (see writeNumber), spelled out
 * so that every field's write is straight-line code in its writer, whatever V8's inlining budget.
 */
const PUT_NUMBER =
  `if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
      if (x >= 0 && x < 0x80) b[p++] = ${Tag.SMALL_INT} + x;
      else if (x >= -0x80 && x < 0x80) { b[p] = ${Tag.INT8}; b[p + 1] = x; p += 2; }
      else if (x >= -0x8000 && x < 0x8000) { b[p] = ${Tag.INT16}; b[p + 1] = x; b[p + 2] = x >> 8; p += 3; }
      else { b[p] = ${Tag.INT32}; b[p + 1] = x; b[p + 2] = x >> 8; b[p + 3] = x >> 16; b[p + 4] = x >> 24; p += 5; }
    } else { b[p] = ${Tag.FLOAT64}; dv.setFloat64(p + 1, x, true); p += 9; }`;

/** Shapes with more fields keep the generic path (their writer's code would grow without bound). */
const MAX_COMPILED_FIELDS = 32;

/** Writes field `index` of a shape by the general path (a value that is not a number, or one that needs room). */
export type WriteField<S> = (value: unknown, out: BufferDataOutput, depth: number, shape: S, index: number) => void;

/**
 * Writes `o` as an object of shape `id` (tag OBJECT, the id, the values) when it is a plain
 * object (prototype Object.prototype or null) whose own enumerable keys are exactly the
 * writer's, in order; returns false without writing otherwise.
 */
export type ObjectWriter<S> = (o: Record<string, unknown>, id: number, out: BufferDataOutput, depth: number, shape: S, writeField: WriteField<S>) => boolean;

function compile<S>(keys: readonly string[]): ObjectWriter<S> | undefined {
  const n = keys.length;
  // After each field handed to writeField the output may have grown: reload what is cached.
  const reload = `b = out.bytes; dv = out.view; last = out.limit - ${NUMBER_MAX_BYTES};`;
  let fields = '';
  for (let i = 0; i < n; i++) {
    // The first field is loaded before the prototype check (see below).
    fields += `${i === 0 ? '' : `
  x = o[${JSON.stringify(keys[i])}];`}
  if (typeof x === "number" && p <= last) {
    ${PUT_NUMBER}
  } else { out.pos = p; writeField(x, out, depth, shape, ${i}); p = out.pos; ${reload} }`;
  }
  const source = `return function writeObject(o, id, out, depth, shape, writeField) {
  let i = 0;
  for (const k in o) { if (i >= ${n} || keys[i] !== k) return false; i++; }
  if (i !== ${n}) return false;
  // Loading a field first lets V8 check the object's hidden class here and read the prototype
  // off it; asked cold, Object.getPrototypeOf calls into the runtime. An object refused below
  // (a class instance or an array with these keys) has had this one field read for nothing.
  let x = ${n === 0 ? 'undefined' : `o[${JSON.stringify(keys[0])}]`};
  const proto = getPrototypeOf(o);
  if (proto !== OBJECT_PROTOTYPE && proto !== null) return false;
  let p = out.pos, b = out.bytes, dv = out.view, last = out.limit - ${NUMBER_MAX_BYTES};
  if (id < 0x80 && p <= last) { b[p] = ${Tag.OBJECT}; b[p + 1] = id; p += 2; }
  else { out.writeUint8(${Tag.OBJECT}); out.writeVarUint(id); p = out.pos; ${reload} }${fields}
  out.pos = p;
  return true;
};`;
  return compileFunction<ObjectWriter<S>>(['keys', 'getPrototypeOf', 'OBJECT_PROTOTYPE'], source, [keys.slice(), Object.getPrototypeOf, Object.prototype]);
}

// Shared by every serializer in the thread: one compiled writer per key list, so its property
// loads see the objects of that shape from every channel.
const writerCache = new Map<string, unknown>();
const WRITER_CACHE_LIMIT = 4096;

/**
 * The compiled writer for `keys` (`cacheKey` is their JSON), or undefined without code
 * generation, for shapes of more than MAX_COMPILED_FIELDS keys, and past the thread's budget.
 */
export function objectWriterFor<S>(keys: readonly string[], cacheKey: string): ObjectWriter<S> | undefined {
  if (keys.length > MAX_COMPILED_FIELDS) return undefined;
  const cached = writerCache.get(cacheKey);
  if (cached !== undefined) return cached as ObjectWriter<S>;
  if (writerCache.size >= WRITER_CACHE_LIMIT) return undefined;
  const w = compile<S>(keys);
  if (w !== undefined) writerCache.set(cacheKey, w);
  return w;
}
