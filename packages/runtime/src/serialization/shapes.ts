/**
 * Object shapes (ordered key lists) for the default serializer: the writer's registry, which
 * finds an object's shape id, and the reader's, which builds objects of one hidden class per
 * shape.
 *
 * Writing: the usual stream is millions of objects of a few shapes, so before any lookup the
 * writer predicts the shape (the last one seen at the same place in the record) and checks the
 * keys while writing the values in one `for…in` pass — V8 serves that from the object's enum
 * cache without allocating. A shape that recurs gets a compiled writer (object-writers.ts) that
 * does the same faster. Only a miss pays for `Object.keys` and a Map lookup.
 *
 * Reading: each shape compiles to a small function returning an object literal, so every
 * decoded object of a shape gets the literal's hidden class and property stores are in-object.
 */
import { compileFunction } from '../codegen.js';
import { objectWriterFor, type ObjectWriter } from './object-writers.js';
import { MAX_SHAPES } from './value-tags.js';

/** Predicted writes of a shape before it gets a compiled object writer (most shapes never recur). */
export const COMPILE_AFTER_USES = 16;

export class WriterShape {
  /** Per field: the shape last written for that field (or for its array's elements). */
  readonly hints: (WriterShape | undefined)[];
  /** Set when a rewind dropped this shape; predictions pointing at it must not be used. */
  dead = false;
  /** The compiled writer, once the shape has recurred (see object-writers.ts). */
  writer: ObjectWriter<WriterShape> | undefined = undefined;
  private uses = 0;

  constructor(
    readonly id: number,
    readonly keys: readonly string[],
    /** The registry's key for this shape (its keys as JSON). */
    readonly keysJson: string,
  ) {
    this.hints = new Array<WriterShape | undefined>(keys.length).fill(undefined);
  }

  /** Counts a predicted write; returns the compiled writer once the shape has recurred enough. */
  compileWriter(): ObjectWriter<WriterShape> | undefined {
    if (++this.uses < COMPILE_AFTER_USES) return undefined;
    this.writer = objectWriterFor<WriterShape>(this.keys, this.keysJson);
    // None (no code generation, a wide shape, the thread's budget spent): never count again.
    if (this.writer === undefined) this.uses = -Infinity;
    return this.writer;
  }
}

export class WriterShapeRegistry {
  private readonly byKeys = new Map<string, WriterShape>();
  private readonly list: WriterShape[] = [];

  get size(): number {
    return this.list.length;
  }

  /**
   * The registered shape for `keys`, or a new one (`created` true: its definition must be
   * written), or undefined when the registry is full (write the keys inline).
   */
  lookup(keys: readonly string[]): { shape: WriterShape; created: boolean } | undefined {
    const id = JSON.stringify(keys);
    const found = this.byKeys.get(id);
    if (found !== undefined) return { shape: found, created: false };
    if (this.list.length >= MAX_SHAPES) return undefined;
    const shape = new WriterShape(this.list.length, keys, id);
    this.list.push(shape);
    this.byKeys.set(id, shape);
    return { shape, created: true };
  }

  /** Shapes registered after `mark` were written into bytes that are being discarded. */
  rewind(mark: number): void {
    while (this.list.length > mark) {
      const s = this.list.pop()!;
      s.dead = true;
      this.byKeys.delete(s.keysJson);
    }
  }
}

/** Reads the next value of the record being decoded. */
export interface ValueSource {
  next(): unknown;
}

export type ObjectBuilder = (source: ValueSource) => Record<string, unknown>;

export interface ReaderShape {
  readonly keys: readonly string[];
  readonly build: ObjectBuilder;
}

/** A builder for `keys`: an object literal when code generation is allowed, stores otherwise. */
export function compileBuilder(keys: readonly string[]): ObjectBuilder {
  // `__proto__: v` in a literal would set the prototype; a computed key defines a property.
  const props = keys.map((k) => (k === '__proto__' ? '["__proto__"]: r.next()' : `${JSON.stringify(k)}: r.next()`)).join(',\n');
  const compiled = compileFunction<ObjectBuilder>([], `return function build(r) {\nreturn {\n${props}\n};\n};`, []);
  if (compiled !== undefined) return compiled;
  return (r) => {
    const o: Record<string, unknown> = {};
    for (const k of keys) Object.defineProperty(o, k, { value: r.next(), enumerable: true, writable: true, configurable: true });
    return o;
  };
}

// Builders are shared by every reader in the thread: objects of one shape then have one hidden
// class whichever channel they came from, which keeps downstream operators monomorphic.
const builderCache = new Map<string, ObjectBuilder>();
const BUILDER_CACHE_LIMIT = 16384;

function cachedBuilder(keys: readonly string[]): ObjectBuilder {
  const id = JSON.stringify(keys);
  let b = builderCache.get(id);
  if (b === undefined) {
    b = compileBuilder(keys);
    if (builderCache.size < BUILDER_CACHE_LIMIT) builderCache.set(id, b);
  }
  return b;
}

export class ReaderShapeRegistry {
  private readonly list: ReaderShape[] = [];

  define(keys: readonly string[]): ReaderShape {
    const shape = { keys, build: cachedBuilder(keys) };
    this.list.push(shape);
    return shape;
  }

  get(id: number): ReaderShape | undefined {
    return this.list[id];
  }

  get size(): number {
    return this.list.length;
  }
}
