/**
 * The user-facing state handles (api/state.ts). A handle is created once per descriptor in
 * `open()` and reads the backend's current key on every call, so processing a record allocates
 * nothing here beyond what the state kind itself needs (a list's first array, a map's Map).
 */
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from '@sluice/api';
import type { KeyedTable } from './state-table.js';
import { normalizeKey } from './keys.js';

/** What a handle needs from the backend: where the current key lives. */
export interface CurrentKey {
  /** Key group index within the subtask's range; −1 while no key is set. */
  readonly groupIndex: number;
  readonly normalizedKey: unknown;
  /** Throws when no key is set; handles call it only on the slow path. */
  requireKey(): void;
}

const EMPTY: readonly never[] = Object.freeze([]);

export class HeapValueState<T> implements ValueState<T> {
  constructor(private readonly cur: CurrentKey, private readonly table: KeyedTable<T>, private readonly defaultValue: T | undefined) {}
  value(): T | undefined {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const v = this.table.get(gi, this.cur.normalizedKey);
    return v === undefined ? this.defaultValue : v;
  }
  update(value: T): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    // Flink semantics: updating to undefined (null in Java) clears the state.
    if (value === undefined) this.table.remove(gi, this.cur.normalizedKey);
    else this.table.put(gi, this.cur.normalizedKey, value);
  }
  clear(): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    this.table.remove(gi, this.cur.normalizedKey);
  }
}

export class HeapListState<T> implements ListState<T> {
  constructor(private readonly cur: CurrentKey, private readonly table: KeyedTable<T[]>) {}
  get(): readonly T[] {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    return this.table.get(gi, this.cur.normalizedKey) ?? EMPTY;
  }
  add(value: T): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const list = this.table.get(gi, this.cur.normalizedKey);
    if (list === undefined) this.table.put(gi, this.cur.normalizedKey, [value]);
    else list.push(value);
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const list = this.table.get(gi, this.cur.normalizedKey);
    if (list === undefined) this.table.put(gi, this.cur.normalizedKey, values.slice());
    else for (const v of values) list.push(v);
  }
  update(values: readonly T[]): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    // Copy: the caller keeps ownership of its array and may change it afterwards.
    if (values.length === 0) this.table.remove(gi, this.cur.normalizedKey);
    else this.table.put(gi, this.cur.normalizedKey, values.slice());
  }
  clear(): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    this.table.remove(gi, this.cur.normalizedKey);
  }
}

/**
 * A map state's entries. Primitive user keys are Map keys as they are; object keys are compared
 * by their JSON text, and `originals` remembers the object so iteration returns what was put.
 */
export class UserKeyMap<UK, UV> extends Map<unknown, UV> {
  originals: Map<string, UK> | undefined = undefined;
}

export class HeapMapState<UK, UV> implements MapState<UK, UV> {
  constructor(private readonly cur: CurrentKey, private readonly table: KeyedTable<UserKeyMap<UK, UV>>) {}

  private current(): UserKeyMap<UK, UV> | undefined {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    return this.table.get(gi, this.cur.normalizedKey);
  }

  get(key: UK): UV | undefined {
    return this.current()?.get(normalizeKey(key));
  }
  put(key: UK, value: UV): void {
    let m = this.current();
    if (m === undefined) {
      m = new UserKeyMap<UK, UV>();
      this.table.put(this.cur.groupIndex, this.cur.normalizedKey, m);
    }
    const nk = normalizeKey(key);
    if (nk !== key) (m.originals ??= new Map()).set(nk as string, key);
    m.set(nk, value);
  }
  putAll(entries: Iterable<readonly [UK, UV]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }
  remove(key: UK): void {
    const m = this.current();
    if (m === undefined) return;
    const nk = normalizeKey(key);
    m.delete(nk);
    if (nk !== key) m.originals?.delete(nk as string);
    if (m.size === 0) this.table.remove(this.cur.groupIndex, this.cur.normalizedKey);
  }
  contains(key: UK): boolean {
    return this.current()?.has(normalizeKey(key)) ?? false;
  }
  *entries(): IterableIterator<[UK, UV]> {
    const m = this.current();
    if (m === undefined) return;
    for (const [nk, v] of m) yield [originalKey(m, nk), v];
  }
  *keys(): IterableIterator<UK> {
    const m = this.current();
    if (m === undefined) return;
    for (const nk of m.keys()) yield originalKey(m, nk);
  }
  values(): IterableIterator<UV> {
    const m = this.current();
    return m === undefined ? new Map<never, UV>().values() : m.values();
  }
  isEmpty(): boolean {
    const m = this.current();
    return m === undefined || m.size === 0;
  }
  clear(): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    this.table.remove(gi, this.cur.normalizedKey);
  }
}

function originalKey<UK>(m: UserKeyMap<UK, unknown>, nk: unknown): UK {
  if (m.originals !== undefined && typeof nk === 'string') {
    const o = m.originals.get(nk);
    if (o !== undefined) return o;
  }
  return nk as UK;
}

export class HeapReducingState<T> implements ReducingState<T> {
  constructor(private readonly cur: CurrentKey, private readonly table: KeyedTable<T>, private readonly reduce: ReduceFunction<T>) {}
  get(): T | undefined {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    return this.table.get(gi, this.cur.normalizedKey);
  }
  add(value: T): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const prev = this.table.get(gi, this.cur.normalizedKey);
    this.table.put(gi, this.cur.normalizedKey, prev === undefined ? value : this.reduce(prev, value));
  }
  clear(): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    this.table.remove(gi, this.cur.normalizedKey);
  }
}

export class HeapAggregatingState<I, ACC, O> implements AggregatingState<I, O> {
  constructor(private readonly cur: CurrentKey, private readonly table: KeyedTable<ACC>, private readonly fn: AggregateFunction<I, ACC, O>) {}
  get(): O | undefined {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const acc = this.table.get(gi, this.cur.normalizedKey);
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }
  add(value: I): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    const acc = this.table.get(gi, this.cur.normalizedKey);
    this.table.put(gi, this.cur.normalizedKey, this.fn.add(value, acc === undefined ? this.fn.createAccumulator() : acc));
  }
  clear(): void {
    const gi = this.cur.groupIndex;
    if (gi < 0) this.cur.requireKey();
    this.table.remove(gi, this.cur.normalizedKey);
  }
}
