/**
 * The collect sink: ships records to the client in batches of up to 1,000 (one message per
 * batch, never per record); the rest goes out on finish.
 */
import type { OperatorContext, Output, StreamOperator } from './types.js';

export const COLLECT_BATCH_SIZE = 1000;

export class CollectOperator implements StreamOperator {
  private batch: unknown[] = [];
  private send!: (sinkName: string, records: unknown[]) => void;

  constructor(private readonly name: string) {}

  open(ctx: OperatorContext, _output: Output): void {
    this.send = ctx.collectToClient;
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

  close(): void {}

  private ship(): void {
    const records = this.batch;
    this.batch = [];
    this.send(this.name, records);
  }
}
