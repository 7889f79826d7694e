/**
 * Reusable context objects handed to user functions. One instance per operator, mutated before
 * each call, so no context or collector is allocated per record.
 */
import type { Collector, OnTimerContext, OutputTag, ProcessContext, TimeDomain, TimerService } from '@sluice/api';
import { StateAccessError } from '../state/errors.js';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { InternalTimerService } from '../state/timer-service.js';
import type { Output, ProcessingTimeService } from './types.js';

/** Namespace of timers that belong to no window. */
export const DEFAULT_NAMESPACE = 0;

/**
 * The timestamp of the record being processed, set before each user call. Kept as a number and
 * a flag: a field typed `number | undefined` is stored tagged, so every record's timestamp (a
 * double: event times are no small integers) was boxed in a fresh heap number, and since these
 * objects live long, also recorded by the write barrier.
 */
class RecordTimestamp {
  private value = Number.NaN;
  private present = false;
  get currentTimestamp(): number | undefined {
    return this.present ? this.value : undefined;
  }
  set currentTimestamp(timestamp: number | undefined) {
    if (timestamp === undefined) this.present = false;
    else {
      this.value = timestamp;
      this.present = true;
    }
  }
}

/** Emits every value with the timestamp set before the user call. */
export class TimestampedCollector extends RecordTimestamp implements Collector<unknown> {
  constructor(private readonly output: Output) {
    super();
  }
  collect(value: unknown): void {
    this.output.collect(value, this.currentTimestamp);
  }
}

/** Time reads for non-keyed functions; timers need a key to fire with, so registering throws. */
export class NonKeyedTimerService implements TimerService {
  watermark = -Infinity;
  constructor(private readonly time: ProcessingTimeService, private readonly operatorName: string) {}
  currentProcessingTime(): number {
    return this.time.now();
  }
  currentWatermark(): number {
    return this.watermark;
  }
  registerEventTimeTimer(): void {
    this.fail();
  }
  registerProcessingTimeTimer(): void {
    this.fail();
  }
  deleteEventTimeTimer(): void {
    this.fail();
  }
  deleteProcessingTimeTimer(): void {
    this.fail();
  }
  private fail(): never {
    throw new StateAccessError(`operator '${this.operatorName}' used timers on a non-keyed stream; timers need keyBy(...) and a KeyedProcessFunction`);
  }
}

export class NonKeyedProcessContext extends RecordTimestamp implements ProcessContext {
  constructor(private readonly out: Output, private readonly timers: NonKeyedTimerService) {
    super();
  }
  timestamp(): number | undefined {
    return this.currentTimestamp;
  }
  timerService(): TimerService {
    return this.timers;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value, this.currentTimestamp);
  }
}

/** The timer service a KeyedProcessFunction sees: the current key's timers, default namespace. */
export class KeyedTimerService implements TimerService {
  constructor(private readonly timers: InternalTimerService) {}
  currentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  currentWatermark(): number {
    return this.timers.currentWatermark;
  }
  registerEventTimeTimer(timestamp: number): void {
    this.timers.registerEventTimeTimer(DEFAULT_NAMESPACE, timestamp);
  }
  registerProcessingTimeTimer(timestamp: number): void {
    this.timers.registerProcessingTimeTimer(DEFAULT_NAMESPACE, timestamp);
  }
  deleteEventTimeTimer(timestamp: number): void {
    this.timers.deleteEventTimeTimer(DEFAULT_NAMESPACE, timestamp);
  }
  deleteProcessingTimeTimer(timestamp: number): void {
    this.timers.deleteProcessingTimeTimer(DEFAULT_NAMESPACE, timestamp);
  }
}

/** Serves both processElement (domain unused) and onTimer of keyed (co-)process functions. */
export class KeyedProcessContextImpl extends RecordTimestamp implements OnTimerContext<unknown> {
  domain: TimeDomain = 'event';
  private readonly timers: KeyedTimerService;
  constructor(private readonly out: Output, private readonly backend: HeapKeyedStateBackend, timers: InternalTimerService) {
    super();
    this.timers = new KeyedTimerService(timers);
  }
  timestamp(): number | undefined {
    return this.currentTimestamp;
  }
  timerService(): TimerService {
    return this.timers;
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value, this.currentTimestamp);
  }
  getCurrentKey(): unknown {
    return this.backend.currentKey;
  }
  timeDomain(): TimeDomain {
    return this.domain;
  }
}
