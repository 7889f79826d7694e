/**
 * A repeating processing-time callback (periodic watermark emission, timed buffer flushes)
 * built on the task's one-shot ProcessingTimeService. The callback is created once; each tick
 * re-registers it, so a period costs one registration and no closure.
 */
import type { ProcessingTimeService, ScheduledCallback } from './types.js';

export class PeriodicTimer {
  private scheduled: ScheduledCallback | undefined;
  private readonly tick: (time: number) => void;

  constructor(private readonly time: ProcessingTimeService, private readonly intervalMs: number, private readonly onTick: (time: number) => void) {
    this.tick = (t) => {
      this.scheduled = undefined;
      this.onTick(t);
      // onTick may have stopped us.
      if (this.running) this.scheduled = this.time.registerTimer(t + this.intervalMs, this.tick);
    };
  }

  private running = false;

  /** Starts ticking every `intervalMs`; an interval of 0 or less never ticks. */
  start(): void {
    if (this.running || !(this.intervalMs > 0)) return;
    this.running = true;
    this.scheduled = this.time.registerTimer(this.time.now() + this.intervalMs, this.tick);
  }

  stop(): void {
    this.running = false;
    this.scheduled?.cancel();
    this.scheduled = undefined;
  }
}
