/**
 * The default record format: one tag byte per value, then the value's payload. Tags with the
 * high bit set are small non-negative integers (0..127) carried in the tag itself, which covers
 * most counters, enum codes and array indices in one byte.
 *
 * Objects are written against shapes (their key lists): the first object of a shape on a channel
 * stream carries its keys (OBJECT_DEF) and gets the next shape id on both sides implicitly; later
 * ones write only the id (OBJECT). Past MAX_SHAPES distinct shapes (objects used as dictionaries
 * with data-dependent keys) objects are written with their keys inline (OBJECT_INLINE), so
 * neither side's registry grows without bound.
 */
export const Tag = {
  UNDEFINED: 0,
  NULL: 1,
  FALSE: 2,
  TRUE: 3,
  INT8: 4,
  INT16: 5,
  INT32: 6,
  FLOAT64: 7,
  STRING: 8,
  ARRAY: 9,
  /** varuint keyCount, keyCount strings, then the values; registers the next shape id. */
  OBJECT_DEF: 10,
  /** varuint shape id, then the values in shape order. */
  OBJECT: 11,
  /** varuint keyCount, then key string and value pairs; registers nothing. */
  OBJECT_INLINE: 12,
  /** Decimal text (signed). */
  BIGINT: 13,
  /** float64 epoch millis (NaN for an invalid Date). */
  DATE: 14,
  /** varuint size, then key and value pairs. */
  MAP: 15,
  /** varuint size, then values. */
  SET: 16,
  /** Tags ≥ SMALL_INT carry the integer `tag - SMALL_INT` (0..127). */
  SMALL_INT: 0x80,
} as const;

/** Distinct shapes one channel stream registers before falling back to inline keys. */
export const MAX_SHAPES = 4096;

/** Nesting deeper than this is treated as a cycle (and would overflow the stack anyway). */
export const MAX_DEPTH = 256;
