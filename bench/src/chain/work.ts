/**
 * The per-record work of the chain benchmark, defined once so the chain job and the fused loop
 * run the very same functions: Nexmark q1's currency conversion, then q2's selection on the
 * converted bid, into a sink that discards records but folds each into a checksum (so the
 * fused loop cannot drop the map as dead code, and both sides can prove they produced the same
 * outputs, not just as many).
 */
import type { Gauge, Sink, SinkWriter, SinkWriterContext } from '@sluice/api';
import { q1Convert, q2Selects, type Q1Result } from '@sluice/examples/nexmark';

/** q1's output, the record q2's filter and the sink see. */
export type ConvertedBid = Q1Result;

/** q1's map, the job file's own function. */
export { q1Convert };

/** q2's predicate, applied to q1's output (which keeps the auction id). */
export function q2Select(r: ConvertedBid): boolean {
  return q2Selects(r.auction);
}

/** One output's contribution to the checksum; the same sum in the same order gives the same double. */
export function checksumOf(r: ConvertedBid): number {
  return r.price + r.auction;
}

/** Gauges the checksum sink sets once, at the end of its input (no per-record metric work). */
export const OUTPUTS_GAUGE = 'chain_bench_outputs';
export const CHECKSUM_GAUGE = 'chain_bench_checksum';

class ChecksumWriter implements SinkWriter<ConvertedBid> {
  private outputs = 0;
  private checksum = 0;
  private readonly outputsGauge: Gauge;
  private readonly checksumGauge: Gauge;

  constructor(ctx: SinkWriterContext) {
    this.outputsGauge = ctx.metrics.gauge(OUTPUTS_GAUGE, 'Records the chain benchmark sink received.');
    this.checksumGauge = ctx.metrics.gauge(CHECKSUM_GAUGE, 'Sum of price + auction over the records the chain benchmark sink received.');
  }

  write(r: ConvertedBid): void {
    this.outputs++;
    this.checksum += checksumOf(r);
  }

  flush(endOfInput: boolean): void {
    if (!endOfInput) return;
    this.outputsGauge.set(this.outputs);
    this.checksumGauge.set(this.checksum);
  }

  close(): void {}
}

/** A discarding sink that keeps a count and a checksum, reported through two custom gauges. */
export class ChecksumSink implements Sink<ConvertedBid> {
  createWriter(ctx: SinkWriterContext): SinkWriter<ConvertedBid> {
    return new ChecksumWriter(ctx);
  }
  describe(): string {
    return 'ChecksumSink';
  }
}
