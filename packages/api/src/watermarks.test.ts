import { ConfigurationError, ManualClock } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { WatermarkStrategy, type WatermarkOutput } from './watermarks.js';

/** Records what a generator emitted, in order. */
class TestingWatermarkOutput implements WatermarkOutput {
  readonly events: Array<number | 'idle' | 'active'> = [];
  emitWatermark(watermark: number): void {
    this.events.push(watermark);
  }
  markIdle(): void {
    this.events.push('idle');
  }
  markActive(): void {
    this.events.push('active');
  }
}

interface Reading {
  sensor: string;
  at: number;
}

describe('bounded out-of-orderness', () => {
  it('emits max timestamp − bound − 1, never moving backwards, and nothing before the first event', () => {
    const clock = new ManualClock(0);
    const gen = WatermarkStrategy.forBoundedOutOfOrderness<Reading>(100).createGenerator({ now: () => clock.nowMs() });
    const out = new TestingWatermarkOutput();
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual([]);
    gen.onEvent({ sensor: 'a', at: 1000 }, 1000, out);
    gen.onPeriodicEmit(out);
    gen.onEvent({ sensor: 'a', at: 950 }, 950, out); // late but within the bound: no regression
    gen.onPeriodicEmit(out);
    gen.onEvent({ sensor: 'a', at: 1500 }, 1500, out);
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual([899, 899, 1399]);
  });

  it('monotonous timestamps are a bound of zero', () => {
    const gen = WatermarkStrategy.forMonotonousTimestamps<number>().createGenerator({ now: () => 0 });
    const out = new TestingWatermarkOutput();
    gen.onEvent(5, 5, out);
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual([4]);
  });

  it('noWatermarks never emits', () => {
    const gen = WatermarkStrategy.noWatermarks<number>().createGenerator({ now: () => 0 });
    const out = new TestingWatermarkOutput();
    gen.onEvent(5, 5, out);
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual([]);
  });

  it('extracts timestamps with the assigner, falling back to the record timestamp', () => {
    const plain = WatermarkStrategy.forBoundedOutOfOrderness<Reading>(0);
    expect(plain.extractTimestamp({ sensor: 'a', at: 7 }, 42)).toBe(42);
    expect(plain.extractTimestamp({ sensor: 'a', at: 7 }, undefined)).toBeUndefined();
    const withAssigner = plain.withTimestampAssigner((r) => r.at);
    expect(withAssigner.extractTimestamp({ sensor: 'a', at: 7 }, 42)).toBe(7);
    // Strategies are immutable recipes: deriving one leaves the original untouched.
    expect(plain.timestampAssigner).toBeUndefined();
    expect(withAssigner.describe()).toBe('boundedOutOfOrderness(0 ms)');
  });

  it('rejects a negative bound', () => {
    expect(() => WatermarkStrategy.forBoundedOutOfOrderness(-1)).toThrow(ConfigurationError);
    expect(() => WatermarkStrategy.forBoundedOutOfOrderness(Number.NaN)).toThrow(/non-negative number of milliseconds/);
  });
});

describe('idleness', () => {
  it('marks the output idle after the timeout without events and active again on the next event', () => {
    const clock = new ManualClock(10_000);
    const strategy = WatermarkStrategy.forBoundedOutOfOrderness<number>(10).withIdleness(1000);
    expect(strategy.describe()).toBe('boundedOutOfOrderness(10 ms, idle after 1000 ms)');
    const gen = strategy.createGenerator({ now: () => clock.nowMs() });
    const out = new TestingWatermarkOutput();

    gen.onEvent(500, 500, out);
    clock.advance(200);
    gen.onPeriodicEmit(out); // active: the inner watermark goes out
    clock.advance(799);
    gen.onPeriodicEmit(out); // 999 ms since the event: still active
    clock.advance(1);
    gen.onPeriodicEmit(out); // 1000 ms: idle, and no watermark
    clock.advance(5000);
    gen.onPeriodicEmit(out); // stays idle without repeating the mark
    gen.onEvent(700, 700, out); // wakes up
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual([489, 489, 'idle', 'active', 689]);
  });

  it('counts the idle timeout from creation when no event ever arrives', () => {
    const clock = new ManualClock(0);
    const gen = WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(50).createGenerator({ now: () => clock.nowMs() });
    const out = new TestingWatermarkOutput();
    clock.advance(49);
    gen.onPeriodicEmit(out);
    clock.advance(1);
    gen.onPeriodicEmit(out);
    expect(out.events).toEqual(['idle']);
  });

  it('rejects a non-positive idle timeout', () => {
    expect(() => WatermarkStrategy.forMonotonousTimestamps().withIdleness(0)).toThrow(/idle timeout must be a positive number/);
  });
});
