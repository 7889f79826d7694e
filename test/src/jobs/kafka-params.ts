/**
 * Job parameters (always strings) → KafkaSource options, shared by the Kafka test jobs:
 * - `topics`: comma-separated names, or `pattern`: a RegExp source (e.g. ^orders-)
 * - `start`: earliest | latest | ts:<ms> | committed:<groupId>[:earliest|latest]
 * - `discoveryMs`: partition discovery interval (unbounded sources)
 */
import type { KafkaStartingOffsets } from '@sluice/kafka';

export function topicSelection(params: Readonly<Record<string, string>>): { topics: string[] } | { topicPattern: RegExp } {
  if (params.pattern !== undefined) return { topicPattern: new RegExp(params.pattern) };
  return { topics: (params.topics ?? params.input ?? '').split(',') };
}

export function startingOffsets(start: string | undefined): KafkaStartingOffsets {
  if (start === undefined || start === 'earliest' || start === 'latest') return start ?? 'earliest';
  if (start.startsWith('ts:')) return { timestamp: Number(start.slice(3)) };
  if (start.startsWith('committed:')) {
    const [, groupId, fallback] = start.split(':');
    return { committed: { groupId: groupId!, ...(fallback === 'earliest' || fallback === 'latest' ? { fallback } : {}) } };
  }
  throw new Error(`unknown start '${start}'`);
}

export function discovery(params: Readonly<Record<string, string>>): { partitionDiscoveryIntervalMs?: number } {
  return params.discoveryMs === undefined ? {} : { partitionDiscoveryIntervalMs: Number(params.discoveryMs) };
}
