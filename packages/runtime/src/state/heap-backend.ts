/**
 * The heap keyed state backend of one keyed operator on one subtask: the current key (set once
 * per record, key group computed once), the registry of named states, and per-key-group
 * snapshot/restore as plain data for checkpoints and rescaling.
 */
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type AggregatingState,
  type ListState,
  type MapState,
  type ReducingState,
  type StateDescriptor,
  type ValueState,
} from '@sluice/api';
import { keyGroupFor, truncateForMessage, type KeyGroupRange } from '@sluice/common';
import { KeyRoutingError, StateAccessError } from './errors.js';
import {
  HeapAggregatingState,
  HeapListState,
  HeapMapState,
  HeapReducingState,
  HeapValueState,
  type CurrentKey,
  type UserKeyMap,
} from './handles.js';
import { normalizeKey } from './keys.js';
import { KeyedTable, NamespacedTable, type Namespace } from './state-table.js';

type Kind = StateDescriptor['kind'] | 'internal' | 'namespaced';

interface Registered {
  kind: Kind;
  table: KeyedTable<unknown> | NamespacedTable<unknown>;
  handle: unknown;
}

/** One key group's state as plain data: per state name, its entries. */
export interface KeyGroupSnapshot {
  keyGroup: number;
  keyed: Record<string, [unknown, unknown][]>;
  namespaced: Record<string, [Namespace, unknown, unknown][]>;
}

export class HeapKeyedStateBackend implements CurrentKey {
  /** The key as the user's key selector returned it (what `getCurrentKey()` returns). */
  currentKey: unknown = undefined;
  normalizedKey: unknown = undefined;
  currentKeyGroup = -1;
  groupIndex = -1;

  private readonly states = new Map<string, Registered>();
  private readonly groupCount: number;

  constructor(
    readonly maxParallelism: number,
    readonly keyGroupRange: KeyGroupRange,
    private readonly operatorName: string,
  ) {
    this.groupCount = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
  }

  setCurrentKey(key: unknown): void {
    const kg = keyGroupFor(key, this.maxParallelism);
    const gi = kg - this.keyGroupRange.start;
    if (gi < 0 || gi >= this.groupCount) {
      throw new KeyRoutingError(
        `operator '${this.operatorName}' received key ${truncateForMessage(key)} of key group ${kg}, but this subtask owns key groups ` +
          `${this.keyGroupRange.start}..${this.keyGroupRange.end}: the key was routed to the wrong subtask ` +
          `(is the stream partitioned by the same key selector and max parallelism ${this.maxParallelism}?)`,
      );
    }
    this.currentKey = key;
    this.normalizedKey = normalizeKey(key);
    this.currentKeyGroup = kg;
    this.groupIndex = gi;
  }

  /** For timers, which stored the key group and normalized key when they were registered. */
  setCurrentKeyKnown(key: unknown, normalizedKey: unknown, keyGroup: number): void {
    this.currentKey = key;
    this.normalizedKey = normalizedKey;
    this.currentKeyGroup = keyGroup;
    this.groupIndex = keyGroup - this.keyGroupRange.start;
  }

  requireKey(): void {
    if (this.groupIndex < 0) {
      throw new StateAccessError(
        `operator '${this.operatorName}' accessed keyed state with no current key; keyed state can only be used while processing a record or a timer, not in open()`,
      );
    }
  }

  getState<T>(d: ValueStateDescriptor<T>): ValueState<T> {
    return this.register(d.name, 'value', () => new KeyedTable<T>(d.name, this.keyGroupRange.start, this.groupCount), (t) => new HeapValueState<T>(this, t, d.defaultValue)) as ValueState<T>;
  }

  getListState<T>(d: ListStateDescriptor<T>): ListState<T> {
    return this.register(d.name, 'list', () => new KeyedTable<T[]>(d.name, this.keyGroupRange.start, this.groupCount), (t) => new HeapListState<T>(this, t)) as ListState<T>;
  }

  getMapState<UK, UV>(d: MapStateDescriptor<UK, UV>): MapState<UK, UV> {
    return this.register(
      d.name,
      'map',
      () => new KeyedTable<UserKeyMap<UK, UV>>(d.name, this.keyGroupRange.start, this.groupCount),
      (t) => new HeapMapState<UK, UV>(this, t),
    ) as MapState<UK, UV>;
  }

  getReducingState<T>(d: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.register(d.name, 'reducing', () => new KeyedTable<T>(d.name, this.keyGroupRange.start, this.groupCount), (t) => new HeapReducingState<T>(this, t, d.reduce)) as ReducingState<T>;
  }

  getAggregatingState<I, ACC, O>(d: AggregatingStateDescriptor<I, ACC, O>): AggregatingState<I, O> {
    return this.register(
      d.name,
      'aggregating',
      () => new KeyedTable<ACC>(d.name, this.keyGroupRange.start, this.groupCount),
      (t) => new HeapAggregatingState<I, ACC, O>(this, t, d.aggregate),
    ) as AggregatingState<I, O>;
  }

  /** Raw per-key storage for the runtime's own state (e.g. rolling reduce, session window sets). */
  internalTable<V>(name: string): KeyedTable<V> {
    return this.register(`__sluice.${name}`, 'internal', () => new KeyedTable<V>(name, this.keyGroupRange.start, this.groupCount), (t) => t) as KeyedTable<V>;
  }

  /** Per-(key, namespace) storage, for window contents. */
  namespacedTable<V>(name: string): NamespacedTable<V> {
    return this.register(`__sluice.${name}`, 'namespaced', () => new NamespacedTable<V>(name, this.keyGroupRange.start, this.groupCount), (t) => t) as NamespacedTable<V>;
  }

  /** Number of keys holding a value in the named user state (tests, metrics). */
  stateSize(name: string): number {
    return this.states.get(name)?.table.size() ?? 0;
  }

  snapshotKeyGroup(keyGroup: number): KeyGroupSnapshot {
    this.checkOwned(keyGroup);
    const snap: KeyGroupSnapshot = { keyGroup, keyed: {}, namespaced: {} };
    for (const [name, r] of this.states) {
      if (r.table instanceof NamespacedTable) snap.namespaced[name] = r.table.snapshotGroup(keyGroup);
      else snap.keyed[name] = r.table.snapshotGroup(keyGroup);
    }
    return snap;
  }

  /**
   * Restores one key group. States not yet registered are created lazily as raw tables and
   * adopted when the function registers its descriptor in `open()`.
   */
  restoreKeyGroup(snap: KeyGroupSnapshot): void {
    this.checkOwned(snap.keyGroup);
    for (const [name, entries] of Object.entries(snap.keyed)) {
      let r = this.states.get(name);
      if (r === undefined) {
        r = { kind: 'internal', table: new KeyedTable<unknown>(name, this.keyGroupRange.start, this.groupCount), handle: undefined };
        this.states.set(name, r);
      }
      (r.table as KeyedTable<unknown>).restoreGroup(snap.keyGroup, entries);
    }
    for (const [name, entries] of Object.entries(snap.namespaced)) {
      let r = this.states.get(name);
      if (r === undefined) {
        r = { kind: 'namespaced', table: new NamespacedTable<unknown>(name, this.keyGroupRange.start, this.groupCount), handle: undefined };
        this.states.set(name, r);
      }
      (r.table as NamespacedTable<unknown>).restoreGroup(snap.keyGroup, entries);
    }
  }

  private checkOwned(keyGroup: number): void {
    if (keyGroup < this.keyGroupRange.start || keyGroup > this.keyGroupRange.end) {
      throw new StateAccessError(
        `key group ${keyGroup} is outside this subtask's range ${this.keyGroupRange.start}..${this.keyGroupRange.end} (operator '${this.operatorName}')`,
      );
    }
  }

  private register<Tb extends KeyedTable<any> | NamespacedTable<any>>( // eslint-disable-line @typescript-eslint/no-explicit-any -- tables of any value type
    name: string,
    kind: Kind,
    createTable: () => Tb,
    createHandle: (t: Tb) => unknown,
  ): unknown {
    const existing = this.states.get(name);
    if (existing !== undefined) {
      if (existing.handle !== undefined && existing.kind === kind) return existing.handle;
      // A restored table has no handle yet; anything else with this name is a clash.
      if (existing.handle === undefined && (kind === 'namespaced') === existing.table instanceof NamespacedTable) {
        existing.kind = kind;
        existing.handle = createHandle(existing.table as unknown as Tb);
        return existing.handle;
      }
      throw new StateAccessError(
        `operator '${this.operatorName}' declared state '${name}' as ${kind} state, but it already exists as ${existing.kind} state; use distinct state names`,
      );
    }
    const table = createTable();
    const handle = createHandle(table);
    this.states.set(name, { kind, table: table as unknown as Registered['table'], handle });
    return handle;
  }
}
