import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '@sluice/api';
import { keyGroupRangeFor } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { TestingProcessingTimeService } from '../operators/testing.js';
import { HeapKeyedStateBackend } from './heap-backend.js';
import { KeyedStateSnapshot, type KeyGroupBytes } from './keyed-snapshot.js';
import { InternalTimerService, type Timer } from './timer-service.js';

const MAXP = 128;

interface Setup {
  b: HeapKeyedStateBackend;
  timers: InternalTimerService;
  fired: string[];
  count: ReturnType<HeapKeyedStateBackend['getState']>;
  list: ReturnType<HeapKeyedStateBackend['getListState']>;
  map: ReturnType<HeapKeyedStateBackend['getMapState']>;
}

function setup(range = { start: 0, end: MAXP - 1 }, restore: KeyGroupBytes[] = []): Setup {
  const b = new HeapKeyedStateBackend(MAXP, range, 'test');
  for (const g of restore) b.restoreSerializedGroup(g.keyGroup, g.bytes);
  const fired: string[] = [];
  const timers = new InternalTimerService(b, new TestingProcessingTimeService(0), {
    onEventTime: (t: Timer) => fired.push(`${String(b.currentKey)}@${t.timestamp}`),
    onProcessingTime: () => {},
  });
  return {
    b,
    timers,
    fired,
    count: b.getState(new ValueStateDescriptor<number>('count', 0)),
    list: b.getListState(new ListStateDescriptor<number>('list')),
    map: b.getMapState(new MapStateDescriptor<{ id: number }, string>('map')),
  };
}

function fill(s: Setup, keys: number): void {
  for (let k = 0; k < keys; k++) {
    s.b.setCurrentKey(`k${k}`);
    s.count.update(k);
    s.list.add(k);
    s.map.put({ id: k }, `v${k}`);
    s.timers.registerEventTimeTimer(0, 1000 + k);
  }
}

function read(s: Setup, keys: number): unknown[] {
  const out: unknown[] = [];
  for (let k = 0; k < keys; k++) {
    s.b.setCurrentKey(`k${k}`);
    out.push([s.count.value(), s.list.get(), [...s.map.entries()]]);
  }
  return out;
}

describe('KeyedStateSnapshot (copy-on-write per key group)', () => {
  it('captures every key group as it was at the barrier, whatever changes afterwards', () => {
    const keys = 3_000;
    const s = setup();
    fill(s, keys);
    const atBarrier = structuredClone(read(s, keys)); // list.get() hands out the live array
    const snap = new KeyedStateSnapshot(s.b, s.timers);
    // After the barrier: change, add and delete state, and fire some timers, before the
    // background capture has run at all.
    for (let k = 0; k < keys; k += 3) {
      s.b.setCurrentKey(`k${k}`);
      s.count.update(-1);
      s.list.add(-1);
      s.map.remove({ id: k });
    }
    s.b.setCurrentKey('new-key');
    s.count.update(99);
    s.timers.advanceWatermark(1000 + 100);
    expect(s.fired.length).toBe(101);
    while (!snap.step(1));
    expect(snap.done).toBe(true);
    expect(s.b.snapshotGuard).toBeUndefined();

    const restored = setup({ start: 0, end: MAXP - 1 }, snap.sections());
    expect(read(restored, keys)).toEqual(atBarrier);
    restored.b.setCurrentKey('new-key');
    expect(restored.count.value()).toBe(0);
    // Every timer pending at the barrier is back, including the ones that fired after it.
    restored.timers.advanceWatermark(Infinity);
    expect(restored.fired.length).toBe(keys);
    expect(restored.fired[0]).toBe('k0@1000');
  });

  it('restores a subset of key groups into a subtask that owns only those (rescaling)', () => {
    const keys = 2_000;
    const s = setup();
    fill(s, keys);
    const snap = new KeyedStateSnapshot(s.b, s.timers);
    snap.complete();
    const sections = snap.sections();
    let seen = 0;
    for (let i = 0; i < 3; i++) {
      const range = keyGroupRangeFor(MAXP, 3, i);
      const part = setup(range, sections.filter((g) => g.keyGroup >= range.start && g.keyGroup <= range.end));
      part.timers.advanceWatermark(Infinity);
      seen += part.fired.length;
      expect(part.b.stateSize('count')).toBe(part.fired.length);
    }
    expect(seen).toBe(keys);
  });

  it('costs nothing when no snapshot is running, and leaves empty groups out', () => {
    const s = setup();
    expect(s.b.snapshotGuard).toBeUndefined();
    s.b.setCurrentKey('only');
    s.count.update(1);
    const snap = new KeyedStateSnapshot(s.b, undefined);
    snap.complete();
    expect(snap.sections().length).toBe(1);
  });
});
