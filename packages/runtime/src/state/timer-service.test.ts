import { describe, expect, it } from 'vitest';
import { TestingProcessingTimeService } from '../operators/testing.js';
import { HeapKeyedStateBackend } from './heap-backend.js';
import { InternalTimerService, type Timer, type TimerTarget } from './timer-service.js';

function setup(): { b: HeapKeyedStateBackend; time: TestingProcessingTimeService; timers: InternalTimerService; fired: string[] } {
  const b = new HeapKeyedStateBackend(128, { start: 0, end: 127 }, 'test');
  const time = new TestingProcessingTimeService(0);
  const fired: string[] = [];
  const target: TimerTarget = {
    onEventTime: (t: Timer) => fired.push(`event ${String(b.currentKey)}@${t.timestamp}/${t.namespace}`),
    onProcessingTime: (t: Timer) => fired.push(`proc ${String(b.currentKey)}@${t.timestamp}/${t.namespace}`),
  };
  return { b, time, timers: new InternalTimerService(b, time, target), fired };
}

describe('InternalTimerService', () => {
  it('fires event timers up to the watermark in timestamp order, once each, with their key set', () => {
    const { b, timers, fired } = setup();
    b.setCurrentKey('a');
    timers.registerEventTimeTimer(0, 30);
    timers.registerEventTimeTimer(0, 10);
    timers.registerEventTimeTimer(0, 10); // duplicate
    timers.registerEventTimeTimer(5, 10); // other namespace
    b.setCurrentKey('b');
    timers.registerEventTimeTimer(0, 20);
    timers.registerEventTimeTimer(0, 25);
    timers.deleteEventTimeTimer(0, 25);
    expect(timers.numEventTimers()).toBe(4);
    timers.advanceWatermark(20);
    expect(fired).toEqual(['event a@10/0', 'event a@10/5', 'event b@20/0']);
    timers.advanceWatermark(100);
    expect(fired.slice(3)).toEqual(['event a@30/0']);
    expect(timers.numEventTimers()).toBe(0);
  });

  it('arms one processing-time callback for the earliest timer and re-arms after firing', () => {
    const { b, time, timers, fired } = setup();
    for (let k = 0; k < 1000; k++) {
      b.setCurrentKey(k);
      timers.registerProcessingTimeTimer(0, 100 + (k % 10));
    }
    expect(time.pending()).toBe(1);
    b.setCurrentKey('early');
    timers.registerProcessingTimeTimer(0, 50);
    expect(time.pending()).toBe(1);
    time.advanceTo(100);
    expect(fired.length).toBe(101);
    expect(fired[0]).toBe('proc early@50/0');
    expect(time.pending()).toBe(1);
    time.advanceTo(200);
    expect(fired.length).toBe(1001);
    expect(time.pending()).toBe(0);
  });

  it('fires a timer registered from a firing timer when it is already due', () => {
    const b = new HeapKeyedStateBackend(128, { start: 0, end: 127 }, 'test');
    const time = new TestingProcessingTimeService(0);
    const fired: number[] = [];
    const timers: InternalTimerService = new InternalTimerService(b, time, {
      onEventTime: (t) => {
        fired.push(t.timestamp);
        if (t.timestamp === 10) timers.registerEventTimeTimer(0, 15);
      },
      onProcessingTime: () => {},
    });
    b.setCurrentKey('k');
    timers.registerEventTimeTimer(0, 10);
    timers.advanceWatermark(20);
    expect(fired).toEqual([10, 15]);
  });

  it('snapshots timers per key group and restores them', () => {
    const { b, timers } = setup();
    b.setCurrentKey('x');
    timers.registerEventTimeTimer(0, 42);
    timers.registerProcessingTimeTimer(0, 7);
    // Through the key group's checkpoint section, as a restore sees it.
    const section = b.serializeGroup(b.groupIndex, timers.sources)!;
    const restored = new HeapKeyedStateBackend(128, { start: 0, end: 127 }, 'restored');
    restored.restoreSerializedGroup(b.currentKeyGroup, section);
    const [snap] = restored.takeRestoredTimers();
    expect(snap!.event).toEqual([['x', 0, 42]]);
    expect(snap!.processing).toEqual([['x', 0, 7]]);
    const other = setup();
    other.timers.restoreKeyGroup(snap!);
    other.timers.advanceWatermark(50);
    other.time.advanceTo(10);
    expect(other.fired).toEqual(['event x@42/0', 'proc x@7/0']);
  });
});
