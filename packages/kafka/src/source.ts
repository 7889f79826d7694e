/**
 * KafkaSource: a Sluice Source over Kafka topics. On the JobMaster it lists the partitions of the
 * chosen topics (or of every topic matching a pattern) and makes one split per topic-partition
 * with its start offset (and stop offset when bounded); Sluice deals the splits to subtasks, and
 * each subtask's KafkaSourceReader reads exactly its partitions. No consumer-group rebalancing
 * and no offset commits: positions live in the splits. Unbounded readers discover new
 * partitions themselves (discovery.ts), owning them by the same function `assignSplit` uses.
 */
import { ConfigurationError } from '@sluice/common';
import type { Boundedness, Source, SourceReader, SourceReaderContext, SplitEnumeratorContext } from '@sluice/api';
import { resolveBadRecordOptions, type BadRecordOptions, type ResolvedBadRecordOptions } from './bad-records.js';
import { resolveKafkaConnection, type KafkaConnectionOptions, type ResolvedKafkaConnection } from './connection.js';
import { enumerateKafkaSplits, type KafkaTopicSelection } from './enumerate.js';
import { KafkaSourceReader } from './reader.js';
import type { KafkaDeserializer } from './records.js';
import { subtaskForSplit, validateStartingOffsets, type KafkaPartitionSplit, type KafkaStartingOffsets } from './split.js';

export interface KafkaSourceOptions<T> extends KafkaConnectionOptions, BadRecordOptions {
  /** One topic or several; or give `topicPattern`. */
  topics?: string | readonly string[];
  /**
   * Every topic whose name matches (RegExp.test; anchor it to match whole names). Topics created
   * later that match are picked up by partition discovery (unbounded sources).
   */
  topicPattern?: RegExp;
  /** Turns a record into the stream's value; see KafkaDeserializers. */
  deserializer: KafkaDeserializer<T>;
  /** Default 'earliest'. */
  startingOffsets?: KafkaStartingOffsets;
  /**
   * Stop at the end offsets current when the job starts; the job then finishes. Default false.
   * A job resumed from a checkpoint or savepoint (of a bounded or an unbounded run) stops at the
   * end offsets current when it resumes; a restart after a failure keeps the run's own.
   */
  bounded?: boolean;
  /**
   * Unbounded sources: how often each reader looks for new partitions of its topics (and new
   * topics matching `topicPattern`); new ones are read from their first offset. 0 turns
   * discovery off. Default 60 s. With discovery on, a reader that has no partition stays alive
   * (idle, so it does not hold watermarks back) instead of finishing.
   */
  partitionDiscoveryIntervalMs?: number;
  name?: string;
  /** Upper bound for listing partitions and offsets on the JobMaster. Default 15 s. */
  enumerationTimeoutMs?: number;
  /** Upper bound for a reader's consumer to connect and join its private group. Default 30 s. */
  consumerStartTimeoutMs?: number;
  /** Upper bound for close() to wait for unacknowledged dead-letter sends. Default 10 s. */
  closeTimeoutMs?: number;
  /** Records buffered per partition before the partition is paused (backpressure). Default 2000. */
  maxBufferedRecordsPerPartition?: number;
  /**
   * How long a fetch waits on the broker for data to arrive (a fetch returns as soon as there
   * is some, so this does not delay records). kafkajs also sleeps this long before fetching again
   * while every partition of the reader is paused (backpressure), so it bounds how long a
   * drained buffer waits for the next fetch. Default 200 ms: an idle reader sends 5 fetch
   * requests a second.
   */
  maxWaitTimeMs?: number;
  /** Fetch size per partition. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Prefix of the private consumer-group ids (they are deleted when a reader closes). Default 'sluice'. */
  groupIdPrefix?: string;
  /**
   * A consumer group to commit the offsets of every completed checkpoint to, for lag monitoring
   * (Sluice reads its positions from checkpoints, never from this group). Use a group only this
   * job uses: its readers join it as members that are assigned nothing.
   */
  commitOffsetsToGroup?: string;
  /** Named in dead-letter headers; defaults to the job's name (or the source task's, where unknown). */
  jobName?: string;
}

export interface ResolvedKafkaSourceOptions<T> {
  readonly connection: ResolvedKafkaConnection;
  readonly badRecords: ResolvedBadRecordOptions;
  readonly selection: KafkaTopicSelection;
  readonly deserializer: KafkaDeserializer<T>;
  readonly startingOffsets: KafkaStartingOffsets;
  readonly bounded: boolean;
  /** 0 = off (always 0 for bounded sources). */
  readonly partitionDiscoveryIntervalMs: number;
  readonly name: string | undefined;
  readonly enumerationTimeoutMs: number;
  readonly consumerStartTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly maxBufferedRecordsPerPartition: number;
  readonly maxWaitTimeMs: number;
  readonly maxBytesPerPartition: number;
  readonly groupIdPrefix: string;
  readonly commitOffsetsToGroup: string | undefined;
  readonly jobName: string | undefined;
}

export const DEFAULT_KAFKA_SOURCE_OPTIONS = Object.freeze({
  startingOffsets: 'earliest' as KafkaStartingOffsets,
  bounded: false,
  partitionDiscoveryIntervalMs: 60_000,
  enumerationTimeoutMs: 15_000,
  consumerStartTimeoutMs: 30_000,
  closeTimeoutMs: 10_000,
  maxBufferedRecordsPerPartition: 2_000,
  maxWaitTimeMs: 200,
  maxBytesPerPartition: 1024 * 1024,
  groupIdPrefix: 'sluice',
});

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigurationError(`KafkaSource ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function commitGroup(g: string | undefined): string | undefined {
  if (g !== undefined && (typeof g !== 'string' || g === '')) throw new ConfigurationError('KafkaSource commitOffsetsToGroup must be a non-empty consumer group id');
  return g;
}

export function resolveKafkaSourceOptions<T>(o: KafkaSourceOptions<T>): ResolvedKafkaSourceOptions<T> {
  if (o === null || typeof o !== 'object') throw new ConfigurationError('KafkaSource needs an options object');
  if (typeof o.deserializer !== 'function') throw new ConfigurationError('KafkaSource needs a deserializer, e.g. KafkaDeserializers.json()');
  let selection: KafkaTopicSelection;
  if (o.topicPattern !== undefined) {
    if (o.topics !== undefined) throw new ConfigurationError('KafkaSource takes topics or topicPattern, not both');
    if (!(o.topicPattern instanceof RegExp)) throw new ConfigurationError('KafkaSource topicPattern must be a RegExp');
    selection = { topicPattern: o.topicPattern };
  } else {
    const topics = typeof o.topics === 'string' ? [o.topics] : [...(o.topics ?? [])];
    if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
      throw new ConfigurationError('KafkaSource needs topics (a non-empty name or list of names) or a topicPattern');
    }
    selection = { topics };
  }
  const bounded = o.bounded ?? DEFAULT_KAFKA_SOURCE_OPTIONS.bounded;
  if (typeof bounded !== 'boolean') throw new ConfigurationError(`KafkaSource bounded must be true or false, got ${String(bounded)}`);
  const discovery = o.partitionDiscoveryIntervalMs ?? DEFAULT_KAFKA_SOURCE_OPTIONS.partitionDiscoveryIntervalMs;
  if (!Number.isSafeInteger(discovery) || discovery < 0) {
    throw new ConfigurationError(`KafkaSource partitionDiscoveryIntervalMs must be a non-negative integer (0 = off), got ${String(discovery)}`);
  }
  const prefix = o.groupIdPrefix ?? DEFAULT_KAFKA_SOURCE_OPTIONS.groupIdPrefix;
  if (typeof prefix !== 'string' || prefix === '') throw new ConfigurationError('KafkaSource groupIdPrefix must be a non-empty string');
  return Object.freeze({
    connection: resolveKafkaConnection(o),
    badRecords: resolveBadRecordOptions(o),
    selection,
    deserializer: o.deserializer,
    startingOffsets: validateStartingOffsets(o.startingOffsets ?? DEFAULT_KAFKA_SOURCE_OPTIONS.startingOffsets),
    bounded,
    partitionDiscoveryIntervalMs: bounded ? 0 : discovery,
    name: o.name,
    enumerationTimeoutMs: positiveInt('enumerationTimeoutMs', o.enumerationTimeoutMs, DEFAULT_KAFKA_SOURCE_OPTIONS.enumerationTimeoutMs),
    consumerStartTimeoutMs: positiveInt('consumerStartTimeoutMs', o.consumerStartTimeoutMs, DEFAULT_KAFKA_SOURCE_OPTIONS.consumerStartTimeoutMs),
    closeTimeoutMs: positiveInt('closeTimeoutMs', o.closeTimeoutMs, DEFAULT_KAFKA_SOURCE_OPTIONS.closeTimeoutMs),
    maxBufferedRecordsPerPartition: positiveInt('maxBufferedRecordsPerPartition', o.maxBufferedRecordsPerPartition, DEFAULT_KAFKA_SOURCE_OPTIONS.maxBufferedRecordsPerPartition),
    maxWaitTimeMs: positiveInt('maxWaitTimeMs', o.maxWaitTimeMs, DEFAULT_KAFKA_SOURCE_OPTIONS.maxWaitTimeMs),
    maxBytesPerPartition: positiveInt('maxBytesPerPartition', o.maxBytesPerPartition, DEFAULT_KAFKA_SOURCE_OPTIONS.maxBytesPerPartition),
    groupIdPrefix: prefix,
    commitOffsetsToGroup: commitGroup(o.commitOffsetsToGroup),
    jobName: o.jobName,
  });
}

export class KafkaSource<T> implements Source<T, KafkaPartitionSplit> {
  readonly boundedness: Boundedness;
  readonly splitType = 'kafka-partition';
  readonly options: ResolvedKafkaSourceOptions<T>;

  constructor(options: KafkaSourceOptions<T>) {
    this.options = resolveKafkaSourceOptions(options);
    this.boundedness = this.options.bounded ? 'bounded' : 'unbounded';
  }

  enumerateSplits(ctx: SplitEnumeratorContext): Promise<KafkaPartitionSplit[]> {
    const o = this.options;
    return enumerateKafkaSplits({ connection: o.connection, selection: o.selection, startingOffsets: o.startingOffsets, bounded: o.bounded, timeoutMs: o.enumerationTimeoutMs, jobId: ctx.jobId });
  }

  /** Partition discovery in the readers relies on this being `subtaskForSplit`: keep them one function. */
  assignSplit(split: KafkaPartitionSplit, _index: number, parallelism: number): number {
    return subtaskForSplit(split, parallelism);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, KafkaPartitionSplit> {
    return new KafkaSourceReader<T>(this.options, ctx);
  }

  describe(): string {
    if (this.options.name !== undefined) return this.options.name;
    const sel = this.options.selection;
    return `Kafka(${'topics' in sel ? sel.topics.join(',') : String(sel.topicPattern)})`;
  }
}
