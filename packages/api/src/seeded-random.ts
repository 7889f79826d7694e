/**
 * SeededRandom: a small, fast pseudo-random generator whose whole state is one 32-bit word.
 * Generated sources re-seed one instance per record index from (seed, index), so record n is
 * the same no matter which subtask produces it or at which parallelism: determinism without
 * allocating a generator per record. Not for cryptography.
 */
import { ConfigurationError } from '@sluice/common';

const TWO_POW_32 = 4294967296;
const GOLDEN_GAMMA = 0x9e3779b9;
/**
 * The same step as a signed 32-bit integer (equal modulo 2^32). Adding it keeps the state's
 * update in integer arithmetic: adding GOLDEN_GAMMA, above 2^31, is a floating-point addition
 * and a conversion back on every draw's dependency chain.
 */
const STEP = GOLDEN_GAMMA | 0;

/**
 * A 32-bit finalizer (avalanches every input bit into every output bit): the draw SeededRandom
 * returns for a state (see `SeededRandom.word`). Exported for hot loops that inline their draws.
 */
export function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** What SeededRandom adds to its state before each draw. */
export const SEEDED_RANDOM_STEP = STEP;

/** The part of a re-seed that depends on the seed alone. */
function seedMix(seed: number): number {
  return mix32((seed | 0) ^ GOLDEN_GAMMA);
}

/** The state `reseed(seed, index)` leaves, from `seedMix(seed)`. */
function wordAt(mixedSeed: number, index: number): number {
  const lo = index >>> 0;
  const hi = index >= TWO_POW_32 ? Math.floor(index / TWO_POW_32) >>> 0 : 0;
  return mix32(mixedSeed + lo + Math.imul(hi, 0x27d4eb2f)) ^ lo;
}

/**
 * The words (`SeededRandom.word`) that re-seeding for the indices `first, first + stride, …`
 * (`count` of them) gives: `into[k]` is `new SeededRandom().reseed(seed, first + k·stride).word`.
 * For generators that make a burst of records at once: while the indices fit in 31 bits the
 * loop runs on 32-bit integers only, several times faster than a re-seed per record.
 * `first`, `stride` and `count` are non-negative integers, `into` at least `count` long.
 */
export function seededWords(seed: number, first: number, stride: number, count: number, into: Int32Array): void {
  const mixed = seedMix(seed) | 0;
  if (first + stride * count <= 0x7fffffff) {
    // Every index is a non-negative int32, so lo = index and hi = 0 in wordAt, and the sum
    // mixed + lo wraps to the same 32 bits in integer arithmetic as it does in wordAt.
    let index = first | 0;
    for (let k = 0; k < count; k++) {
      into[k] = mix32((mixed + index) | 0) ^ index;
      index = (index + stride) | 0;
    }
    return;
  }
  for (let k = 0; k < count; k++) into[k] = wordAt(mixed, first + k * stride);
}

export class SeededRandom {
  // Initialised to a number so V8 stores it as a number field: declared without a value it would
  // start as undefined, and every draw would then box its new state in a fresh heap object.
  private state = 0;

  constructor(seed = 0) {
    this.state = mix32(seed | 0) | 0;
  }

  /**
   * Re-seeds from (seed, index) in a few integer operations. Indices above 2^32 fold their high
   * word in separately so that distinct indices up to 2^53 give distinct streams in practice.
   */
  reseed(seed: number, index: number): this {
    this.state = wordAt(seedMix(seed), index);
    return this;
  }

  /**
   * The whole state, a signed 32-bit integer. The next draw is `mix32(s)` for
   * `s = (word + SEEDED_RANDOM_STEP) | 0`, then the one after from `s`, and so on. Code whose
   * hot loop makes many draws per record can work on a copy of it (the Nexmark generator does),
   * which keeps every draw inlined and unboxed; the values are those `nextUint32` would give.
   */
  get word(): number {
    return this.state;
  }

  /** Uniform over [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + STEP) | 0;
    return mix32(this.state);
  }

  /** Uniform over [0, 1), with 53 random bits like Math.random. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform integer in [0, bound); `bound` a positive integer up to 2^53. */
  nextInt(bound: number): number {
    if (!(bound > 0) || !Number.isInteger(bound) || bound > Number.MAX_SAFE_INTEGER) {
      throw new ConfigurationError(`SeededRandom.nextInt needs a positive integer bound, got ${bound}`);
    }
    // Multiplying a 32-bit draw keeps small bounds exact and cheap; larger ones need 53 bits.
    if (bound <= TWO_POW_32) return Math.floor((this.nextUint32() * bound) / TWO_POW_32);
    return Math.floor(this.nextFloat() * bound);
  }

  /** Uniform integer in [min, max] (both inclusive). */
  nextIntBetween(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new ConfigurationError(`SeededRandom.nextIntBetween needs integers min <= max, got ${min} and ${max}`);
    }
    return min + this.nextInt(max - min + 1);
  }

  nextBoolean(): boolean {
    return (this.nextUint32() & 1) === 1;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new ConfigurationError('SeededRandom.pick needs a non-empty array');
    return items[this.nextInt(items.length)] as T;
  }
}
