import { ConfigurationError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import {
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  Time,
  TimeWindow,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  windowStart,
} from './windows.js';

const bounds = (ws: TimeWindow[]): Array<[number, number]> => ws.map((w) => [w.start, w.end]);

describe('windowStart', () => {
  it.each([
    // [timestamp, offset, size, start]
    [0, 0, 10, 0],
    [9, 0, 10, 0],
    [10, 0, 10, 10],
    [-1, 0, 10, -10],
    [-10, 0, 10, -10],
    [-11, 0, 10, -20],
    [3, 2, 10, 2],
    [1, 2, 10, -8],
    [-9, -3, 10, -13],
  ])('timestamp %i with offset %i and size %i starts at %i', (ts, offset, size, start) => {
    expect(windowStart(ts, offset, size)).toBe(start);
    expect(ts - start).toBeGreaterThanOrEqual(0);
    expect(ts - start).toBeLessThan(size);
  });
});

describe('tumbling windows', () => {
  it('assigns exactly one window [start, start + size) containing the timestamp', () => {
    const a = TumblingEventTimeWindows.of(Time.seconds(1));
    expect(bounds(a.assignWindows(0))).toEqual([[0, 1000]]);
    expect(bounds(a.assignWindows(999))).toEqual([[0, 1000]]);
    expect(bounds(a.assignWindows(1000))).toEqual([[1000, 2000]]);
    expect(bounds(a.assignWindows(-1))).toEqual([[-1000, 0]]);
    expect(a.assignWindows(1500)[0]?.maxTimestamp()).toBe(1999);
    expect(a).toMatchObject({ kind: 'tumbling', timeDomain: 'event', isMerging: false });
  });

  it('shifts windows by the offset (e.g. time zones), also for negative timestamps', () => {
    const a = TumblingEventTimeWindows.of(Time.hours(1), Time.minutes(15));
    expect(bounds(a.assignWindows(Time.minutes(20)))).toEqual([[Time.minutes(15), Time.minutes(75)]]);
    expect(bounds(a.assignWindows(Time.minutes(5)))).toEqual([[-Time.minutes(45), Time.minutes(15)]]);
    expect(bounds(a.assignWindows(-Time.minutes(50)))).toEqual([[-Time.minutes(105), -Time.minutes(45)]]);
    const negative = TumblingProcessingTimeWindows.of(100, -30);
    expect(bounds(negative.assignWindows(0))).toEqual([[-30, 70]]);
    expect(negative.timeDomain).toBe('processing');
  });

  it('rejects a non-positive size and an offset as large as the size', () => {
    expect(() => TumblingEventTimeWindows.of(0)).toThrow(ConfigurationError);
    expect(() => TumblingEventTimeWindows.of(-5)).toThrow(/window size must be a positive number of milliseconds, got -5/);
    expect(() => TumblingEventTimeWindows.of(10, 10)).toThrow(/offset must be smaller than the size/);
  });
});

describe('sliding windows', () => {
  it('assigns size / slide windows, latest start first, each containing the timestamp', () => {
    const a = SlidingEventTimeWindows.of(10, 5);
    expect(bounds(a.assignWindows(7))).toEqual([
      [5, 15],
      [0, 10],
    ]);
    expect(bounds(a.assignWindows(5))).toEqual([
      [5, 15],
      [0, 10],
    ]);
    expect(bounds(a.assignWindows(-3))).toEqual([
      [-5, 5],
      [-10, 0],
    ]);
    for (const ts of [-17, -1, 0, 4, 123]) {
      for (const w of a.assignWindows(ts)) {
        expect(w.start <= ts && ts < w.end).toBe(true);
      }
    }
  });

  it('handles sizes that are not a multiple of the slide, and offsets', () => {
    const a = SlidingEventTimeWindows.of(10, 4, 1);
    const ws = a.assignWindows(12);
    expect(bounds(ws)).toEqual([
      [9, 19],
      [5, 15],
    ]);
    expect(a.describe()).toBe('SlidingEventTimeWindows(10, 4)');
    expect(() => SlidingEventTimeWindows.of(10, 0)).toThrow(/window slide must be a positive number/);
    expect(() => SlidingEventTimeWindows.of(10, 5, 5)).toThrow(/smaller than the slide/);
  });
});

describe('session windows', () => {
  it('gives each element its own window [ts, ts + gap) and merges them by intersection', () => {
    const a = EventTimeSessionWindows.withGap(30);
    expect(a.isMerging).toBe(true);
    const [w1] = a.assignWindows(100);
    const [w2] = a.assignWindows(125);
    const [w3] = a.assignWindows(200);
    expect(bounds([w1!])).toEqual([[100, 130]]);
    expect(w1!.intersects(w2!)).toBe(true);
    expect(bounds([w1!.cover(w2!)])).toEqual([[100, 155]]);
    expect(w1!.cover(w2!).intersects(w3!)).toBe(false);
    expect(bounds(a.assignWindows(-50))).toEqual([[-50, -20]]);
    expect(ProcessingTimeSessionWindows.withGap(5).describe()).toBe('ProcessingTimeSessionWindows(5)');
    expect(() => EventTimeSessionWindows.withGap(0)).toThrow(/session gap must be a positive number/);
  });

  it('treats touching windows as intersecting, so a session continues across an exact gap', () => {
    expect(new TimeWindow(0, 10).intersects(new TimeWindow(10, 20))).toBe(true);
    expect(new TimeWindow(0, 10).intersects(new TimeWindow(11, 20))).toBe(false);
    expect(new TimeWindow(0, 10).equals(new TimeWindow(0, 10))).toBe(true);
  });
});
