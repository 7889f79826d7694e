/**
 * Key groups: the unit of keyed state and of rescaling. A key's group is
 * `murmur3_32(keyBytes) % maxParallelism`; subtask `i` of `p` owns the contiguous range
 * [ceil(i·maxP/p), ceil((i+1)·maxP/p) − 1], and a group `g` maps to subtask `⌊g·p/maxP⌋`.
 * These are the same formulas Flink uses, so a key group range reassigns cleanly on rescale.
 */

const encoder = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

/** MurmurHash3 x86 32-bit over `len` bytes of `data`. */
export function murmur3(data: Uint8Array, len = data.length, seed = 0): number {
  let h = seed >>> 0;
  const nblocks = len >>> 2;
  let i = 0;
  for (let b = 0; b < nblocks; b++, i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = len & 3;
  if (tail !== 0) {
    let k1 = 0;
    if (tail === 3) k1 ^= data[i + 2]! << 16;
    if (tail >= 2) k1 ^= data[i + 1]! << 8;
    k1 ^= data[i]!;
    k1 = Math.imul(k1, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, 0x1b873593);
    h ^= k1;
  }
  return finalMix(h, len);
}

/** murmur3's finalisation: the length folded in, then every bit avalanched. */
function finalMix(hash: number, len: number): number {
  let h = hash ^ len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3 of `v`'s 4 little-endian bytes (seed 0): the block loop unrolled for keyed ints. */
function murmur3Int32(v: number): number {
  let k = Math.imul(v, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = (k << 13) | (k >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  return finalMix(h, 4);
}

let stringBuf = new Uint8Array(256);

/**
 * Hash of a key's canonical bytes. Strings hash their UTF-8 bytes; integral numbers in the
 * int32 range hash 4 little-endian bytes, other numbers 8 bytes of float64; booleans one byte;
 * bigints their decimal text; anything else (arrays, objects) its JSON text.
 */
export function hashKey(key: unknown): number {
  switch (typeof key) {
    case 'string': {
      // ASCII fast path avoids TextEncoder for the common case of short ids.
      const n = key.length;
      if (stringBuf.length < n * 3) stringBuf = new Uint8Array(n * 3);
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = key.charCodeAt(i);
        if (c > 0x7f) {
          ascii = false;
          break;
        }
        stringBuf[i] = c;
      }
      if (ascii) return murmur3(stringBuf, n);
      const written = encoder.encodeInto(key, stringBuf).written;
      return murmur3(stringBuf, written);
    }
    case 'number':
      if (Number.isInteger(key) && key >= -2147483648 && key <= 2147483647) return murmur3Int32(key);
      scratch.setFloat64(0, key, true);
      return murmur3(scratchBytes, 8);
    case 'boolean':
      scratchBytes[0] = key ? 1 : 0;
      return murmur3(scratchBytes, 1);
    case 'bigint':
      return hashKey(`${key}n`);
    case 'undefined':
      return murmur3(scratchBytes, 0);
    default:
      return hashKey(JSON.stringify(key));
  }
}

export function keyGroupFor(key: unknown, maxParallelism: number): number {
  return hashKey(key) % maxParallelism;
}

/** The subtask index that owns key group `keyGroup`. */
export function operatorIndexForKeyGroup(keyGroup: number, maxParallelism: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

export interface KeyGroupRange {
  /** First key group, inclusive. */
  readonly start: number;
  /** Last key group, inclusive; `end < start` means empty. */
  readonly end: number;
}

/** The contiguous key-group range owned by subtask `index` of `parallelism`. */
export function keyGroupRangeFor(maxParallelism: number, parallelism: number, index: number): KeyGroupRange {
  const start = Math.ceil((index * maxParallelism) / parallelism);
  const end = Math.ceil(((index + 1) * maxParallelism) / parallelism) - 1;
  return { start, end };
}

export function keyGroupRangeContains(range: KeyGroupRange, keyGroup: number): boolean {
  return keyGroup >= range.start && keyGroup <= range.end;
}

/** Flink's default max parallelism rule: 1.5 × parallelism rounded up to a power of two, within [128, 32768]. */
export function defaultMaxParallelism(parallelism: number): number {
  const target = Math.ceil(parallelism * 1.5);
  let p = 1;
  while (p < target) p *= 2;
  return Math.min(Math.max(p, 128), 32768);
}
