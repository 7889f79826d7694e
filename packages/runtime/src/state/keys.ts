/**
 * Keys as Map keys. Primitives are used directly (fast, no allocation). Arrays and objects are
 * replaced by their JSON text — the same text `hashKey` hashes, so the key group of a key and of
 * its normalized form agree and the partitioner and the state backend never disagree.
 */
export function normalizeKey(key: unknown): unknown {
  return (typeof key === 'object' && key !== null) ? JSON.stringify(key) : key;
}
