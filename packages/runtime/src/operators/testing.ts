/**
 * A test harness for single operators (in the spirit of Flink's OneInputStreamOperatorTestHarness
 * and TwoInputStreamOperatorTestHarness): builds an operator from a spec, feeds it records,
 * watermarks, idleness and processing-time advances from a manual clock, and records everything
 * it emits. Pure in-process; no threads, channels or real time.
 */
import type { OperatorSpec } from '@sluice/api';
import { keyGroupRangeFor } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, type JobConfig } from '@sluice/protocol';
import { createOperator } from './factory.js';
import { TaskProcessingTimeService } from '../task/processing-time.js';
import type { OperatorContext, OperatorMetricGroup, Output, RestoredOperatorState, StreamOperator } from './types.js';
import { SubtaskCustomMetrics } from '../metrics/custom-metric-group.js';

export interface OutputRecord {
  value: unknown;
  timestamp: number | undefined;
}

/** Everything an operator emitted, in order per kind; `events` interleaves them. */
export class TestingOutput implements Output {
  readonly records: OutputRecord[] = [];
  readonly sideOutputs = new Map<string, OutputRecord[]>();
  readonly watermarks: number[] = [];
  readonly statuses: boolean[] = [];
  readonly events: ({ type: 'record'; value: unknown; timestamp: number | undefined } | { type: 'watermark'; watermark: number } | { type: 'status'; idle: boolean })[] = [];

  collect(value: unknown, timestamp: number | undefined): void {
    this.records.push({ value, timestamp });
    this.events.push({ type: 'record', value, timestamp });
  }
  collectSide(tag: string, value: unknown, timestamp: number | undefined): void {
    let list = this.sideOutputs.get(tag);
    if (list === undefined) {
      list = [];
      this.sideOutputs.set(tag, list);
    }
    list.push({ value, timestamp });
  }
  emitWatermark(watermark: number): void {
    this.watermarks.push(watermark);
    this.events.push({ type: 'watermark', watermark });
  }
  emitWatermarkStatus(idle: boolean): void {
    this.statuses.push(idle);
    this.events.push({ type: 'status', idle });
  }

  values(): unknown[] {
    return this.records.map((r) => r.value);
  }
  sideValues(tag: string): unknown[] {
    return (this.sideOutputs.get(tag) ?? []).map((r) => r.value);
  }
  clear(): void {
    this.records.length = 0;
    this.sideOutputs.clear();
    this.watermarks.length = 0;
    this.statuses.length = 0;
    this.events.length = 0;
  }
}

/**
 * Processing time that moves only when the test says so: the task's own service on a manual
 * clock. `advanceTo` runs every callback due on the way, each at its own time.
 */
export class TestingProcessingTimeService extends TaskProcessingTimeService {
  private current: number;

  constructor(start = 0) {
    super(() => this.current);
    this.current = start;
  }

  /** Moves time to `time`, running every callback due on the way at its own time. */
  advanceTo(time: number): void {
    for (let next = this.nextDeadline(); next <= time; next = this.nextDeadline()) {
      if (next > this.current) this.current = next;
      this.fireDue(next);
    }
    this.current = Math.max(this.current, time);
  }
}

export interface HarnessOptions {
  name?: string;
  parallelism?: number;
  subtaskIndex?: number;
  maxParallelism?: number;
  params?: Record<string, string>;
  config?: Partial<JobConfig>;
  /** Initial processing time. */
  startTime?: number;
  /** State to restore, as a checkpoint would hand it to the operator. */
  restored?: RestoredOperatorState;
}

export class OperatorTestHarness {
  readonly operator: StreamOperator;
  readonly output = new TestingOutput();
  readonly time: TestingProcessingTimeService;
  readonly metrics: OperatorMetricGroup = { lateRecordsDropped: 0 };
  /** Custom metrics the operator (its reader, writer or function) defined; `customMetrics.read()` shows their values. */
  readonly customMetrics = new SubtaskCustomMetrics();
  /** Batches shipped by collect sinks, per sink name. */
  readonly collected = new Map<string, unknown[][]>();
  readonly context: OperatorContext;

  constructor(specOrOperator: OperatorSpec | StreamOperator, options: HarnessOptions = {}) {
    const name = options.name ?? 'test-operator';
    this.operator = 'kind' in specOrOperator ? createOperator(specOrOperator, name) : specOrOperator;
    this.time = new TestingProcessingTimeService(options.startTime ?? 0);
    const parallelism = options.parallelism ?? 1;
    const subtaskIndex = options.subtaskIndex ?? 0;
    const maxParallelism = options.maxParallelism ?? 128;
    const config: JobConfig = { ...DEFAULT_JOB_CONFIG, maxParallelism, ...options.config };
    this.context = {
      operatorName: name,
      nodeId: 1,
      taskInfo: { taskName: name, subtaskIndex, parallelism, maxParallelism, attempt: 0 },
      params: options.params ?? {},
      config,
      keyGroupRange: keyGroupRangeFor(maxParallelism, parallelism, subtaskIndex),
      ...(options.restored === undefined ? {} : { restored: options.restored }),
      processingTime: this.time,
      metrics: this.metrics,
      customMetrics: this.customMetrics.group(1, name),
      collectToClient: (sinkName, records) => {
        let list = this.collected.get(sinkName);
        if (list === undefined) {
          list = [];
          this.collected.set(sinkName, list);
        }
        list.push(records);
      },
    };
  }

  /** Builds and opens a harness in one step. */
  static async open(specOrOperator: OperatorSpec | StreamOperator, options: HarnessOptions = {}): Promise<OperatorTestHarness> {
    const h = new OperatorTestHarness(specOrOperator, options);
    await h.operator.open(h.context, h.output);
    return h;
  }

  processElement(value: unknown, timestamp?: number, inputIndex: 0 | 1 = 0): void {
    this.operator.processElement(value, timestamp, inputIndex);
  }

  processWatermark(watermark: number, inputIndex: 0 | 1 = 0): void {
    this.operator.processWatermark(watermark, inputIndex);
  }

  processWatermarkStatus(idle: boolean, inputIndex: 0 | 1 = 0): void {
    this.operator.processWatermarkStatus(idle, inputIndex);
  }

  /** Advances the manual processing time, firing due timers. */
  setProcessingTime(time: number): void {
    this.time.advanceTo(time);
  }

  async finish(): Promise<void> {
    await this.operator.finish();
  }

  async close(): Promise<void> {
    await this.operator.close();
  }

  /** finish() then close(), like a bounded task ending. */
  async end(): Promise<void> {
    await this.finish();
    await this.close();
  }

  values(): unknown[] {
    return this.output.values();
  }

  records(): OutputRecord[] {
    return this.output.records;
  }

  sideValues(tag: string): unknown[] {
    return this.output.sideValues(tag);
  }

  watermarks(): number[] {
    return this.output.watermarks;
  }
}
