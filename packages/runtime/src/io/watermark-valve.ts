/**
 * The watermark "valve" of one logical input: combines the watermarks and idleness of its
 * channels into the input's watermark and status. Pure (no I/O, no clocks), driven by the
 * InputGate and table-tested on its own.
 *
 * Rules (Flink's StatusWatermarkValve, plus end of partition):
 * - The input's watermark is the minimum over channels that are active, not ended and aligned,
 *   and it is only ever emitted when it increases.
 * - An idle channel drops out of the minimum. When it becomes active again it stays out
 *   (unaligned) until its own watermark catches up with the input's, so a resumed channel
 *   never drags the watermark backwards.
 * - When the last active channel goes idle, the input advances to the highest watermark of its
 *   live channels (nothing can arrive below it while all are idle) and turns idle; the first
 *   channel to become active turns it active again.
 * - An ended channel drops out for good; when all channels have ended the input has ended.
 * - Watermarks from idle or ended channels are ignored.
 */

export interface ValveOutput {
  onWatermark(watermark: number): void;
  onStatus(idle: boolean): void;
}

export class WatermarkValve {
  private readonly wm: Float64Array;
  private readonly idleCh: Uint8Array;
  private readonly endedCh: Uint8Array;
  private readonly aligned: Uint8Array;
  private endedCount = 0;
  private lastOutput = -Infinity;
  private outputIdle = false;

  constructor(
    readonly channels: number,
    private readonly out: ValveOutput,
  ) {
    this.wm = new Float64Array(channels).fill(-Infinity);
    this.idleCh = new Uint8Array(channels);
    this.endedCh = new Uint8Array(channels);
    this.aligned = new Uint8Array(channels).fill(1);
  }

  /** The last watermark emitted (−Infinity before the first). */
  get watermark(): number {
    return this.lastOutput;
  }

  get idle(): boolean {
    return this.outputIdle;
  }

  /** True when every channel has ended (immediately, for an input without channels). */
  get ended(): boolean {
    return this.endedCount === this.channels;
  }

  inputWatermark(channel: number, watermark: number): void {
    if (this.endedCh[channel] !== 0 || this.idleCh[channel] !== 0 || this.outputIdle) return;
    if (!(watermark > this.wm[channel]!)) return;
    this.wm[channel] = watermark;
    if (this.aligned[channel] === 0 && watermark >= this.lastOutput) this.aligned[channel] = 1;
    this.emitNewMin();
  }

  inputStatus(channel: number, idle: boolean): void {
    if (this.endedCh[channel] !== 0) return;
    if (idle) {
      if (this.idleCh[channel] !== 0) return;
      this.idleCh[channel] = 1;
      this.aligned[channel] = 0;
      this.afterChannelLeft();
    } else {
      if (this.idleCh[channel] === 0) return;
      this.idleCh[channel] = 0;
      if (this.wm[channel]! >= this.lastOutput) this.aligned[channel] = 1;
      if (this.outputIdle) {
        this.outputIdle = false;
        this.out.onStatus(false);
      }
    }
  }

  /** The channel's producer finished. Returns true when this ended the whole input. */
  endOfPartition(channel: number): boolean {
    if (this.endedCh[channel] !== 0) return false;
    this.endedCh[channel] = 1;
    this.aligned[channel] = 0;
    this.endedCount++;
    if (this.endedCount === this.channels) return true;
    this.afterChannelLeft();
    return false;
  }

  /** A channel stopped counting (idle or ended): advance, and maybe turn the input idle. */
  private afterChannelLeft(): void {
    let anyActive = false;
    let max = -Infinity;
    for (let i = 0; i < this.channels; i++) {
      if (this.endedCh[i] !== 0) continue;
      if (this.idleCh[i] === 0) anyActive = true;
      if (this.wm[i]! > max) max = this.wm[i]!;
    }
    if (anyActive) {
      this.emitNewMin();
      return;
    }
    if (this.outputIdle) return;
    if (max > this.lastOutput) {
      this.lastOutput = max;
      this.out.onWatermark(max);
    }
    this.outputIdle = true;
    this.out.onStatus(true);
  }

  private emitNewMin(): void {
    let min = Infinity;
    let any = false;
    for (let i = 0; i < this.channels; i++) {
      if (this.aligned[i] !== 0 && this.idleCh[i] === 0 && this.endedCh[i] === 0) {
        any = true;
        if (this.wm[i]! < min) min = this.wm[i]!;
      }
    }
    if (any && min > this.lastOutput) {
      this.lastOutput = min;
      this.out.onWatermark(min);
    }
  }
}
