/**
 * The collect sink: ships records to the client in batches of up to 1,000 (one message per
 * batch, never per record). A partial batch goes out every 200 ms of processing time, so a slow
 * or endless job still delivers, and on finish or close (a cancelled job keeps what it produced).
 */
import { PeriodicTimer } from './periodic.js';
import type { OperatorContext, Output, StreamOperator } from './types.js';

export const COLLECT_BATCH_SIZE = 1000;
export const COLLECT_FLUSH_INTERVAL_MS = 200;

export class CollectOperator implements StreamOperator {
  private batch: unknown[] = [];
  private send!: (sinkName: string, records: unknown[]) => void;
  private periodic: PeriodicTimer | undefined;

  constructor(private readonly name: string) {}

  open(ctx: OperatorContext, _output: Output): void {
    this.send = ctx.collectToClient;
    this.periodic = new PeriodicTimer(ctx.processingTime, COLLECT_FLUSH_INTERVAL_MS, () => {
      if (this.batch.length > 0) this.ship();
    });
    this.periodic.start();
  }

  processElement(value: unknown): void {
    this.batch.push(value);
    if (this.batch.length >= COLLECT_BATCH_SIZE) this.ship();
  }

  processWatermark(): void {}
  processWatermarkStatus(): void {}

  finish(): void {
    if (this.batch.length > 0) this.ship();
  }

  close(): void {
    this.periodic?.stop();
    if (this.batch.length > 0 && this.send !== undefined) this.ship();
  }

  private ship(): void {
    const records = this.batch;
    this.batch = [];
    this.send(this.name, records);
  }
}
