/**
 * The runtime's operator contract. An operator chain is a list of StreamOperators wired by
 * Outputs: a chained Output calls the next operator's `processElement` directly (a plain
 * function call on one thread); the Output at a chain's end hands records to RecordWriters.
 * Operators never see threads, channels or batches.
 */
import type { KeyGroupRange } from '@sluice/common';
import type { ReaderStatus, TaskInfo } from '@sluice/api';
import type { JobConfig } from '@sluice/protocol';

/** "No timestamp" is `undefined`; watermarks are numbers, −Infinity before the first. */
export interface Output {
  collect(value: unknown, timestamp: number | undefined): void;
  /** Side output by tag id; dropped when no edge consumes that tag. */
  collectSide(tag: string, value: unknown, timestamp: number | undefined): void;
  emitWatermark(watermark: number): void;
  /** Idle inputs are left out of downstream watermark minimums until active again. */
  emitWatermarkStatus(idle: boolean): void;
}

export interface ScheduledCallback {
  cancel(): void;
}

/**
 * Processing time for one task thread. The task loop fires due callbacks between batches and
 * sleeps no longer than the next deadline, so callbacks never run concurrently with records.
 */
export interface ProcessingTimeService {
  now(): number;
  /** Runs `callback(time)` once processing time reaches `time`. */
  registerTimer(time: number, callback: (time: number) => void): ScheduledCallback;
}

/** Counters an operator may bump; the task publishes them to the TaskManager's metrics. */
export interface OperatorMetricGroup {
  lateRecordsDropped: number;
}

export interface OperatorContext {
  readonly operatorName: string;
  readonly nodeId: number;
  readonly taskInfo: TaskInfo;
  readonly params: Readonly<Record<string, string>>;
  readonly config: JobConfig;
  /** Key groups owned by this subtask (keyed operators only store keys in this range). */
  readonly keyGroupRange: KeyGroupRange;
  readonly processingTime: ProcessingTimeService;
  readonly metrics: OperatorMetricGroup;
  /**
   * For sinks: ship records to the client (collect sink). Records are posted to the main
   * thread in batches, never one by one.
   */
  readonly collectToClient: (sinkName: string, records: unknown[]) => void;
}

export interface StreamOperator {
  open(ctx: OperatorContext, output: Output): void | Promise<void>;
  /** `inputIndex` is 0 for one-input operators, 0 or 1 for two-input ones. */
  processElement(value: unknown, timestamp: number | undefined, inputIndex: 0 | 1): void;
  /**
   * The combined watermark of input `inputIndex` advanced. One-input operators fire due
   * event-time timers/windows and then forward it; two-input operators forward the minimum of
   * both inputs.
   */
  processWatermark(watermark: number, inputIndex: 0 | 1): void;
  /** Input `inputIndex` became idle (true) or active (false). */
  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1): void;
  /** All inputs ended (after the final +Infinity watermark went through). Flush buffered output. */
  finish(): void | Promise<void>;
  /** Release resources; called once, after finish or on cancel/failure. */
  close(): void | Promise<void>;
  /** A sink that is full returns a promise; the task reads no more input until it settles. */
  backpressure?(): Promise<void> | undefined;
}

/** The head of a source chain. The task loop calls `emitNext` while it returns 'more'. */
export interface SourceStreamOperator extends StreamOperator {
  addSplits(splits: unknown[]): void;
  noMoreSplits(): void;
  emitNext(): ReaderStatus;
  isAvailable(): Promise<void>;
}

export function isSourceOperator(op: StreamOperator): op is SourceStreamOperator {
  return typeof (op as Partial<SourceStreamOperator>).emitNext === 'function';
}
