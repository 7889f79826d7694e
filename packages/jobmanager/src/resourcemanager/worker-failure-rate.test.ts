import { describe, expect, it } from 'vitest';
import { WorkerFailureRate } from './worker-failure-rate.js';

describe('WorkerFailureRate', () => {
  it('lets failed workers be replaced at once up to the limit per interval, then asks to wait', () => {
    const rate = new WorkerFailureRate({ maxFailures: 3, intervalMs: 1000, retryDelayMs: 200 });
    for (const t of [0, 100, 200]) {
      expect(rate.delayBeforeStart(t)).toBe(0);
      rate.recordFailure(t);
    }
    expect(rate.delayBeforeStart(300)).toBe(200);
    expect(rate.recent(999)).toBe(3);
    // The first failure leaves the window at 1000: one more start is allowed.
    expect(rate.delayBeforeStart(1000)).toBe(0);
    expect(rate.recent(1000)).toBe(2);
  });
});
