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
import type { StateShape } from '@sluice/protocol';
import { KeyRoutingError, StateAccessError, StateIncompatibleError } from './errors.js';
import {
  HeapAggregatingState,
  HeapListState,
  HeapMapState,
  HeapReducingState,
  HeapValueState,
  UserKeyMap,
  type CurrentKey,
} from './handles.js';
import { normalizeKey } from './keys.js';
import { readSection, SectionFormatError, SectionWriter, writeSection, type DecodedSection, type SectionContents, type TimerSource } from './section-codec.js';
import type { TimersSnapshot } from './timer-service.js';
import { KeyedTable, NamespacedTable, type Namespace } from './state-table.js';

type Kind = StateDescriptor['kind'] | 'internal' | 'namespaced';

interface Registered {
  kind: Kind;
  table: KeyedTable<unknown> | NamespacedTable<unknown>;
  handle: unknown;
}

/** MapState values are UserKeyMaps (a Map plus the original object keys), stored as a pair. */
type StoredUserKeyMap = [entries: Map<unknown, unknown>, originals: Map<string, unknown> | undefined];

/** The keyed states a restored checkpoint recorded for this operator, and where they come from (for messages). */
export interface RestoredStateShapes {
  uid: string;
  /** The checkpoint or savepoint directory. */
  from: string;
  states: readonly StateShape[];
}

/** Receives a key group just before its state may change, while a snapshot is being taken. */
export interface SnapshotGuard {
  ensure(groupIndex: number): void;
}

export class HeapKeyedStateBackend implements CurrentKey {
  /** The key as the user's key selector returned it (what `getCurrentKey()` returns). */
  currentKey: unknown = undefined;
  normalizedKey: unknown = undefined;
  currentKeyGroup = -1;
  groupIndex = -1;

  private readonly states = new Map<string, Registered>();
  readonly groupCount: number;
  /**
   * Set while a checkpoint copies this backend's key groups out: every key switch tells it the
   * group about to be touched, so that group is captured before its first change (copy-on-write
   * at key-group granularity). Undefined otherwise, which costs one field check per record.
   */
  snapshotGuard: SnapshotGuard | undefined = undefined;
  /** Timers restored with the key groups, waiting for the operator's timer service. */
  private restoredTimers: TimersSnapshot[] = [];
  /** What the restored checkpoint says each of its states is, by name; undefined when it does not say. */
  private restoredShapes: Map<string, StateShape> | undefined;
  private restoredFrom: Omit<RestoredStateShapes, 'states'> | undefined;

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
    const guard = this.snapshotGuard;
    if (guard !== undefined) guard.ensure(gi);
    this.currentKey = key;
    this.normalizedKey = normalizeKey(key);
    this.currentKeyGroup = kg;
    this.groupIndex = gi;
  }

  /** For timers, which stored the key group and normalized key when they were registered. */
  setCurrentKeyKnown(key: unknown, normalizedKey: unknown, keyGroup: number): void {
    const guard = this.snapshotGuard;
    if (guard !== undefined) guard.ensure(keyGroup - this.keyGroupRange.start);
    this.currentKey = key;
    this.normalizedKey = normalizedKey;
    this.currentKeyGroup = keyGroup;
    this.groupIndex = keyGroup - this.keyGroupRange.start;
  }

  /** Back to no current key (as before the first record). */
  clearCurrentKey(): void {
    this.currentKey = undefined;
    this.normalizedKey = undefined;
    this.currentKeyGroup = -1;
    this.groupIndex = -1;
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

  /**
   * One key group (by group index) as checkpoint bytes — every table's live map and the given
   * timers, in section-codec.ts's format, built in `writer` — or undefined when the group holds
   * nothing.
   */
  serializeGroup(groupIndex: number, timers: { event: TimerSource; processing: TimerSource } | undefined, writer = new SectionWriter()): Uint8Array | undefined {
    const contents: SectionContents = { keyed: [], namespaced: [] };
    for (const [name, r] of this.states) {
      const g = r.table.rawGroup(groupIndex);
      if (g === undefined) continue;
      if (r.table instanceof NamespacedTable) contents.namespaced.push([name, g as Map<Namespace, Map<unknown, unknown>>]);
      else if (r.kind === 'map') contents.keyed.push([name, storeUserKeyMaps(g as Map<unknown, UserKeyMap<unknown, unknown>>), true]);
      else contents.keyed.push([name, g, false]);
    }
    return writeSection(writer, contents, timers, groupIndex + this.keyGroupRange.start, this.operatorName);
  }

  /**
   * Restores one key group from `serializeGroup`'s bytes (or checkpoint format 1's). Tables not
   * yet registered are kept raw and adopted when the function declares them; timers wait for
   * `takeRestoredTimers`.
   */
  restoreSerializedGroup(keyGroup: number, bytes: Uint8Array): void {
    this.checkOwned(keyGroup);
    const gi = keyGroup - this.keyGroupRange.start;
    let section: DecodedSection;
    try {
      section = readSection(bytes);
    } catch (err) {
      if (!(err instanceof SectionFormatError)) throw err;
      throw new StateAccessError(`the checkpoint section of key group ${keyGroup} is malformed (${err.message}); it was not written by this version of Sluice or is damaged`);
    }
    const { keyed, namespaced, event, processing } = section;
    for (const [name, map, isMapState] of keyed) {
      const r = this.states.get(name) ?? this.rawTable(name, false);
      (r.table as KeyedTable<unknown>).restoreRaw(gi, isMapState ? loadUserKeyMaps(map as Map<unknown, StoredUserKeyMap>) : map);
    }
    for (const [name, map] of namespaced) {
      const r = this.states.get(name) ?? this.rawTable(name, true);
      (r.table as NamespacedTable<unknown>).restoreRaw(gi, map);
    }
    if (event.length > 0 || processing.length > 0) this.restoredTimers.push({ keyGroup, event, processing });
  }

  /**
   * The shapes of the states being restored: from now on, declaring one of them with another
   * kind throws StateIncompatibleError instead of adopting state the handle would misread.
   */
  expectRestoredStates(restored: RestoredStateShapes): void {
    this.restoredShapes = new Map(restored.states.map((s) => [s.name, s] as const));
    this.restoredFrom = { uid: restored.uid, from: restored.from };
  }

  /**
   * The keyed states of this operator for checkpoint metadata: every declared state with its
   * kind, and restored ones not declared (yet) with the kind their checkpoint recorded.
   */
  stateShapes(): StateShape[] {
    const out: StateShape[] = [];
    for (const [name, r] of this.states) {
      const kind = r.handle !== undefined ? r.kind : this.restoredShapes?.get(name)?.kind;
      if (kind !== undefined) out.push({ name, kind });
    }
    return out;
  }

  /** Timers restored with key groups (once; the operator's timer service re-registers them). */
  takeRestoredTimers(): TimersSnapshot[] {
    const out = this.restoredTimers;
    this.restoredTimers = [];
    return out;
  }

  private rawTable(name: string, namespaced: boolean): Registered {
    const r: Registered = namespaced
      ? { kind: 'namespaced', table: new NamespacedTable<unknown>(name, this.keyGroupRange.start, this.groupCount), handle: undefined }
      : { kind: 'internal', table: new KeyedTable<unknown>(name, this.keyGroupRange.start, this.groupCount), handle: undefined };
    this.states.set(name, r);
    return r;
  }

  private checkRestoredKind(name: string, kind: Kind): void {
    const restored = this.restoredShapes?.get(name);
    if (restored === undefined || restored.kind === kind) return;
    const { uid, from } = this.restoredFrom!;
    throw new StateIncompatibleError(
      `cannot restore ${from} into operator '${this.operatorName}' (uid '${uid}'): the checkpoint holds its state '${name}' as ${restored.kind} state, ` +
        `but this job declares '${name}' as ${kind} state. State of another kind needs another name — rename the state in this job, ` +
        `or give the operator a new .uid(...) and pass --allow-non-restored-state to drop its old state; --allow-non-restored-state alone ` +
        `does not drop the state of an operator the job still has`,
    );
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
    this.checkRestoredKind(name, kind);
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

function storeUserKeyMaps(group: Map<unknown, UserKeyMap<unknown, unknown>>): Map<unknown, unknown> {
  const out = new Map<unknown, StoredUserKeyMap>();
  for (const [k, m] of group) out.set(k, [new Map(m), m.originals]);
  return out as Map<unknown, unknown>;
}

function loadUserKeyMaps(stored: Map<unknown, StoredUserKeyMap>): Map<unknown, unknown> {
  const out = new Map<unknown, UserKeyMap<unknown, unknown>>();
  for (const [k, [entries, originals]] of stored) {
    const m = new UserKeyMap<unknown, unknown>(entries);
    if (originals !== undefined) m.originals = originals as Map<string, unknown>;
    out.set(k, m);
  }
  return out;
}
