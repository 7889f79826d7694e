/**
 * Wall-clock milliseconds with sub-millisecond precision that agree across worker threads:
 * each thread has its own `performance.timeOrigin`, so `timeOrigin + now()` is comparable
 * between threads while `performance.now()` alone is not.
 */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: preciseNowMs };

/** A clock tests advance by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  nowMs(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
