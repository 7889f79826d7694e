/**
 * Storage of one state (one descriptor) on the heap, split by key group so that a checkpoint can
 * snapshot and a rescale can move whole key groups. Entries live directly in `Map`s — no wrapper
 * object per entry — because a million small values must stay cheap.
 *
 * `KeyedTable` holds state in the default namespace (what user functions see); `NamespacedTable`
 * adds a namespace (a window) and is grouped namespace-first, since there are far fewer live
 * windows than keys and one Map per window costs less than one Map per key.
 */

/** A namespace must be usable as a Map key: windows use their start time. */
export type Namespace = number | string;

export class KeyedTable<V> {
  /** Index = key group − first key group of the range; undefined until the group holds data. */
  private readonly groups: (Map<unknown, V> | undefined)[];

  constructor(readonly name: string, private readonly firstGroup: number, groupCount: number) {
    this.groups = new Array<Map<unknown, V> | undefined>(groupCount).fill(undefined);
  }

  get(groupIndex: number, key: unknown): V | undefined {
    const g = this.groups[groupIndex];
    return g === undefined ? undefined : g.get(key);
  }

  put(groupIndex: number, key: unknown, value: V): void {
    let g = this.groups[groupIndex];
    if (g === undefined) {
      g = new Map();
      this.groups[groupIndex] = g;
    }
    g.set(key, value);
  }

  remove(groupIndex: number, key: unknown): void {
    const g = this.groups[groupIndex];
    if (g !== undefined) g.delete(key);
  }

  /** Number of keys with a value, over all key groups. */
  size(): number {
    let n = 0;
    for (const g of this.groups) if (g !== undefined) n += g.size;
    return n;
  }

  /** The live map of one key group (by group index), undefined when it holds nothing; for checkpoints. */
  rawGroup(groupIndex: number): Map<unknown, V> | undefined {
    const g = this.groups[groupIndex];
    return g === undefined || g.size === 0 ? undefined : g;
  }

  /** Adopts a map restored from a checkpoint as one key group's contents. */
  restoreRaw(groupIndex: number, map: Map<unknown, V>): void {
    this.groups[groupIndex] = map.size === 0 ? undefined : map;
  }
}

export class NamespacedTable<V> {
  private readonly groups: (Map<Namespace, Map<unknown, V>> | undefined)[];

  constructor(readonly name: string, private readonly firstGroup: number, groupCount: number) {
    this.groups = new Array<Map<Namespace, Map<unknown, V>> | undefined>(groupCount).fill(undefined);
  }

  get(groupIndex: number, ns: Namespace, key: unknown): V | undefined {
    const byNs = this.groups[groupIndex]?.get(ns);
    return byNs === undefined ? undefined : byNs.get(key);
  }

  put(groupIndex: number, ns: Namespace, key: unknown, value: V): void {
    let g = this.groups[groupIndex];
    if (g === undefined) {
      g = new Map();
      this.groups[groupIndex] = g;
    }
    let byNs = g.get(ns);
    if (byNs === undefined) {
      byNs = new Map();
      g.set(ns, byNs);
    }
    byNs.set(key, value);
  }

  remove(groupIndex: number, ns: Namespace, key: unknown): void {
    const g = this.groups[groupIndex];
    if (g === undefined) return;
    const byNs = g.get(ns);
    if (byNs === undefined) return;
    byNs.delete(key);
    // Windows come and go; dropping empty namespace maps keeps memory bounded by live windows.
    if (byNs.size === 0) g.delete(ns);
  }

  size(): number {
    let n = 0;
    for (const g of this.groups) if (g !== undefined) for (const byNs of g.values()) n += byNs.size;
    return n;
  }

  /** The live map (namespace → key → value) of one key group, undefined when empty; for checkpoints. */
  rawGroup(groupIndex: number): Map<Namespace, Map<unknown, V>> | undefined {
    const g = this.groups[groupIndex];
    return g === undefined || g.size === 0 ? undefined : g;
  }

  restoreRaw(groupIndex: number, map: Map<Namespace, Map<unknown, V>>): void {
    this.groups[groupIndex] = map.size === 0 ? undefined : map;
  }

  /** Every (group index, namespace, key) that holds a value. */
  forEachKey(visit: (groupIndex: number, ns: Namespace, key: unknown) => void): void {
    this.groups.forEach((g, gi) => {
      if (g !== undefined) for (const [ns, byNs] of g) for (const key of byNs.keys()) visit(gi, ns, key);
    });
  }
}
