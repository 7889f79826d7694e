/**
 * The driver's view of time: a clock and one-shot timers. Every deadline of the driver (offer
 * hold, reconciliation backoff, implicit reconciliation, the failure-rate brake, terminate's
 * bound) goes through this, so tests drive time by hand instead of waiting for it.
 */
import { systemClock } from '@sluice/common';

export interface TimerHandle {
  cancel(): void;
}

export interface DriverTimers {
  nowMs(): number;
  /** Runs `fn` once after `ms`; the timer never keeps the process alive. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemTimers: DriverTimers = {
  nowMs: () => systemClock.nowMs(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
