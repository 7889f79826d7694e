/**
 * Watermark bookkeeping of two-input operators: each input is a channel of a multiplexer, so
 * the operator's watermark is the minimum of both inputs, with idle inputs left out.
 */
import type { WatermarkChannel, WatermarkTarget } from './watermark-multiplexer.js';
import { WatermarkMultiplexer } from './watermark-multiplexer.js';

export class TwoInputWatermarks {
  private readonly mux: WatermarkMultiplexer;
  private readonly inputs: [WatermarkChannel, WatermarkChannel];

  constructor(target: WatermarkTarget) {
    this.mux = new WatermarkMultiplexer(target);
    this.inputs = [this.mux.createChannel(), this.mux.createChannel()];
  }

  /** The combined watermark emitted so far. */
  get current(): number {
    return this.mux.current;
  }

  processWatermark(watermark: number, inputIndex: 0 | 1): void {
    this.inputs[inputIndex].emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void {
    if (idle) this.inputs[inputIndex].markIdle();
    else this.inputs[inputIndex].markActive();
  }
}
