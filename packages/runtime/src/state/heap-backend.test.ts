import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type AggregateFunction,
} from '@sluice/api';
import { keyGroupFor, keyGroupRangeFor } from '@sluice/common';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { KeyRoutingError, StateAccessError, StateIncompatibleError } from './errors.js';
import { HeapKeyedStateBackend } from './heap-backend.js';

const MAXP = 128;
const full = (): HeapKeyedStateBackend => new HeapKeyedStateBackend(MAXP, { start: 0, end: MAXP - 1 }, 'test');

const avg: AggregateFunction<number, { sum: number; n: number }, number> = {
  createAccumulator: () => ({ sum: 0, n: 0 }),
  add: (v, acc) => ({ sum: acc.sum + v, n: acc.n + 1 }),
  getResult: (acc) => acc.sum / acc.n,
};

describe('HeapKeyedStateBackend', () => {
  it('keeps all five state kinds per key over 100,000 keys', () => {
    const b = full();
    const value = b.getState(new ValueStateDescriptor<number>('count', 0));
    const list = b.getListState(new ListStateDescriptor<number>('list'));
    const map = b.getMapState(new MapStateDescriptor<string, number>('map'));
    const reducing = b.getReducingState(new ReducingStateDescriptor<number>('max', (a, c) => Math.max(a, c)));
    const aggregating = b.getAggregatingState(new AggregatingStateDescriptor('avg', avg));
    const N = 100_000;
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < N; k++) {
        b.setCurrentKey(`key-${k}`);
        value.update((value.value() ?? 0) + 1);
        list.add(k + round);
        map.put(round === 0 ? 'a' : 'b', k * 10 + round);
        reducing.add(k * (round + 1));
        aggregating.add(round === 0 ? k : k + 2);
      }
    }
    expect(b.stateSize('count')).toBe(N);
    expect(b.stateSize('list')).toBe(N);
    expect(b.stateSize('map')).toBe(N);
    expect(b.stateSize('max')).toBe(N);
    expect(b.stateSize('avg')).toBe(N);
    b.setCurrentKey('key-4242');
    expect(value.value()).toBe(2);
    expect(list.get()).toEqual([4242, 4243]);
    expect([...map.entries()]).toEqual([['a', 42420], ['b', 42421]]);
    expect(reducing.get()).toBe(8484);
    expect(aggregating.get()).toBe(4243);
    b.setCurrentKey('never-seen');
    expect(value.value()).toBe(0); // the descriptor's default
    expect(list.get()).toEqual([]);
    expect(map.isEmpty()).toBe(true);
    expect(reducing.get()).toBeUndefined();
    expect(aggregating.get()).toBeUndefined();
  });

  it('clears each kind for the current key only', () => {
    const b = full();
    const value = b.getState(new ValueStateDescriptor<string>('v'));
    const list = b.getListState(new ListStateDescriptor<string>('l'));
    const map = b.getMapState(new MapStateDescriptor<string, number>('m'));
    for (const k of ['x', 'y']) {
      b.setCurrentKey(k);
      value.update(k);
      list.update([k, k]);
      map.putAll([[k, 1], ['z', 2]]);
    }
    b.setCurrentKey('x');
    value.clear();
    list.clear();
    map.remove('x');
    expect(value.value()).toBeUndefined();
    expect(list.get()).toEqual([]);
    expect(map.contains('x')).toBe(false);
    expect([...map.keys()]).toEqual(['z']);
    b.setCurrentKey('y');
    expect(value.value()).toBe('y');
    expect(list.get()).toEqual(['y', 'y']);
    expect([...map.values()]).toEqual([1, 2]);
  });

  it('treats structurally equal object keys as one key and returns the original key', () => {
    const b = full();
    const value = b.getState(new ValueStateDescriptor<number>('v'));
    b.setCurrentKey({ user: 'ann', region: 3 });
    value.update(7);
    b.setCurrentKey({ user: 'ann', region: 3 });
    expect(value.value()).toBe(7);
    expect(b.currentKey).toEqual({ user: 'ann', region: 3 });
    const map = b.getMapState(new MapStateDescriptor<[number, number], string>('pairs'));
    map.put([1, 2], 'a');
    expect(map.get([1, 2])).toBe('a');
    expect([...map.keys()]).toEqual([[1, 2]]);
  });

  it('rejects a key that belongs to another subtask, naming the key groups', () => {
    const range = keyGroupRangeFor(MAXP, 2, 0);
    const b = new HeapKeyedStateBackend(MAXP, range, 'counter');
    let foreign = 0;
    while (keyGroupFor(foreign, MAXP) <= range.end) foreign++;
    expect(() => b.setCurrentKey(foreign)).toThrow(KeyRoutingError);
    expect(() => b.setCurrentKey(foreign)).toThrow(/routed to the wrong subtask/);
    expect(() => b.setCurrentKey(foreign)).toThrow(`key groups 0..63`);
  });

  it('refuses state access without a current key and conflicting state names', () => {
    const b = full();
    const value = b.getState(new ValueStateDescriptor<number>('v'));
    expect(() => value.value()).toThrow(StateAccessError);
    expect(() => b.getListState(new ListStateDescriptor<number>('v'))).toThrow(/already exists as value state/);
    expect(b.getState(new ValueStateDescriptor<number>('v'))).toBe(value);
  });

  it('serializes a key group and restores it into a backend of another range (a rescale)', () => {
    const a = full();
    const value = a.getState(new ValueStateDescriptor<number>('v'));
    const list = a.getListState(new ListStateDescriptor<number>('l'));
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) {
      a.setCurrentKey(k);
      value.update(i);
      list.add(i);
    }
    const group = keyGroupFor('k7', MAXP);
    const bytes = a.serializeGroup(group - a.keyGroupRange.start, undefined)!;
    const b = new HeapKeyedStateBackend(MAXP, { start: group, end: group }, 'restored');
    b.restoreSerializedGroup(group, bytes);
    const value2 = b.getState(new ValueStateDescriptor<number>('v'));
    const list2 = b.getListState(new ListStateDescriptor<number>('l'));
    const inGroup = keys.filter((k) => keyGroupFor(k, MAXP) === group);
    expect(inGroup.length).toBeGreaterThan(0);
    for (const k of inGroup) {
      b.setCurrentKey(k);
      expect(value2.value()).toBe(Number(k.slice(1)));
      expect(list2.get()).toEqual([Number(k.slice(1))]);
    }
    expect(b.stateSize('v')).toBe(inGroup.length);
  });

  it('restores a key group written in checkpoint format 1 (v8 data, timers as triples)', () => {
    const group = keyGroupFor('k1', MAXP);
    const v1 = serialize([
      [['count', new Map([['k1', 41]]), false]],
      [['__sluice.window-contents', new Map([[1000, new Map([['k1', { n: 2 }]])]])]],
      [['k1', 1000, 1999]],
      [],
    ]);
    const b = new HeapKeyedStateBackend(MAXP, { start: group, end: group }, 'restored');
    b.restoreSerializedGroup(group, v1);
    const count = b.getState(new ValueStateDescriptor<number>('count'));
    b.setCurrentKey('k1');
    expect(count.value()).toBe(41);
    expect(b.namespacedTable('window-contents').get(0, 1000, 'k1')).toEqual({ n: 2 });
    expect(b.takeRestoredTimers()).toEqual([{ keyGroup: group, event: [['k1', 1000, 1999]], processing: [] }]);
  });

  describe('restoring a checkpoint that recorded its state shapes', () => {
    /** A key group of 'k1' holding ValueState 'count' = 41 and ListState 'seen' = [1, 2]. */
    function checkpointed(): { group: number; bytes: Uint8Array } {
      const a = full();
      const count = a.getState(new ValueStateDescriptor<number>('count'));
      const seen = a.getListState(new ListStateDescriptor<number>('seen'));
      a.setCurrentKey('k1');
      count.update(41);
      seen.addAll([1, 2]);
      return { group: a.currentKeyGroup, bytes: a.serializeGroup(a.groupIndex, undefined)! };
    }
    const shapes = { uid: 'p', from: '/sp/savepoint-1', states: [{ name: 'count', kind: 'value' }, { name: 'seen', kind: 'list' }] };

    it('refuses a state declared with another kind than recorded, naming the operator, its uid, the state and both kinds', () => {
      const { group, bytes } = checkpointed();
      const b = new HeapKeyedStateBackend(MAXP, { start: group, end: group }, 'counter');
      b.expectRestoredStates(shapes);
      b.restoreSerializedGroup(group, bytes);
      const declare = (): unknown => b.getListState(new ListStateDescriptor<number>('count'));
      expect(declare).toThrow(StateIncompatibleError);
      expect(declare).toThrow(
        "cannot restore /sp/savepoint-1 into operator 'counter' (uid 'p'): the checkpoint holds its state 'count' as value state, but this job declares 'count' as list state.",
      );
      expect(() => b.getMapState(new MapStateDescriptor<number, number>('seen'))).toThrow("holds its state 'seen' as list state, but this job declares 'seen' as map state");
    });

    it('refuses on the recorded shape alone, in a subtask that restored no key group holding the state', () => {
      const b = full();
      b.expectRestoredStates(shapes);
      expect(() => b.getState(new ValueStateDescriptor<number[]>('seen'))).toThrow(expect.objectContaining({ code: 'STATE_INCOMPATIBLE' }));
    });

    it('adopts states of the recorded kinds, and reports restored states not declared with their recorded kinds', () => {
      const { group, bytes } = checkpointed();
      const b = new HeapKeyedStateBackend(MAXP, { start: group, end: group }, 'counter');
      b.expectRestoredStates(shapes);
      b.restoreSerializedGroup(group, bytes);
      const count = b.getState(new ValueStateDescriptor<number>('count'));
      b.getReducingState(new ReducingStateDescriptor<number>('new', (x, y) => x + y));
      b.internalTable('rolling-reduce');
      b.setCurrentKey('k1');
      expect(count.value()).toBe(41);
      // 'seen' is not declared (yet): the next checkpoint keeps it and says what it is.
      expect(b.stateShapes()).toEqual([
        { name: 'count', kind: 'value' },
        { name: 'seen', kind: 'list' },
        { name: 'new', kind: 'reducing' },
        { name: '__sluice.rolling-reduce', kind: 'internal' },
      ]);
    });
  });

  it('refuses a damaged format 2 section, naming the key group', () => {
    const a = full();
    const value = a.getState(new ValueStateDescriptor<number>('v'));
    a.setCurrentKey('k1');
    value.update(1);
    const bytes = a.serializeGroup(a.groupIndex, undefined)!;
    const b = full();
    expect(() => b.restoreSerializedGroup(a.currentKeyGroup, bytes.subarray(0, bytes.length - 3))).toThrow(
      new RegExp(`key group ${a.currentKeyGroup} is malformed`),
    );
  });

  it('holds 1,000,000 keys of a small ValueState in well under 400 MB of heap', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const b = full();
    const value = b.getState(new ValueStateDescriptor<number>('count'));
    for (let k = 0; k < 1_000_000; k++) {
      b.setCurrentKey(k);
      value.update(k + 0.5);
    }
    gc?.();
    const usedMb = (process.memoryUsage().heapUsed - before) / 1e6;
    expect(b.stateSize('count')).toBe(1_000_000);
    expect(usedMb).toBeLessThan(200);
  });
});
