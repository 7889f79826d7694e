/**
 * TestingKeyedDriver: runs a KeyedProcessFunction by plain calls, without the runtime — keyed
 * ValueState in maps, event-time timers fired by `advanceWatermark` in timestamp order, output
 * and side outputs gathered in arrays. Only what the examples' functions use (value state and
 * event-time timers); other state kinds throw. Test-only: excluded from the build.
 */
import type { Collector, KeyedProcessFunction, OnTimerContext, RuntimeContext, TimerService, ValueState, ValueStateDescriptor } from '@sluice/api';

export class TestingKeyedDriver<K, I, O> {
  readonly output: O[] = [];
  readonly sideOutputs = new Map<string, unknown[]>();
  /** key → pending event-time timers. */
  readonly timers = new Map<K, Set<number>>();
  private readonly tables = new Map<string, Map<K, unknown>>();
  private key: K | undefined;
  private watermark = -Infinity;
  private readonly out: Collector<O> = { collect: (v) => void this.output.push(v) };

  constructor(private readonly fn: KeyedProcessFunction<K, I, O>, private readonly keyOf: (value: I) => K) {
    const runtime = {
      getTaskInfo: () => ({ taskName: 'test', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, attempt: 0 }),
      getParams: () => ({}),
      getState: <T>(d: ValueStateDescriptor<T>): ValueState<T> => this.valueState<T>(d.name),
      getListState: () => unsupported('list'),
      getMapState: () => unsupported('map'),
      getReducingState: () => unsupported('reducing'),
      getAggregatingState: () => unsupported('aggregating'),
      getMetricGroup: () => {
        throw new Error('TestingKeyedDriver does not support custom metrics');
      },
    } satisfies RuntimeContext;
    void fn.open?.(runtime);
  }

  send(value: I, timestamp?: number): void {
    this.key = this.keyOf(value);
    this.fn.processElement(value, this.context(timestamp), this.out);
  }

  /** Fires every timer at or below `watermark`, in timestamp order. */
  advanceWatermark(watermark: number): void {
    this.watermark = watermark;
    const due: [number, K][] = [];
    for (const [key, set] of this.timers) for (const t of set) if (t <= watermark) due.push([t, key]);
    due.sort((a, b) => a[0] - b[0]);
    for (const [t, key] of due) {
      this.timers.get(key)?.delete(t);
      this.key = key;
      this.fn.onTimer?.(t, this.context(t), this.out);
    }
  }

  /** Number of keys holding a value in the named state. */
  stateSize(name: string): number {
    return this.tables.get(name)?.size ?? 0;
  }

  pendingTimers(key: K): number {
    return this.timers.get(key)?.size ?? 0;
  }

  private valueState<T>(name: string): ValueState<T> {
    const table = new Map<K, unknown>();
    this.tables.set(name, table);
    return {
      value: () => table.get(this.currentKey()) as T | undefined,
      update: (v: T) => void table.set(this.currentKey(), v),
      clear: () => void table.delete(this.currentKey()),
    };
  }

  private currentKey(): K {
    if (this.key === undefined) throw new Error('keyed state used outside processElement/onTimer');
    return this.key;
  }

  private timerSet(): Set<number> {
    const key = this.currentKey();
    let set = this.timers.get(key);
    if (set === undefined) this.timers.set(key, (set = new Set()));
    return set;
  }

  private context(timestamp: number | undefined): OnTimerContext<K> {
    const timers: TimerService = {
      currentProcessingTime: () => 0,
      currentWatermark: () => this.watermark,
      registerEventTimeTimer: (t) => void this.timerSet().add(t),
      deleteEventTimeTimer: (t) => void this.timerSet().delete(t),
      registerProcessingTimeTimer: () => unsupported('processing-time timers'),
      deleteProcessingTimeTimer: () => unsupported('processing-time timers'),
    };
    return {
      timestamp: () => timestamp,
      timerService: () => timers,
      output: (tag, value) => {
        const list = this.sideOutputs.get(tag.id) ?? [];
        list.push(value);
        this.sideOutputs.set(tag.id, list);
      },
      getCurrentKey: () => this.currentKey(),
      timeDomain: () => 'event',
    };
  }
}

function unsupported(what: string): never {
  throw new Error(`TestingKeyedDriver does not support ${what} state or timers`);
}
