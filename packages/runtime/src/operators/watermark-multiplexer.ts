/**
 * Combines several watermark inputs into one: the minimum over inputs that are not idle, emitted
 * only when it advances; when every input is idle the combined output is idle. Used for source
 * splits, for one assigner's generator, and for the two inputs of co-operators.
 */
import type { WatermarkOutput } from '@sluice/api';

export interface WatermarkTarget {
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
}

export class WatermarkChannel implements WatermarkOutput {
  watermark = -Infinity;
  idle = false;

  constructor(private readonly mux: WatermarkMultiplexer) {}

  emitWatermark(watermark: number): void {
    // A watermark is activity: an idle input that emits one is active again.
    if (watermark > this.watermark || this.idle) {
      if (watermark > this.watermark) this.watermark = watermark;
      this.idle = false;
      this.mux.update();
    }
  }

  markIdle(): void {
    if (!this.idle) {
      this.idle = true;
      this.mux.update();
    }
  }

  markActive(): void {
    if (this.idle) {
      this.idle = false;
      this.mux.update();
    }
  }
}

export class WatermarkMultiplexer {
  /** Last watermark emitted downstream. */
  current = -Infinity;
  /** Whether downstream was last told this output is idle. */
  idle = false;
  private readonly channels: WatermarkChannel[] = [];

  constructor(private readonly target: WatermarkTarget) {}

  createChannel(): WatermarkChannel {
    const ch = new WatermarkChannel(this);
    this.channels.push(ch);
    return ch;
  }

  /** A finished split leaves the minimum; the others may now advance it. */
  releaseChannel(ch: WatermarkChannel): void {
    const i = this.channels.indexOf(ch);
    if (i < 0) return;
    this.channels.splice(i, 1);
    this.update();
  }

  update(): void {
    const chs = this.channels;
    if (chs.length === 0) return;
    let min = Infinity;
    let anyActive = false;
    for (let i = 0; i < chs.length; i++) {
      const ch = chs[i]!;
      if (ch.idle) continue;
      anyActive = true;
      if (ch.watermark < min) min = ch.watermark;
    }
    if (!anyActive) {
      if (!this.idle) {
        this.idle = true;
        this.target.emitWatermarkStatus(true);
      }
      return;
    }
    if (this.idle) {
      this.idle = false;
      this.target.emitWatermarkStatus(false);
    }
    if (min > this.current) {
      this.current = min;
      this.target.emitWatermark(min);
    }
  }

  /** End of input: +Infinity goes out whatever the inputs say, after leaving idleness. */
  emitFinal(): void {
    if (this.idle) {
      this.idle = false;
      this.target.emitWatermarkStatus(false);
    }
    if (this.current < Infinity) {
      this.current = Infinity;
      this.target.emitWatermark(Infinity);
    }
  }
}
