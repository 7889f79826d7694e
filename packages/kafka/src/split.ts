/**
 * A Kafka split is one topic-partition with its position: the next offset to read and, in
 * bounded mode, the offset to stop before, with the job run that fixed it. Plain data, so
 * `snapshotState()` is exactly what a checkpoint stores. Starting positions are named by
 * `KafkaStartingOffsets` and resolved to numbers on the JobMaster when the splits are enumerated.
 */
import { ConfigurationError } from '@sluice/common';
import type { SourceSplit } from '@sluice/api';

export interface KafkaPartitionSplit extends SourceSplit {
  readonly splitId: string;
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: number;
  /** Bounded mode: the offset to stop before (the end of the partition when the job started). */
  readonly stopOffset?: number;
  /**
   * The job id of the run whose start fixed `stopOffset`. A run keeps its own stop offsets
   * across restarts; a split restored into another run gets that run's (end-offsets.ts).
   */
  readonly stopOffsetJob?: string;
}

export type KafkaStartingOffsets =
  | 'earliest'
  | 'latest'
  | { timestamp: number }
  /** The offsets committed by `groupId` (Sluice never commits to it); `fallback` where it has none. */
  | { committed: { groupId: string; fallback?: 'earliest' | 'latest' } };

export function splitIdOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function validateStartingOffsets(s: KafkaStartingOffsets): KafkaStartingOffsets {
  if (s === 'earliest' || s === 'latest') return s;
  if (typeof s === 'object' && s !== null) {
    if ('timestamp' in s) {
      if (!Number.isFinite(s.timestamp) || s.timestamp < 0) throw new ConfigurationError(`Kafka startingOffsets timestamp must be a non-negative number of ms, got ${String(s.timestamp)}`);
      return s;
    }
    if ('committed' in s && typeof s.committed?.groupId === 'string' && s.committed.groupId !== '') {
      const fb = s.committed.fallback;
      if (fb !== undefined && fb !== 'earliest' && fb !== 'latest') throw new ConfigurationError(`Kafka committed-offsets fallback must be 'earliest' or 'latest', got ${String(fb)}`);
      return s;
    }
  }
  throw new ConfigurationError(
    `Kafka startingOffsets must be 'earliest', 'latest', { timestamp } or { committed: { groupId } }, got ${JSON.stringify(s)}`,
  );
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/**
 * The start offset of one partition, clamped to what the partition holds: a committed offset or
 * a timestamp lookup past the end starts at the end, one below the log start starts at the start.
 */
export function clampOffset(offset: number, bounds: PartitionOffsets): number {
  if (offset < bounds.low) return bounds.low;
  if (offset > bounds.high) return bounds.high;
  return offset;
}

/**
 * Pure: the splits of one topic from its partition bounds and resolved start offsets. Bounded
 * splits stop at the partition's end, stamped with `jobId` (the run this is for) when known.
 */
export function buildSplits(topic: string, bounds: readonly PartitionOffsets[], startOf: (p: PartitionOffsets) => number, bounded: boolean, jobId?: string): KafkaPartitionSplit[] {
  return [...bounds]
    .sort((a, b) => a.partition - b.partition)
    .map((b) => {
      const split: KafkaPartitionSplit = { splitId: splitIdOf(topic, b.partition), topic, partition: b.partition, offset: clampOffset(startOf(b), b) };
      return bounded ? stopAtEnd(split, b, jobId) : split;
    });
}

/** Pure: `split` stopping at the end of its partition as `bounds` has it, fixed by run `jobId`. */
export function stopAtEnd(split: KafkaPartitionSplit, bounds: PartitionOffsets, jobId: string | undefined): KafkaPartitionSplit {
  const { stopOffsetJob: _old, ...rest } = split;
  const stopped = { ...rest, stopOffset: Math.max(split.offset, bounds.high) };
  return jobId === undefined ? stopped : { ...stopped, stopOffsetJob: jobId };
}

/** Pure: `split` without a stop offset, for an unbounded reader (restored from a bounded run). */
export function withoutStop(split: KafkaPartitionSplit): KafkaPartitionSplit {
  const { stopOffset: _stop, stopOffsetJob: _job, ...rest } = split;
  return rest;
}

/**
 * Spreads partitions over subtasks so that each topic's partitions go round-robin starting at a
 * topic-dependent subtask (Flink's KafkaTopicPartitionAssigner idea): p partitions of one topic
 * land on min(p, n) distinct subtasks, and several small topics do not all pile onto subtask 0.
 */
export function subtaskForSplit(split: Pick<KafkaPartitionSplit, 'topic' | 'partition'>, parallelism: number): number {
  let h = 0;
  for (let i = 0; i < split.topic.length; i++) h = (Math.imul(h, 31) + split.topic.charCodeAt(i)) | 0;
  const start = ((h & 0x7fffffff) % parallelism);
  return (start + split.partition) % parallelism;
}
