/**
 * Outputs that wire an operator chain. A chained target is a direct call into the next
 * operator; a writer target serializes into an exchange. Each operator's Output counts its
 * records out; each chained call counts the next operator's records in and attributes a
 * throw to that operator, with the subtask and the (truncated) record.
 */
import { CancellationError, UserFunctionError, truncateForMessage } from '@sluice/common';
import { compileLink } from '../operators/compiled-links.js';
import type { Output, StreamOperator } from '../operators/types.js';
import { StateIncompatibleError } from '../state/errors.js';
import type { OperatorCounters } from './task-metrics.js';

export interface Target {
  push(value: unknown, timestamp: number | undefined): void;
  watermark(watermark: number): void;
  watermarkStatus(idle: boolean): void;
}

/** What a chain-end target needs from an exchange writer. */
export interface ExchangeWriter {
  emit(value: unknown, timestamp: number | undefined): void;
  broadcastWatermark(watermark: number): void;
  broadcastWatermarkStatus(idle: boolean): void;
}

export function wrapUserError(err: unknown, operator: string, subtask: number, record: unknown, hasRecord: boolean): unknown {
  // State a restore cannot use is not the user function's failure: it keeps its own code, which fails the job at once.
  if (err instanceof UserFunctionError || err instanceof CancellationError || err instanceof StateIncompatibleError) return err;
  return new UserFunctionError(operator, subtask, hasRecord ? truncateForMessage(record) : undefined, err);
}

export class ChainedTarget implements Target {
  constructor(
    private readonly op: StreamOperator,
    private readonly inputIndex: 0 | 1,
    private readonly counters: OperatorCounters,
    private readonly operatorName: string,
    private readonly subtask: number,
    /**
     * False when the task derives the operator's records in from the one output that feeds it
     * (every record that output counts out comes here), so the hop counts once, not twice.
     */
    private readonly countsIn: boolean,
  ) {}

  push(value: unknown, timestamp: number | undefined): void {
    if (this.countsIn) this.counters.recordsIn++;
    try {
      this.op.processElement(value, timestamp, this.inputIndex);
    } catch (err) {
      throw wrapUserError(err, this.operatorName, this.subtask, value, true);
    }
  }

  /**
   * For an Output whose only main target this is: its collect and this push in one function,
   * compiled for this link alone (compiled-links.ts); undefined without code generation.
   */
  compileCollect(outCounters: OperatorCounters): ((value: unknown, timestamp: number | undefined) => void) | undefined {
    return compileLink(
      ['outCounters', 'inCounters', 'op', 'input', 'wrap', 'name', 'subtask'],
      `return function collect(value, timestamp) {
  outCounters.recordsOut++;${this.countsIn ? '\n  inCounters.recordsIn++;' : ''}
  try {
    op.processElement(value, timestamp, input);
  } catch (err) {
    throw wrap(err, name, subtask, value, true);
  }
};`,
      [outCounters, this.counters, this.op, this.inputIndex, wrapUserError, this.operatorName, this.subtask],
    );
  }

  watermark(watermark: number): void {
    try {
      this.op.processWatermark(watermark, this.inputIndex);
    } catch (err) {
      throw wrapUserError(err, this.operatorName, this.subtask, undefined, false);
    }
  }

  watermarkStatus(idle: boolean): void {
    this.op.processWatermarkStatus(idle, this.inputIndex);
  }
}

export class WriterTarget implements Target {
  constructor(private readonly writer: ExchangeWriter) {}
  push(value: unknown, timestamp: number | undefined): void {
    this.writer.emit(value, timestamp);
  }
  watermark(watermark: number): void {
    this.writer.broadcastWatermark(watermark);
  }
  watermarkStatus(idle: boolean): void {
    this.writer.broadcastWatermarkStatus(idle);
  }
}

/** The Output handed to one operator of the chain. */
export class OperatorOutput implements Output {
  private readonly single: Target | undefined;
  private readonly all: Target[];

  constructor(
    private readonly main: Target[],
    private readonly side: ReadonlyMap<string, Target[]>,
    private readonly counters: OperatorCounters,
    /** Sees every watermark this operator emits (the task tracks its chain head's for metrics). */
    private readonly onWatermark?: (watermark: number) => void,
  ) {
    this.single = main.length === 1 ? main[0] : undefined;
    // One chained target: collect and its push as one function for this link (compiled-links.ts).
    if (this.single instanceof ChainedTarget) {
      const own = this.single.compileCollect(counters);
      if (own !== undefined) this.collect = own;
    }
    const all = [...main];
    for (const targets of side.values()) for (const t of targets) if (!all.includes(t)) all.push(t);
    this.all = all;
  }

  collect(value: unknown, timestamp: number | undefined): void {
    this.counters.recordsOut++;
    const s = this.single;
    if (s !== undefined) {
      s.push(value, timestamp);
      return;
    }
    const m = this.main;
    for (let i = 0; i < m.length; i++) m[i]!.push(value, timestamp);
  }

  collectSide(tag: string, value: unknown, timestamp: number | undefined): void {
    const targets = this.side.get(tag);
    if (targets === undefined) return;
    this.counters.recordsOut++;
    for (let i = 0; i < targets.length; i++) targets[i]!.push(value, timestamp);
  }

  emitWatermark(watermark: number): void {
    this.onWatermark?.(watermark);
    for (const t of this.all) t.watermark(watermark);
  }

  emitWatermarkStatus(idle: boolean): void {
    for (const t of this.all) t.watermarkStatus(idle);
  }
}
