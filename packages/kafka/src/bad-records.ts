/**
 * What a Kafka source does with records it cannot turn into values (the deserializer threw, or
 * the record is larger than `maxRecordBytes`): fail the job naming topic, partition and offset,
 * skip and count them, or send them to a dead-letter topic with headers saying where they came
 * from and why. Whatever the policy, a reader whose share of bad records passes `maxErrorRate`
 * fails, so a wrong deserializer or a poisoned topic cannot be skipped over silently.
 */
import { ConfigurationError, SluiceError } from '@sluice/common';
import type { Message } from 'kafkajs';
import type { KafkaRecord } from './records.js';

export type KafkaOnError = 'fail' | 'skip' | 'dead-letter';

/**
 * Why a record was bad: the label of the planned `sluice_source_records_failed_total{reason}`
 * series and of the dead-letter header `sluice.error.reason`.
 */
export type BadRecordReason = 'deserialization' | 'too-large';
export const BAD_RECORD_REASONS: readonly BadRecordReason[] = Object.freeze(['deserialization', 'too-large']);

export interface BadRecordOptions {
  onError?: KafkaOnError;
  /** Required for 'dead-letter'. Written with the source's connection settings. */
  deadLetterTopic?: string;
  /** Bad records / all records of one reader above which it fails (e.g. 0.01); undefined = no limit. */
  maxErrorRate?: number;
  /** The rate is only judged once a reader has seen this many records. */
  errorRateMinRecords?: number;
  /** Key plus value bytes above which a record is bad; undefined = no limit. */
  maxRecordBytes?: number;
}

export interface ResolvedBadRecordOptions {
  readonly onError: KafkaOnError;
  readonly deadLetterTopic: string | undefined;
  readonly maxErrorRate: number | undefined;
  readonly errorRateMinRecords: number;
  readonly maxRecordBytes: number | undefined;
}

export const DEFAULT_BAD_RECORD_OPTIONS = Object.freeze({ onError: 'fail' as KafkaOnError, errorRateMinRecords: 100 });

/** Header names on dead-letter records. */
export const DLQ_HEADERS = Object.freeze({
  topic: 'sluice.source.topic',
  partition: 'sluice.source.partition',
  offset: 'sluice.source.offset',
  timestamp: 'sluice.source.timestamp',
  error: 'sluice.error',
  /** 'deserialization' or 'too-large' (BadRecordReason). */
  reason: 'sluice.error.reason',
  job: 'sluice.job',
});

export function resolveBadRecordOptions(o: BadRecordOptions): ResolvedBadRecordOptions {
  const onError = o.onError ?? DEFAULT_BAD_RECORD_OPTIONS.onError;
  if (onError !== 'fail' && onError !== 'skip' && onError !== 'dead-letter') {
    throw new ConfigurationError(`Kafka source onError must be 'fail', 'skip' or 'dead-letter', got ${String(onError)}`);
  }
  if (onError === 'dead-letter' && (typeof o.deadLetterTopic !== 'string' || o.deadLetterTopic === '')) {
    throw new ConfigurationError("Kafka source onError 'dead-letter' needs a deadLetterTopic");
  }
  const rate = o.maxErrorRate;
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0 || rate > 1)) {
    throw new ConfigurationError(`Kafka source maxErrorRate must be between 0 and 1, got ${String(rate)}`);
  }
  const min = o.errorRateMinRecords ?? DEFAULT_BAD_RECORD_OPTIONS.errorRateMinRecords;
  if (!Number.isSafeInteger(min) || min < 1) throw new ConfigurationError(`Kafka source errorRateMinRecords must be a positive integer, got ${String(min)}`);
  const max = o.maxRecordBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max <= 0)) throw new ConfigurationError(`Kafka source maxRecordBytes must be a positive integer, got ${String(max)}`);
  return Object.freeze({ onError, deadLetterTopic: o.deadLetterTopic, maxErrorRate: rate, errorRateMinRecords: min, maxRecordBytes: max });
}

/** A record the source could not accept, located precisely, with why (`reason`) and the details. */
export class BadRecordError extends SluiceError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly reason: BadRecordReason,
    readonly detail: string,
    cause?: unknown,
  ) {
    super('KAFKA_BAD_RECORD', `bad record in Kafka topic '${topic}' partition ${partition} at offset ${offset}: ${detail}`, cause === undefined ? {} : { cause });
    this.name = 'BadRecordError';
  }
}

export type BadRecordAction = 'skip' | 'dead-letter';

/** Counts records per reader and decides, per bad record, what happens; throws when the job must fail. */
export class BadRecordTracker {
  records = 0;
  bad = 0;
  readonly failed: Record<BadRecordReason, number> = { deserialization: 0, 'too-large': 0 };

  constructor(private readonly o: ResolvedBadRecordOptions) {}

  good(): void {
    this.records++;
  }

  /** The action for one bad record, or a thrown BadRecordError / rate error. */
  onBad(err: BadRecordError): BadRecordAction {
    this.records++;
    this.bad++;
    this.failed[err.reason]++;
    if (this.o.onError === 'fail') throw err;
    this.checkRate(err);
    return this.o.onError === 'skip' ? 'skip' : 'dead-letter';
  }

  private checkRate(last: BadRecordError): void {
    const max = this.o.maxErrorRate;
    if (max === undefined || this.records < this.o.errorRateMinRecords) return;
    const rate = this.bad / this.records;
    if (rate > max) {
      throw new SluiceError(
        'KAFKA_ERROR_RATE',
        `Kafka source gave up: ${this.bad} of ${this.records} records were bad (${(rate * 100).toFixed(1)}% > maxErrorRate ${(max * 100).toFixed(1)}%); last: ${last.message}`,
        { cause: last },
      );
    }
  }
}

/** The dead-letter copy of a bad record: same key, value, timestamp and headers, plus where it came from. */
export function deadLetterMessage(r: KafkaRecord, bad: Pick<BadRecordError, 'reason' | 'detail'>, job: string): Message {
  const error = bad.detail;
  const headers: Record<string, Buffer | string | (Buffer | string)[]> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.topic] = r.topic;
  headers[DLQ_HEADERS.partition] = String(r.partition);
  headers[DLQ_HEADERS.offset] = String(r.offset);
  headers[DLQ_HEADERS.timestamp] = String(r.timestamp);
  headers[DLQ_HEADERS.error] = error.length > 1000 ? `${error.slice(0, 1000)}…` : error;
  headers[DLQ_HEADERS.reason] = bad.reason;
  headers[DLQ_HEADERS.job] = job;
  return { key: r.key, value: r.value, timestamp: String(r.timestamp), headers };
}
