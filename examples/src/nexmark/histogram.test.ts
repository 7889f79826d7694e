import { describe, expect, it } from 'vitest';
import { LatencyHistogram, meanMs, mergeHistograms, quantile } from './histogram.js';

describe('LatencyHistogram', () => {
  it('reports quantiles within the bucket precision (~9 %)', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 100); // 0.01 .. 10 ms
    const d = h.toData();
    expect(d.count).toBe(1000);
    expect(quantile(d, 0.5)).toBeGreaterThan(5 * 0.91);
    expect(quantile(d, 0.5)).toBeLessThan(5 * 1.09);
    expect(quantile(d, 0.99)).toBeGreaterThan(9.9 * 0.91);
    expect(quantile(d, 0.99)).toBeLessThanOrEqual(10);
    expect(meanMs(d)).toBeCloseTo(5.005, 6);
  });

  it('merges subtasks by adding counts, and survives empty parts and clock skew', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 99; i++) a.record(1);
    b.record(100);
    b.record(-0.5);
    const m = mergeHistograms([a.toData(), b.toData(), new LatencyHistogram().toData()]);
    expect(m.count).toBe(101);
    expect(m.minMs).toBe(-0.5);
    expect(m.maxMs).toBe(100);
    expect(quantile(m, 0.5)).toBeCloseTo(1, 1);
    expect(quantile(m, 1)).toBe(100);
    expect(Number.isNaN(quantile(new LatencyHistogram().toData(), 0.5))).toBe(true);
  });
});
