/**
 * The runtime's operator contract. An operator chain is a list of StreamOperators wired by
 * Outputs: a chained Output calls the next operator's `processElement` directly (a plain
 * function call on one thread); the Output at a chain's end hands records to RecordWriters.
 * Operators never see threads, channels or batches.
 */
import type { KeyGroupRange } from '@sluice/common';
import type { MetricGroup, ReaderStatus, TaskInfo } from '@sluice/api';
import type { JobConfig, SourcePosition } from '@sluice/protocol';
import type { HeapKeyedStateBackend, RestoredStateShapes } from '../state/heap-backend.js';
import type { KeyGroupBytes } from '../state/keyed-snapshot.js';
import type { InternalTimerService } from '../state/timer-service.js';

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
  /** The operator's custom metrics, for its source reader, sink writer or user function. */
  readonly customMetrics: MetricGroup;
  /**
   * For sinks: ship records to the client (collect sink). Records are posted to the main
   * thread in batches, never one by one.
   */
  readonly collectToClient: (sinkName: string, records: unknown[]) => void;
  /** State restored for this operator when the subtask starts from a checkpoint or savepoint. */
  readonly restored?: RestoredOperatorState;
  /** Keyed operators register their state backend (and timers) so the task can checkpoint them. */
  registerKeyedState?(backend: HeapKeyedStateBackend, timers?: InternalTimerService): void;
}

export interface RestoredOperatorState {
  /** This subtask's key groups, as `HeapKeyedStateBackend.serializeGroup` wrote them. */
  keyGroups: KeyGroupBytes[];
  /**
   * What `snapshotState` returned, per subtask of the checkpoint. At unchanged parallelism it
   * is this subtask's own; after a rescale subtask 0 receives every subtask's and the others none.
   */
  operatorState: unknown[];
  /** Sources: the event time reached at the checkpoint; no watermark at or below it is sent again. */
  watermark?: number;
  /** What the checkpoint recorded about the keyed states restored (absent for checkpoints that did not record it). */
  shapes?: RestoredStateShapes;
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
  /**
   * A checkpoint barrier reached this operator: everything before it has been processed. Return
   * the operator's non-keyed state (structured-cloneable data; keyed state is taken by the task).
   * A promise delays this subtask's acknowledgement, not the barrier's progress downstream.
   */
  snapshotState?(checkpointId: number): unknown;
  /** Every subtask acknowledged checkpoint `checkpointId` and it is stored: commit side effects. */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void;
}

/**
 * The head of a source chain. The task loop calls `emitNext` while it returns 'more'. Its
 * checkpointed state is its position (`snapshotPosition`), which travels as plain data to the
 * JobMaster; `snapshotState` is for other operators.
 */
export interface SourceStreamOperator extends StreamOperator {
  snapshotPosition(checkpointId: number): SourcePosition;
  addSplits(splits: unknown[]): void;
  noMoreSplits(): void;
  emitNext(): ReaderStatus;
  isAvailable(): Promise<void>;
  /** Sends the final (+Infinity) watermark now: a drained stop ends event time. */
  emitFinalWatermark(): void;
}

export function isSourceOperator(op: StreamOperator): op is SourceStreamOperator {
  return typeof (op as Partial<SourceStreamOperator>).emitNext === 'function';
}
