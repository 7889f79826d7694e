import { ManualClock } from '@sluice/common';
import { UNLIMITED_ATTEMPTS, type RestartStrategyConfig } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { createRestartBackoff, type RestartBackoff } from './restart-strategy.js';

/** Fails at the clock's time and returns what the JobMaster would decide. */
function fail(b: RestartBackoff, clock: ManualClock): { restart: boolean; delay: number } {
  b.notifyFailure(clock.nowMs());
  return { restart: b.canRestart(), delay: b.backoffMs() };
}

describe('none', () => {
  it('never restarts', () => {
    const b = createRestartBackoff({ type: 'none' });
    expect(b.canRestart()).toBe(false);
    expect(fail(b, new ManualClock())).toEqual({ restart: false, delay: 0 });
    expect(b.describe()).toBe('none: restarts are disabled (1 failure)');
  });
});

describe('fixed-delay', () => {
  it('restarts `attempts` times with the same delay, then gives up', () => {
    const clock = new ManualClock(1_000);
    const b = createRestartBackoff({ type: 'fixed-delay', attempts: 3, delayMs: 2_000 });
    expect(b.canRestart()).toBe(true);
    expect(b.describe()).toBe('fixed-delay: 0 of 3 restart attempts used, delay 2s');
    for (let i = 1; i <= 3; i++) {
      clock.advance(10 * 3_600_000); // however far apart: attempts are counted over the job's life
      expect(fail(b, clock)).toEqual({ restart: true, delay: 2_000 });
      expect(b.describe()).toBe(`fixed-delay: ${i} of 3 restart attempts used, delay 2s`);
    }
    expect(fail(b, clock)).toEqual({ restart: false, delay: 2_000 });
    expect(b.describe()).toBe('fixed-delay: 3 of 3 restart attempts used, none left, delay 2s');
  });

  it('with 0 attempts behaves like none; with UNLIMITED_ATTEMPTS never gives up', () => {
    const clock = new ManualClock();
    expect(fail(createRestartBackoff({ type: 'fixed-delay', attempts: 0, delayMs: 5 }), clock).restart).toBe(false);
    const forever = createRestartBackoff({ type: 'fixed-delay', attempts: UNLIMITED_ATTEMPTS, delayMs: 5 });
    for (let i = 0; i < 10_000; i++) expect(fail(forever, clock).restart).toBe(true);
    expect(forever.describe()).toBe('fixed-delay: 10000 restart attempts used (unlimited), delay 5ms');
  });

  it('validates its config, since it may come from a REST body', () => {
    expect(() => createRestartBackoff({ type: 'fixed-delay', attempts: -1, delayMs: 0 })).toThrow(/'attempts' must be an integer ≥ 0/);
  });
});

describe('failure-rate', () => {
  const config: RestartStrategyConfig = { type: 'failure-rate', maxFailuresPerInterval: 3, intervalMs: 60_000, delayMs: 1_000 };

  it('allows at most N failures within a sliding interval', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff(config);
    expect(fail(b, clock)).toEqual({ restart: true, delay: 1_000 }); // t=0
    clock.set(10_000);
    expect(fail(b, clock).restart).toBe(true); // t=10s
    clock.set(20_000);
    expect(fail(b, clock).restart).toBe(true); // t=20s: 3 in the window
    clock.set(30_000);
    expect(fail(b, clock).restart).toBe(false); // t=30s: a 4th within 60s
    expect(b.describe()).toBe('failure-rate: 4 failures within the last 1min, at most 3 allowed, delay 1s');
  });

  it('forgets failures as they slide out of the window (exactly intervalMs old no longer counts)', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff(config);
    for (const t of [0, 10_000, 20_000]) {
      clock.set(t);
      expect(fail(b, clock).restart).toBe(true);
    }
    clock.set(60_000); // the failure at 0 leaves the window: 10s, 20s, 60s
    expect(fail(b, clock).restart).toBe(true);
    clock.set(69_999); // 10s is still inside: 10s, 20s, 60s, 69.999s
    expect(fail(b, clock).restart).toBe(false);
    expect(b.describe()).toMatch(/^failure-rate: 4 failures within the last 1min/);
    // A steady rate just under the limit runs forever.
    const steady = createRestartBackoff(config);
    for (let t = 0; t < 3_600_000; t += 20_000) {
      clock.set(t);
      expect(fail(steady, clock).restart).toBe(true);
    }
  });
});

describe('exponential-delay', () => {
  const base = { type: 'exponential-delay', initialDelayMs: 1_000, maxDelayMs: 10_000, multiplier: 2, resetAfterMs: 60_000, jitter: 0 } as const;

  /** Fails `delay + ranFor` after the previous restart, as a job that ran `ranFor` ms would. */
  function failAfterRunning(b: RestartBackoff, clock: ManualClock, ranFor: number): { restart: boolean; delay: number } {
    clock.advance(b.backoffMs() + ranFor);
    return fail(b, clock);
  }

  it('multiplies the delay per failure up to the max', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff(base);
    expect(b.backoffMs()).toBe(1_000);
    const delays = Array.from({ length: 6 }, () => failAfterRunning(b, clock, 5_000).delay);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(b.canRestart()).toBe(true);
    expect(b.describe()).toBe(
      'exponential-delay: 6 failures since the last reset (0 resets so far), delay 10s (initial 1s, max 10s, ×2, jitter ±0, reset after 1min without failure)',
    );
  });

  it('starts over at the initial delay after running resetAfterMs without a failure (measured from the restart)', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff(base);
    expect([1, 2, 3].map(() => failAfterRunning(b, clock, 1_000).delay)).toEqual([1_000, 2_000, 4_000]);
    // Ran 59.999s after restarting: not stable yet, so the delay keeps growing.
    expect(failAfterRunning(b, clock, 59_999).delay).toBe(8_000);
    // Ran 60s after the restart (which came 8s after that failure): reset.
    expect(failAfterRunning(b, clock, 60_000).delay).toBe(1_000);
    expect(failAfterRunning(b, clock, 0).delay).toBe(2_000);
    expect(b.describe()).toMatch(/^exponential-delay: 2 failures since the last reset \(1 reset so far\), delay 2s/);
  });

  it('applies ±jitter around the nominal delay, within [0, max], without compounding it', () => {
    const clock = new ManualClock(0);
    const draws = [0, 0.999999, 0.5, 0, 0.999999];
    const b = createRestartBackoff({ ...base, jitter: 0.5 }, { random: () => draws.shift()! });
    // nominal 1s, 2s, 4s, 8s, 10s (max) with jitter factor 1 − 0.5, ~1 + 0.5, 1, 1 − 0.5, ~1 + 0.5 (capped at max)
    expect([1, 2, 3, 4, 5].map(() => failAfterRunning(b, clock, 0).delay)).toEqual([500, 3_000, 4_000, 4_000, 10_000]);
  });

  it('keeps every jittered delay within ±jitter of the nominal one', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff({ ...base, maxDelayMs: 1_000_000, jitter: 0.1 });
    let nominal = 1_000;
    for (let i = 0; i < 10; i++) {
      const { delay } = failAfterRunning(b, clock, 0);
      expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * 0.9));
      expect(delay).toBeLessThanOrEqual(Math.ceil(nominal * 1.1));
      nominal *= 2;
    }
  });

  it('limits attempts between resets when `attempts` is set, and a reset restores them', () => {
    const clock = new ManualClock(0);
    const b = createRestartBackoff({ ...base, attempts: 2 });
    expect(failAfterRunning(b, clock, 0).restart).toBe(true);
    expect(failAfterRunning(b, clock, 0).restart).toBe(true);
    expect(b.describe()).toMatch(/^exponential-delay: 2 of 2 restart attempts used since the last reset/);

    const again = createRestartBackoff({ ...base, attempts: 2 });
    failAfterRunning(again, clock, 0);
    failAfterRunning(again, clock, 0);
    expect(failAfterRunning(again, clock, 0).restart).toBe(false);
    expect(again.describe()).toMatch(/2 of 2 restart attempts used, none left/);

    const stable = createRestartBackoff({ ...base, attempts: 2 });
    for (let i = 0; i < 10; i++) expect(failAfterRunning(stable, clock, 60_000)).toEqual({ restart: true, delay: 1_000 });
  });
});
