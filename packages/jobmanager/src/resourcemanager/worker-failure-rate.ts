/**
 * The ResourceManager's brake on replacing failed workers (Flink's
 * `resourcemanager.start-worker.max-failure-rate`): a worker that keeps dying at start — a bad
 * image, a port in use, a host out of memory — must not be restarted in a tight loop. Up to
 * `maxFailures` failures in any `intervalMs` are replaced at once; beyond that, new workers wait
 * `retryDelayMs` until the rate has fallen below the limit. Pure: the caller gives the time.
 */
export interface WorkerFailureRateOptions {
  maxFailures: number;
  intervalMs: number;
  retryDelayMs: number;
}

export const DEFAULT_WORKER_FAILURE_RATE: Readonly<WorkerFailureRateOptions> = Object.freeze({ maxFailures: 10, intervalMs: 60_000, retryDelayMs: 3_000 });

export class WorkerFailureRate {
  private failures: number[] = [];

  constructor(private readonly o: WorkerFailureRateOptions = DEFAULT_WORKER_FAILURE_RATE) {}

  recordFailure(nowMs: number): void {
    this.failures.push(nowMs);
  }

  /** Failures within the interval before `nowMs`. */
  recent(nowMs: number): number {
    this.failures = this.failures.filter((t) => nowMs - t < this.o.intervalMs);
    return this.failures.length;
  }

  /** 0 when a worker may be started now, else how long to wait before asking again. */
  delayBeforeStart(nowMs: number): number {
    return this.recent(nowMs) >= this.o.maxFailures ? this.o.retryDelayMs : 0;
  }
}
