/**
 * The driver's brake on launching after failures (the ResourceManager's WorkerFailureRate, kept
 * here too because the ResourceManager's replacements reach the driver as ordinary requests):
 * while too many TaskManagers failed within the interval, a requested worker is recorded but not
 * offered to the matcher; a timer looks again after the retry delay.
 */
import type { Logger } from '@sluice/common';
import { WorkerFailureRate, type WorkerFailureRateOptions } from '@sluice/jobmanager';
import type { DriverTimers, TimerHandle } from './timers.js';
import type { Worker, WorkerTable } from './worker-table.js';

export class LaunchBrake {
  private readonly rate: WorkerFailureRate;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly o: WorkerFailureRateOptions,
    private readonly timers: DriverTimers,
    private readonly workers: WorkerTable,
    private readonly logger: Logger,
    /** Posts the re-check onto the driver's mailbox; `released` runs when workers may be launched again. */
    private readonly run: (action: () => Promise<void>) => void,
    private readonly released: () => Promise<void>,
  ) {
    this.rate = new WorkerFailureRate(o);
  }

  recordFailure(): void {
    this.rate.recordFailure(this.timers.nowMs());
  }

  /** Holds a newly requested worker back while the failure rate is over the limit. */
  apply(w: Worker): void {
    const now = this.timers.nowMs();
    const wait = this.rate.delayBeforeStart(now);
    if (wait <= 0) return;
    w.notBeforeMs = now + wait;
    this.logger.warn(`${this.rate.recent(now)} TaskManagers failed within ${this.o.intervalMs} ms; ${w.taskId} waits ${wait} ms before it is launched`);
    this.timer ??= this.timers.after(wait, () => this.run(() => this.check()));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    this.timer = undefined;
    const now = this.timers.nowMs();
    const wait = this.rate.delayBeforeStart(now);
    for (const w of this.workers.all()) {
      if (w.notBeforeMs === undefined) continue;
      if (wait > 0) w.notBeforeMs = now + wait;
      else delete w.notBeforeMs;
    }
    if (wait > 0) {
      this.timer = this.timers.after(wait, () => this.run(() => this.check()));
      return;
    }
    await this.released();
  }
}
