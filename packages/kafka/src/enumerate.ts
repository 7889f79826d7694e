/**
 * Split enumeration on the JobMaster: lists the topics' partitions with a kafkajs admin client,
 * resolves the starting offsets (earliest, latest, by timestamp, committed) and, in bounded mode,
 * the end offsets, and makes one split per topic-partition. Every admin call runs under one
 * deadline, so an unreachable cluster or a missing topic fails within seconds with an error
 * naming the brokers or the topic.
 */
import type { Admin } from 'kafkajs';
import { retry } from '@sluice/common';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { buildSplits, type KafkaPartitionSplit, type KafkaStartingOffsets, type PartitionOffsets } from './split.js';

export type KafkaTopicSelection = { topics: readonly string[] } | { topicPattern: RegExp };

export interface EnumerateOptions {
  connection: ResolvedKafkaConnection;
  selection: KafkaTopicSelection;
  startingOffsets: KafkaStartingOffsets;
  bounded: boolean;
  timeoutMs: number;
  /** The run the splits are for: bounded splits' stop offsets are stamped with it. */
  jobId?: string | undefined;
}

export async function enumerateKafkaSplits(o: EnumerateOptions): Promise<KafkaPartitionSplit[]> {
  const admin = createKafkaClient(o.connection, 'enumerator').admin();
  const run = <T>(what: string, action: () => Promise<T>, topics?: readonly string[]): Promise<T> =>
    withKafkaDeadline(o.connection, what, o.timeoutMs, action, topics === undefined ? { access: 'read' } : { access: 'read', topics });
  try {
    await run('connecting to Kafka', () => admin.connect());
    const existing = new Set((await run('listing topics', () => admin.listTopics())).filter((t) => !t.startsWith('__')));
    if ('topics' in o.selection) {
      // A topic the principal may not Describe is left out of the topic list, just like a
      // missing one; asking for it by name tells the two apart (TOPIC_AUTHORIZATION_FAILED).
      const missing = o.selection.topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await run(`describing topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')}`, () => admin.fetchTopicMetadata({ topics: missing }), missing).catch(
          (err: unknown) => {
            if (err instanceof KafkaConnectorError && err.code === 'KAFKA_NOT_AUTHORIZED') throw err;
          },
        );
      }
    }
    const topics = selectTopics(o, existing);
    const splits: KafkaPartitionSplit[] = [];
    for (const topic of topics) {
      const bounds = await run(`reading the offsets of topic '${topic}'`, () => partitionBounds(admin, topic), [topic]);
      const starts = await run(`resolving the starting offsets of topic '${topic}'`, () => startingOffsets(admin, topic, o.startingOffsets, bounds), [topic]);
      splits.push(...buildSplits(topic, bounds, (b) => starts.get(b.partition) ?? b.low, o.bounded, o.jobId));
    }
    return splits;
  } finally {
    // Disconnecting a client that never connected is harmless; a hanging disconnect is cut off.
    await bounded(admin.disconnect(), 2_000);
  }
}

function selectTopics(o: EnumerateOptions, existing: ReadonlySet<string>): string[] {
  const brokers = describeBrokers(o.connection);
  if ('topics' in o.selection) {
    const missing = o.selection.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new KafkaConnectorError(
        'KAFKA_UNKNOWN_TOPIC',
        `Kafka topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on ${brokers}; create ${missing.length > 1 ? 'them' : 'it'} first or fix the name`,
      );
    }
    return [...new Set(o.selection.topics)];
  }
  const pattern = o.selection.topicPattern;
  const matched = matchTopics(pattern, existing);
  if (matched.length === 0) {
    throw new KafkaConnectorError(
      'KAFKA_UNKNOWN_TOPIC',
      `no Kafka topic on ${brokers} matches the pattern ${String(pattern)} (or none the client's principal may Describe); create one first or fix the pattern`,
    );
  }
  return matched;
}

/** The non-internal topics `pattern` matches (RegExp.test: anchor it, /^orders-.*$/, to match whole names), sorted. */
export function matchTopics(pattern: RegExp, topics: Iterable<string>): string[] {
  return [...topics]
    .filter((t) => {
      if (t.startsWith('__')) return false;
      // A /g or /y pattern keeps state between test() calls.
      pattern.lastIndex = 0;
      return pattern.test(t);
    })
    .sort();
}

/**
 * Log start and end of each partition of `topic`. Right after a topic (or partition) is created
 * the broker may not lead it yet although metadata names it the leader, and kafkajs's admin
 * gives up on NOT_LEADER_FOR_PARTITION at once; such retriable refusals are asked again, within
 * the caller's deadline.
 */
export async function partitionBounds(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  const offsets = await retry(() => admin.fetchTopicOffsets(topic), { attempts: 6, initialDelayMs: 100, factor: 2, maxDelayMs: 500, isRetriable: isLeadershipError });
  return offsets.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
}

function isLeadershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'NOT_LEADER_FOR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
}

async function startingOffsets(admin: Admin, topic: string, s: KafkaStartingOffsets, bounds: readonly PartitionOffsets[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (s === 'earliest' || s === 'latest') {
    for (const b of bounds) out.set(b.partition, s === 'earliest' ? b.low : b.high);
    return out;
  }
  if ('timestamp' in s) {
    // kafkajs answers the high watermark for partitions with no record at or after the timestamp.
    for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, s.timestamp)) out.set(p.partition, Number(p.offset));
    for (const b of bounds) if (!out.has(b.partition) || out.get(b.partition)! < 0) out.set(b.partition, b.high);
    return out;
  }
  const fallback = s.committed.fallback ?? 'earliest';
  const committed = await admin.fetchOffsets({ groupId: s.committed.groupId, topics: [topic] });
  const byPartition = new Map<number, number>();
  for (const t of committed) for (const p of t.partitions) byPartition.set(p.partition, Number(p.offset));
  for (const b of bounds) {
    const c = byPartition.get(b.partition);
    out.set(b.partition, c !== undefined && c >= 0 ? c : fallback === 'earliest' ? b.low : b.high);
  }
  return out;
}
